package schema

import (
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Result is the partial aggregate of one chunk, as a computer produces it.
type Result struct {
	Source       string
	Fingerprint  string
	Year, Month  int
	Seq          uint32
	Last         bool
	Error        string            // the chunk's source-level error, passed on
	Records      uint64            // records in the chunk, good and bad
	Rejected     uint64            // records that failed to parse
	Rejects      map[string]uint64 // rejected records by reason
	Tally        *tally.Tally      // the good records, tabulated
	Format       string            // the chunk's: how the source was stored
	NotPublished bool              // the chunk's: the site has no file for the month
}

// Result field numbers; see schema.proto.
const (
	resultSource      = 1
	resultFingerprint = 2
	resultYear        = 3
	resultMonth       = 4
	resultSeq         = 5
	resultLast        = 6
	resultError       = 7
	resultRecords     = 8
	resultRejected    = 9
	resultRejects     = 10
	resultTally       = 11
	resultFormat      = 12
	resultUnpublished = 13

	rejectReason = 1
	rejectCount  = 2
)

// Key is the Kafka message key of a result: its source, so that the results
// of one source stay in order on one partition.
func (r *Result) Key() []byte { return []byte(r.Source) }

// AppendResult appends the encoding of r to b.
func AppendResult(b []byte, r *Result) []byte {
	b = appendString(b, resultSource, r.Source)
	b = appendString(b, resultFingerprint, r.Fingerprint)
	b = appendVarint(b, resultYear, uint64(r.Year))
	b = appendVarint(b, resultMonth, uint64(r.Month))
	b = appendVarint(b, resultSeq, uint64(r.Seq))
	if r.Last {
		b = appendVarint(b, resultLast, 1)
	}
	b = appendString(b, resultError, r.Error)
	b = appendVarint(b, resultRecords, r.Records)
	b = appendVarint(b, resultRejected, r.Rejected)
	b = appendRejects(b, resultRejects, r.Rejects)
	if r.Tally != nil {
		b = appendMessage(b, resultTally, AppendTally(nil, r.Tally))
	}
	b = appendString(b, resultFormat, r.Format)
	if r.NotPublished {
		b = appendVarint(b, resultUnpublished, 1)
	}
	return b
}

func appendRejects(b []byte, num protowire.Number, rejects map[string]uint64) []byte {
	for _, reason := range slices.Sorted(maps.Keys(rejects)) {
		var e []byte
		e = appendString(e, rejectReason, reason)
		e = appendVarint(e, rejectCount, rejects[reason])
		b = appendMessage(b, num, e)
	}
	return b
}

func decodeReject(bs []byte, into map[string]uint64) error {
	var (
		reason string
		count  uint64
	)
	err := walk(bs, func(num protowire.Number, _ protowire.Type, v uint64, s []byte) error {
		switch num {
		case rejectReason:
			if err := checkLen("reject reason", s, MaxNameLen); err != nil {
				return err
			}
			reason = string(s)
		case rejectCount:
			count = v
		}
		return nil
	}, rejectTypes)
	if err != nil {
		return err
	}
	if _, known := into[reason]; !known && len(into) >= MaxRejectReasons {
		return limitErr("reject reasons", uint64(len(into))+1, MaxRejectReasons)
	}
	into[reason] += count
	return nil
}

var rejectTypes = map[protowire.Number]protowire.Type{rejectReason: protowire.BytesType, rejectCount: protowire.VarintType}

// DecodeResult decodes b into r. A result without a source, or with a size
// or count over its limit (limits.go), is rejected before anything is
// allocated for it.
func DecodeResult(b []byte, r *Result) error {
	*r = Result{Rejects: map[string]uint64{}}
	err := walk(b, func(num protowire.Number, _ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case resultSource:
			if err := checkLen("source", bs, MaxNameLen); err != nil {
				return err
			}
			r.Source = string(bs)
		case resultFingerprint:
			if err := checkLen("fingerprint", bs, MaxNameLen); err != nil {
				return err
			}
			r.Fingerprint = string(bs)
		case resultYear:
			r.Year = int(v)
		case resultMonth:
			r.Month = int(v)
		case resultSeq:
			if v >= MaxChunks {
				return limitErr("chunk number", v, MaxChunks-1)
			}
			r.Seq = uint32(v)
		case resultLast:
			r.Last = v != 0
		case resultError:
			if err := checkLen("error", bs, MaxErrorLen); err != nil {
				return err
			}
			r.Error = string(bs)
		case resultRecords:
			if v > MaxChunkRecords {
				return limitErr("records", v, MaxChunkRecords)
			}
			r.Records = v
		case resultRejected:
			if v > MaxChunkRecords {
				return limitErr("rejected records", v, MaxChunkRecords)
			}
			r.Rejected = v
		case resultRejects:
			return decodeReject(bs, r.Rejects)
		case resultTally:
			if r.Tally == nil {
				r.Tally = tally.New()
			}
			return DecodeTally(bs, r.Tally)
		case resultFormat:
			if err := checkLen("format", bs, MaxNameLen); err != nil {
				return err
			}
			r.Format = string(bs)
		case resultUnpublished:
			r.NotPublished = v != 0
		}
		return nil
	}, resultTypes)
	if err == nil && r.Source == "" {
		err = fmt.Errorf("%w: result without a source", ErrMissingField)
	}
	return err
}

var resultTypes = map[protowire.Number]protowire.Type{
	resultSource: protowire.BytesType, resultFingerprint: protowire.BytesType, resultYear: protowire.VarintType,
	resultMonth: protowire.VarintType, resultSeq: protowire.VarintType, resultLast: protowire.VarintType,
	resultError: protowire.BytesType, resultRecords: protowire.VarintType, resultRejected: protowire.VarintType,
	resultRejects: protowire.BytesType, resultTally: protowire.BytesType, resultFormat: protowire.BytesType,
	resultUnpublished: protowire.VarintType,
}
