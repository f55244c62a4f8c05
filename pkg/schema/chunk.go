package schema

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Chunk is a run of consecutive records of one source, as the reader cuts
// them. Data holds the records, each ended by "\n".
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
	return b
}

// DecodeChunk decodes b into c. c.Data aliases b.
func DecodeChunk(b []byte, c *Chunk) error {
	*c = Chunk{}
	return walk(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case chunkSource:
			c.Source = string(bs)
		case chunkFingerprint:
			c.Fingerprint = string(bs)
		case chunkYear:
			c.Year = int(v)
		case chunkMonth:
			c.Month = int(v)
		case chunkSeq:
			c.Seq = uint32(v)
		case chunkFirstLine:
			c.FirstLine = v
		case chunkRecords:
			c.Records = uint32(v)
		case chunkLast:
			c.Last = v != 0
		case chunkError:
			c.Error = string(bs)
		case chunkData:
			c.Data = bs
		}
		return nil
	}, chunkTypes)
}

var chunkTypes = map[protowire.Number]protowire.Type{
	chunkSource: protowire.BytesType, chunkFingerprint: protowire.BytesType, chunkYear: protowire.VarintType,
	chunkMonth: protowire.VarintType, chunkSeq: protowire.VarintType, chunkFirstLine: protowire.VarintType,
	chunkRecords: protowire.VarintType, chunkLast: protowire.VarintType, chunkError: protowire.BytesType,
	chunkData: protowire.BytesType,
}
