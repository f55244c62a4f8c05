package schema

import (
	"errors"
	"fmt"

	"github.com/pierrec/lz4/v4"
	"google.golang.org/protobuf/encoding/protowire"
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

// Chunk field numbers; see schema.proto.
const (
	chunkSource      = 1
	chunkFingerprint = 2
	chunkYear        = 3
	chunkMonth       = 4
	chunkSeq         = 5
	chunkFirstLine   = 6
	chunkRecords     = 7
	chunkLast        = 8
	chunkError       = 9
	chunkData        = 10
	chunkCodec       = 11
	chunkDataSize    = 12
	chunkRecordLen   = 13
	chunkFormat      = 14
	chunkUnpublished = 15
)

// Key is the Kafka message key of the chunk: source and sequence number, so
// that chunks spread over partitions and a reload lands where the first
// load did.
func (c *Chunk) Key() []byte {
	return fmt.Appendf(nil, "%s/%d", c.Source, c.Seq)
}

// AppendChunk appends the encoding of c to b.
func AppendChunk(b []byte, c *Chunk) []byte {
	b = appendString(b, chunkSource, c.Source)
	b = appendString(b, chunkFingerprint, c.Fingerprint)
	b = appendVarint(b, chunkYear, uint64(c.Year))
	b = appendVarint(b, chunkMonth, uint64(c.Month))
	b = appendVarint(b, chunkSeq, uint64(c.Seq))
	b = appendVarint(b, chunkFirstLine, c.FirstLine)
	b = appendVarint(b, chunkRecords, uint64(c.Records))
	if c.Last {
		b = appendVarint(b, chunkLast, 1)
	}
	b = appendString(b, chunkError, c.Error)
	if len(c.Data) > 0 {
		b = protowire.AppendTag(b, chunkData, protowire.BytesType)
		b = protowire.AppendBytes(b, c.Data)
	}
	if c.Codec != CodecNone {
		b = appendVarint(b, chunkCodec, uint64(c.Codec))
		b = appendVarint(b, chunkDataSize, c.DataSize)
	}
	b = appendVarint(b, chunkRecordLen, uint64(c.RecordLen))
	b = appendString(b, chunkFormat, c.Format)
	if c.NotPublished {
		b = appendVarint(b, chunkUnpublished, 1)
	}
	return b
}

// DecodeChunk decodes b into c. c.Data aliases b. A chunk without a source,
// or with a size or count over its limit (limits.go), is rejected before
// anything is allocated for it.
func DecodeChunk(b []byte, c *Chunk) error {
	*c = Chunk{}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case chunkSource:
			if err := checkLen("source", bs, MaxNameLen); err != nil {
				return err
			}
			c.Source = string(bs)
		case chunkFingerprint:
			if err := checkLen("fingerprint", bs, MaxNameLen); err != nil {
				return err
			}
			c.Fingerprint = string(bs)
		case chunkYear:
			c.Year = int(v)
		case chunkMonth:
			c.Month = int(v)
		case chunkSeq:
			if v >= MaxChunks {
				return limitErr("chunk number", v, MaxChunks-1)
			}
			c.Seq = uint32(v)
		case chunkFirstLine:
			c.FirstLine = v
		case chunkRecords:
			if v > MaxChunkRecords {
				return limitErr("records", v, MaxChunkRecords)
			}
			c.Records = uint32(v)
		case chunkLast:
			c.Last = v != 0
		case chunkError:
			if err := checkLen("error", bs, MaxErrorLen); err != nil {
				return err
			}
			c.Error = string(bs)
		case chunkData:
			if err := checkLen("data", bs, MaxChunkDataSize); err != nil {
				return err
			}
			c.Data = bs
		case chunkCodec:
			c.Codec = Codec(v)
		case chunkDataSize:
			if v > MaxChunkDataSize {
				return limitErr("data_size", v, MaxChunkDataSize)
			}
			c.DataSize = v
		case chunkRecordLen:
			if v > MaxRecordLen {
				return limitErr("record_len", v, MaxRecordLen)
			}
			c.RecordLen = uint32(v)
		case chunkFormat:
			if err := checkLen("format", bs, MaxNameLen); err != nil {
				return err
			}
			c.Format = string(bs)
		case chunkUnpublished:
			c.NotPublished = v != 0
		}
		return nil
	}, chunkTypes)
	if err == nil && c.Source == "" {
		err = fmt.Errorf("%w: chunk without a source", ErrMissingField)
	}
	return err
}

var chunkTypes = map[protowire.Number]protowire.Type{
	chunkSource: protowire.BytesType, chunkFingerprint: protowire.BytesType, chunkYear: protowire.VarintType,
	chunkMonth: protowire.VarintType, chunkSeq: protowire.VarintType, chunkFirstLine: protowire.VarintType,
	chunkRecords: protowire.VarintType, chunkLast: protowire.VarintType, chunkError: protowire.BytesType,
	chunkData: protowire.BytesType, chunkCodec: protowire.VarintType, chunkDataSize: protowire.VarintType,
	chunkRecordLen: protowire.VarintType, chunkFormat: protowire.BytesType, chunkUnpublished: protowire.VarintType,
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
