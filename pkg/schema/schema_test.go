package schema

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
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

// benchChunk is a chunk of 500 generated records, as the reader cuts them by
// default.
func benchChunk(b *testing.B) *Chunk {
	var file bytes.Buffer
	if _, err := censusgen.Generate(&file, censusgen.Options{Year: 2020, Month: 1, Records: 500, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	data := bytes.ReplaceAll(file.Bytes(), []byte("\r\n"), []byte("\n"))
	return &Chunk{Source: "jan20pub.dat.gz", Fingerprint: "size:123456789,head:0123456789abcdef", Year: 2020, Month: 1,
		Seq: 42, FirstLine: 21001, Records: 500, Data: data}
}

// The encoding appends into a reused buffer: no allocation at all once it
// has grown.
func BenchmarkAppendChunk(b *testing.B) {
	c := benchChunk(b)
	var buf []byte
	b.SetBytes(int64(len(c.Data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendChunk(buf[:0], c)
	}
	b.ReportMetric(float64(b.N)*float64(c.Records)/b.Elapsed().Seconds(), "records/s")
}

// Decoding aliases the records; it allocates per chunk (the source and
// fingerprint strings), never per record.
func BenchmarkDecodeChunk(b *testing.B) {
	in := benchChunk(b)
	buf := AppendChunk(nil, in)
	b.SetBytes(int64(len(in.Data)))
	b.ReportAllocs()
	var c Chunk
	for b.Loop() {
		if err := DecodeChunk(buf, &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(in.Records)/b.Elapsed().Seconds(), "records/s")
}
