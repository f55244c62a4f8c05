package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pierrec/lz4/v4"

	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
)

// Codec says how a chunk's data field holds its records.
type Codec uint32

const (
	// CodecNone: the records as they are (chunk schema version 1).
	CodecNone Codec = 0
	// CodecLZ4: one LZ4 block of the records (chunk schema version 2).
	// Census records are fixed-width text with long runs of blanks and
	// zeros; LZ4 shrinks them about 18 times and decompresses at several
	// GB/s, so the computers fetch, copy and keep a small fraction of the
	// bytes and the brokers validate uncompressed batches.
	CodecLZ4 Codec = 1
)

// ParseCodec reads a codec name: "none" or "lz4".
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "none":
		return CodecNone, nil
	case "lz4":
		return CodecLZ4, nil
	}
	return 0, fmt.Errorf("chunk codec %q: want none or lz4", s)
}

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecLZ4:
		return "lz4"
	}
	return fmt.Sprintf("codec(%d)", uint32(c))
}

// Chunk is a run of consecutive records of one source, as the reader cuts
// them. Data holds the records, each ended by "\n", stored as Codec says:
// a ChunkEncoder compresses them and RecordData gives them back.
type Chunk struct {
	Source      string // file name, e.g. "jan20pub.dat.gz"
	Fingerprint string // content identity of this load of the source
	Year, Month int    // period named by the source, 0 when unknown
	Seq         uint32 // chunk number within the source, from 0
	FirstLine   uint64 // line number (1-based) of the first record in Data
	Records     uint32 // number of records in Data
	Last        bool   // no chunk follows: Seq+1 chunks make the source
	Error       string // set on the last chunk when the source could not be read to its end
	Data        []byte
	Codec       Codec  // how Data holds the records
	DataSize    uint64 // length of the records once decompressed (when Codec is not CodecNone)
	// RecordLen is the length of the source's records without line ends,
	// as the reader read it from the source; 0 from older readers, which
	// means census.RecordLen.
	RecordLen uint32
	// Format is how the source was stored: "gzip", "zip" or "plain".
	Format string
	// NotPublished: the census site has no file for the source's month.
	// The chunk is the source's only one, empty and last.
	NotPublished bool
}

// Key is the Kafka message key of the chunk: source and sequence number, so
// that chunks spread over partitions and a reload lands where the first
// load did.
func (c *Chunk) Key() []byte {
	return fmt.Appendf(nil, "%s/%d", c.Source, c.Seq)
}

// AppendChunk appends the encoding of c to b.
func AppendChunk(b []byte, c *Chunk) []byte {
	m := schemapb.Chunk{
		Source: c.Source, Fingerprint: c.Fingerprint, Year: uint32(c.Year), Month: uint32(c.Month),
		Seq: c.Seq, FirstLine: c.FirstLine, Records: c.Records, Last: c.Last, Error: c.Error,
		Data: c.Data, RecordLen: c.RecordLen, Format: c.Format, NotPublished: c.NotPublished,
	}
	if c.Codec != CodecNone {
		m.Codec, m.DataSize = schemapb.Codec(c.Codec), c.DataSize
	}
	// Not appendVT: called on the concrete type, m stays on the stack.
	n := m.SizeVT()
	b = slices.Grow(b, n)
	if _, err := m.MarshalToSizedBufferVT(b[len(b) : len(b)+n]); err != nil {
		panic("schema: marshal chunk: " + err.Error())
	}
	return b[:len(b)+n]
}

