package schema

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
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
	// Tabulations lists what Tally holds; decoding gives
	// ReleasedTabulations for a result without the list.
	Tabulations []Tabulation
}

// Key is the Kafka message key of a result: its source, so that the results
// of one source stay in order on one partition.
func (r *Result) Key() []byte { return []byte(r.Source) }

// AppendResult appends the encoding of r to b.
func AppendResult(b []byte, r *Result) []byte {
	m := schemapb.Result{
		Source: r.Source, Fingerprint: r.Fingerprint, Year: uint32(r.Year), Month: uint32(r.Month),
		Seq: r.Seq, Last: r.Last, Error: r.Error, Records: r.Records, Rejected: r.Rejected,
		Rejects: rejectsToPB(r.Rejects), Format: r.Format, NotPublished: r.NotPublished,
		Tabulations: tabulationsToPB(r.Tabulations),
	}
	if r.Tally != nil {
		m.Tally = tallyToPB(r.Tally)
	}
	return appendVT(b, &m)
}

// rejectsToPB lists rejects by reason, in order, so that an encoding is
// canonical.
func rejectsToPB(rejects map[string]uint64) []*schemapb.Reject {
	if len(rejects) == 0 {
		return nil
	}
	pb := make([]schemapb.Reject, 0, len(rejects))
	out := make([]*schemapb.Reject, 0, len(rejects))
	for _, reason := range slices.Sorted(maps.Keys(rejects)) {
		pb = append(pb, schemapb.Reject{Reason: reason, Count: rejects[reason]})
		out = append(out, &pb[len(pb)-1])
	}
	return out
}

// rejectsFromPB adds rejects to into, summing repeated reasons.
func rejectsFromPB(rejects []*schemapb.Reject, into map[string]uint64) error {
	for _, e := range rejects {
		if len(e.Reason) > MaxNameLen {
			return limitErr("reject reason length", uint64(len(e.Reason)), MaxNameLen)
		}
		if _, known := into[e.Reason]; !known && len(into) >= MaxRejectReasons {
			return limitErr("reject reasons", uint64(len(into))+1, MaxRejectReasons)
		}
		into[e.Reason] += e.Count
	}
	return nil
}

// DecodeResult decodes b into r. A result without a source, or with a size
// or count over its limit (limits.go), is rejected.
func DecodeResult(b []byte, r *Result) error {
	*r = Result{Rejects: map[string]uint64{}}
	// From the pool: the tally decodes into the months and states of an
	// earlier result instead of allocating them; all is copied out below.
	m := schemapb.ResultFromVTPool()
	defer m.ReturnToVTPool()
	if err := m.UnmarshalVT(b); err != nil {
		return malformed("result", err)
	}
	if err := checkStrings(m.Source, m.Fingerprint, m.Error, m.Format); err != nil {
		return err
	}
	switch {
	case m.Seq >= MaxChunks:
		return limitErr("chunk number", uint64(m.Seq), MaxChunks-1)
	case m.Records > MaxChunkRecords:
		return limitErr("records", m.Records, MaxChunkRecords)
	case m.Rejected > MaxChunkRecords:
		return limitErr("rejected records", m.Rejected, MaxChunkRecords)
	}
	r.Source, r.Fingerprint, r.Year, r.Month = m.Source, m.Fingerprint, int(m.Year), int(m.Month)
	r.Seq, r.Last, r.Error, r.Records, r.Rejected = m.Seq, m.Last, m.Error, m.Records, m.Rejected
	r.Format, r.NotPublished = m.Format, m.NotPublished
	if err := rejectsFromPB(m.Rejects, r.Rejects); err != nil {
		return err
	}
	var err error
	if r.Tabulations, err = tabulationsFromPB(m.Tabulations); err != nil {
		return err
	}
	if m.Tally != nil {
		r.Tally = tally.New()
		if err := tallyFromPB(m.Tally, r.Tally); err != nil {
			return err
		}
	}
	if r.Source == "" {
		return fmt.Errorf("%w: result without a source", ErrMissingField)
	}
	return nil
}
