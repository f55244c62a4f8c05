package schema

import (
	"bytes"
	"math/rand/v2"
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
		{name: "only a source", in: Chunk{Source: "s"}},
		{name: "full", in: Chunk{Source: "jan20pub.dat.gz", Fingerprint: "size:1,etag:x", Year: 2020, Month: 1, Seq: 7,
			FirstLine: 3501, Records: 2, Last: true, Error: "boom", Data: []byte("a\nb\n"), RecordLen: 1000, Format: "zip"}},
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

func TestChunkEncoder(t *testing.T) {
	records := bytes.Repeat([]byte("0000123456   2020 01   1   2\n"), 200)
	incompressible := make([]byte, 4096)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(incompressible)
	for _, tc := range []struct {
		name      string
		codec     Codec
		data      []byte
		wantCodec Codec
	}{
		{name: "lz4", codec: CodecLZ4, data: records, wantCodec: CodecLZ4},
		{name: "none", codec: CodecNone, data: records, wantCodec: CodecNone},
		{name: "lz4, empty", codec: CodecLZ4, wantCodec: CodecNone},
		{name: "lz4, incompressible is stored as is", codec: CodecLZ4, data: incompressible, wantCodec: CodecNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Chunk{Source: "jan20pub.dat.gz", Fingerprint: "fp", Seq: 3, FirstLine: 1001, Records: 200, Data: tc.data}
			e := ChunkEncoder{Codec: tc.codec}
			b := e.Append(nil, &in)
			var out Chunk
			require.NoError(t, DecodeChunk(b, &out))
			require.Equal(t, tc.wantCodec, out.Codec)
			if tc.wantCodec == CodecLZ4 {
				require.Less(t, len(out.Data), len(tc.data)/4, "compressed")
				require.Equal(t, uint64(len(tc.data)), out.DataSize)
			}
			got, err := out.RecordData(nil)
			require.NoError(t, err)
			require.Equal(t, string(tc.data), string(got))
			// The encoder's buffers are reused: a second chunk comes out right too.
			b2 := e.Append(nil, &Chunk{Source: "x", Data: []byte("short\n")})
			require.NoError(t, DecodeChunk(b2, &out))
			got, err = out.RecordData(make([]byte, 0, 1))
			require.NoError(t, err)
			require.Equal(t, "short\n", string(got))
		})
	}
}

func TestRecordDataErrors(t *testing.T) {
	e := ChunkEncoder{Codec: CodecLZ4}
	var good Chunk
	require.NoError(t, DecodeChunk(e.Append(nil, &Chunk{Source: "s", Data: bytes.Repeat([]byte("abcd"), 1000)}), &good))
	require.Equal(t, CodecLZ4, good.Codec)
	for _, tc := range []struct {
		name    string
		change  func(c *Chunk)
		wantErr error
	}{
		{name: "size too small", change: func(c *Chunk) { c.DataSize-- }, wantErr: ErrCorruptData},
		{name: "size too large", change: func(c *Chunk) { c.DataSize++ }, wantErr: ErrCorruptData},
		{name: "size beyond the bound", change: func(c *Chunk) { c.DataSize = MaxChunkDataSize + 1 }, wantErr: ErrCorruptData},
		{name: "truncated block", change: func(c *Chunk) { c.Data = c.Data[:len(c.Data)/2] }, wantErr: ErrCorruptData},
		{name: "unknown codec", change: func(c *Chunk) { c.Codec = 7 }, wantErr: ErrUnknownCodec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Data = bytes.Clone(good.Data)
			tc.change(&c)
			_, err := c.RecordData(nil)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestParseCodec(t *testing.T) {
	for _, name := range []string{"none", "lz4"} {
		c, err := ParseCodec(name)
		require.NoError(t, err)
		require.Equal(t, name, c.String())
	}
	_, err := ParseCodec("zip")
	require.ErrorContains(t, err, `chunk codec "zip": want none or lz4`)
}

func TestCheckHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []Header
		wantErr error
	}{
		{name: "current", headers: Headers(TypeChunk)},
		{name: "none is v1"},
		{name: "newer version", headers: []Header{{Key: HeaderType, Value: []byte(TypeChunk)}, {Key: HeaderVersion, Value: []byte("3")}}, wantErr: ErrUnsupportedVersion},
		{name: "chunk version 1", headers: ChunkHeaders(CodecNone)},
		{name: "chunk version 2", headers: ChunkHeaders(CodecLZ4)},
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
func benchChunk(b testing.TB) *Chunk {
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

// The reader's encoding: the records compressed into the encoder's reused
// buffer, then appended.
func BenchmarkChunkEncoderLZ4(b *testing.B) {
	c := benchChunk(b)
	e := ChunkEncoder{Codec: CodecLZ4}
	var buf []byte
	b.SetBytes(int64(len(c.Data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = e.Append(buf[:0], c)
	}
	b.ReportMetric(float64(len(c.Data))/float64(len(buf)), "ratio")
	b.ReportMetric(float64(b.N)*float64(c.Records)/b.Elapsed().Seconds(), "records/s")
}

// The computer's decoding: the records decompressed into a reused buffer.
func BenchmarkRecordDataLZ4(b *testing.B) {
	in := benchChunk(b)
	e := ChunkEncoder{Codec: CodecLZ4}
	enc := e.Append(nil, in)
	b.SetBytes(int64(len(in.Data)))
	b.ReportAllocs()
	var (
		c   Chunk
		buf []byte
	)
	for b.Loop() {
		if err := DecodeChunk(enc, &c); err != nil {
			b.Fatal(err)
		}
		data, err := c.RecordData(buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = data
	}
	b.ReportMetric(float64(b.N)*float64(in.Records)/b.Elapsed().Seconds(), "records/s")
}