// DecodeChunk decodes b into c. c.Data aliases b; the strings are copies.
// A chunk without a source, or with a size or count over its limit
// (limits.go), is rejected.
func DecodeChunk(b []byte, c *Chunk) error {
	*c = Chunk{}
	var m schemapb.Chunk
	// Unsafe: Data aliases b instead of a copy of the records; the strings
	// are checked and copied below.
	if err := m.UnmarshalVTUnsafe(b); err != nil {
		return malformed("chunk", err)
	}
	if err := checkStrings(m.Source, m.Fingerprint, m.Error, m.Format); err != nil {
		return err
	}
	switch {
	case len(m.Data) > MaxChunkDataSize:
		return limitErr("data length", uint64(len(m.Data)), MaxChunkDataSize)
	case m.Seq >= MaxChunks:
		return limitErr("chunk number", uint64(m.Seq), MaxChunks-1)
	case m.Records > MaxChunkRecords:
		return limitErr("records", uint64(m.Records), MaxChunkRecords)
	case m.DataSize > MaxChunkDataSize:
		return limitErr("data_size", m.DataSize, MaxChunkDataSize)
	case m.RecordLen > MaxRecordLen:
		return limitErr("record_len", uint64(m.RecordLen), MaxRecordLen)
	case m.Source == "":
		return fmt.Errorf("%w: chunk without a source", ErrMissingField)
	}
	*c = Chunk{
		Source: strings.Clone(m.Source), Fingerprint: strings.Clone(m.Fingerprint), Year: int(m.Year), Month: int(m.Month),
		Seq: m.Seq, FirstLine: m.FirstLine, Records: m.Records, Last: m.Last, Error: strings.Clone(m.Error),
		Codec: Codec(m.Codec), DataSize: m.DataSize, RecordLen: m.RecordLen, Format: strings.Clone(m.Format),
		NotPublished: m.NotPublished,
	}
	if len(m.Data) > 0 {
		c.Data = m.Data
	}
	return nil
}

// MaxChunkDataSize bounds the decompressed records of a chunk, so that a
// corrupt or hostile data_size cannot make RecordData allocate without
// limit: ten times the largest chunk the reader cuts (900 records of at
// most 4 KiB).
const MaxChunkDataSize = 10 * 900 * 4098

// ErrCorruptData: a chunk's compressed records cannot be decompressed to
// the size it announces.
var ErrCorruptData = errors.New("corrupt chunk data")

// RecordData returns the chunk's records, each ended by "\n": Data itself
// when it is not compressed, else Data decompressed into buf, which is
// grown as needed and may be passed again (the result aliases it).
func (c *Chunk) RecordData(buf []byte) ([]byte, error) {
	switch c.Codec {
	case CodecNone:
		return c.Data, nil
	case CodecLZ4:
		if c.DataSize > MaxChunkDataSize {
			return nil, fmt.Errorf("%w: data_size %d is more than %d", ErrCorruptData, c.DataSize, MaxChunkDataSize)
		}
		if uint64(cap(buf)) < c.DataSize {
			buf = make([]byte, c.DataSize)
		}
		buf = buf[:c.DataSize]
		n, err := lz4.UncompressBlock(c.Data, buf)
		if err != nil {
			return nil, fmt.Errorf("%w: lz4: %v", ErrCorruptData, err)
		}
		if uint64(n) != c.DataSize {
			return nil, fmt.Errorf("%w: lz4 block of %d bytes, data_size says %d", ErrCorruptData, n, c.DataSize)
		}
		return buf, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrUnknownCodec, c.Codec)
}

// ErrUnknownCodec: the chunk's records are stored with a codec this build
// does not know.
var ErrUnknownCodec = errors.New("unknown chunk codec")

// ChunkEncoder encodes chunks with their records compressed by Codec. It
// keeps its buffers between calls: one encoder per goroutine.
type ChunkEncoder struct {
	Codec   Codec
	lz      lz4.Compressor
	scratch []byte
}

// Append appends the encoding of c to b, its records compressed. Records
// that do not shrink are stored as they are (CodecNone). c is not changed.
func (e *ChunkEncoder) Append(b []byte, c *Chunk) []byte {
	if e.Codec != CodecLZ4 || len(c.Data) == 0 {
		plain := *c
		plain.Codec, plain.DataSize = CodecNone, 0
		return AppendChunk(b, &plain)
	}
	if need := lz4.CompressBlockBound(len(c.Data)); cap(e.scratch) < need {
		e.scratch = make([]byte, need)
	}
	n, err := e.lz.CompressBlock(c.Data, e.scratch[:cap(e.scratch)])
	out := *c
	if err != nil || n == 0 || n >= len(c.Data) {
		out.Codec, out.DataSize = CodecNone, 0
	} else {
		out.Data, out.Codec, out.DataSize = e.scratch[:n], CodecLZ4, uint64(len(c.Data))
	}
	return AppendChunk(b, &out)
}

// ChunkHeaders returns the headers of a chunk stored with codec: version 1
// for CodecNone, which older computers read, else version 2.
func ChunkHeaders(codec Codec) []Header {
	v := 1
	if codec != CodecNone {
		v = 2
	}
	return headers(TypeChunk, v)
}
