package schema

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestChunkRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Chunk
	}{
		{name: "zero"},
		{name: "full", in: Chunk{Source: "jan20pub.dat.gz", Fingerprint: "size:1,etag:x", Year: 2020, Month: 1, Seq: 7,
			FirstLine: 3501, Records: 2, Last: true, Error: "boom", Data: []byte("a\nb\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out Chunk
			require.NoError(t, DecodeChunk(AppendChunk(nil, &tc.in), &out))
			if len(tc.in.Data) == 0 {
				tc.in.Data = nil
			}
			require.Equal(t, tc.in, out)
		})
	}
}

func TestChunkSkipsUnknownFields(t *testing.T) {
	b := AppendChunk(nil, &Chunk{Source: "s", Seq: 2})
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "from a newer writer")
	b = protowire.AppendTag(b, 98, protowire.VarintType)
	b = protowire.AppendVarint(b, 5)
	var c Chunk
	require.NoError(t, DecodeChunk(b, &c))
	require.Equal(t, Chunk{Source: "s", Seq: 2}, c)
}

func TestChunkMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{name: "truncated tag", b: []byte{0xff}},
		{name: "truncated bytes", b: protowire.AppendTag(nil, chunkSource, protowire.BytesType)},
		{name: "wrong wire type", b: protowire.AppendVarint(protowire.AppendTag(nil, chunkSource, protowire.VarintType), 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Chunk
			require.ErrorIs(t, DecodeChunk(tc.b, &c), ErrMalformed)
		})
	}
}

func TestCheckHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []Header
		wantErr error
	}{
		{name: "current", headers: Headers(TypeChunk)},
		{name: "none is v1"},
		{name: "newer version", headers: []Header{{Key: HeaderType, Value: []byte(TypeChunk)}, {Key: HeaderVersion, Value: []byte("2")}}, wantErr: ErrUnsupportedVersion},
		{name: "wrong type", headers: Headers(TypeResult), wantErr: ErrWrongType},
		{name: "garbled version", headers: []Header{{Key: HeaderVersion, Value: []byte("x")}}, wantErr: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHeaders(tc.headers, TypeChunk)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}
