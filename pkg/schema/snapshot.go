package schema

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// The aggregator's state topic is compacted and holds one record per key:
//
//	gen/<source>/<fingerprint>   a GenerationState
//	offsets/<results topic>      an Offsets: where the state above ends
//
// Both kinds are written in one transaction, so a restore that reads the
// topic to its end under read_committed sees a state and the offsets it
// covers, and restore time depends on the number of sources, not on history.

// Snapshot record key prefixes.
const (
	KeyGenerationPrefix = "gen/"
	KeyOffsetsPrefix    = "offsets/"
)

// GenerationKey is the state-topic key of a generation.
func GenerationKey(k SourceKey) []byte {
	return []byte(KeyGenerationPrefix + k.Source + "/" + k.Fingerprint)
}

// OffsetsKey is the state-topic key of the offsets of a results topic.
func OffsetsKey(topic string) []byte { return []byte(KeyOffsetsPrefix + topic) }

// GenerationState is one load of one source, as the aggregator keeps it.
type GenerationState struct {
	Source       string
	Fingerprint  string
	Year, Month  int
	Seen         []uint64 // bitset of the chunk numbers counted
	Chunks       uint32
	Total        int64 // -1 while unknown
	Records      uint64
	Rejected     uint64
	Rejects      map[string]uint64
	Error        string
	LastSeen     int64
	Tally        *tally.Tally
	Format       string // how the source was stored
	NotPublished bool   // the site has no file for the month
	// Lacking counts, per tabulation, the chunks counted from results
	// that did not carry it.
	Lacking map[Tabulation]uint32
}

// AppendGenerationState appends the encoding of g to b.
func AppendGenerationState(b []byte, g *GenerationState) []byte {
	m := schemapb.GenerationState{
		Source: g.Source, Fingerprint: g.Fingerprint, Year: uint32(g.Year), Month: uint32(g.Month),
		Chunks: g.Chunks, Total: g.Total, Records: g.Records, Rejected: g.Rejected,
		Rejects: rejectsToPB(g.Rejects), Error: g.Error, LastSeen: g.LastSeen,
		Format: g.Format, NotPublished: g.NotPublished,
	}
	for _, t := range slices.Sorted(maps.Keys(g.Lacking)) {
		if g.Lacking[t] > 0 {
			m.Lacking = append(m.Lacking, &schemapb.Lacking{Tabulation: schemapb.Tabulation(t), Chunks: g.Lacking[t]})
		}
	}
	if len(g.Seen) > 0 {
		m.Seen = make([]byte, 0, 8*len(g.Seen))
		for _, w := range g.Seen {
			m.Seen = binary.LittleEndian.AppendUint64(m.Seen, w)
		}
	}
	if g.Tally != nil {
		m.Tally = tallyToPB(g.Tally)
	}
	return appendVT(b, &m)
}

// DecodeGenerationState decodes b into g. A generation without a source, or
// with a size or count over its limit (limits.go), is rejected.
func DecodeGenerationState(b []byte, g *GenerationState) error {
	*g = GenerationState{Rejects: map[string]uint64{}, Tally: tally.New()}
	var m schemapb.GenerationState
	// Unsafe: Seen aliases b, read into words below; the strings are copied.
	if err := m.UnmarshalVTUnsafe(b); err != nil {
		return malformed("generation", err)
	}
	if err := checkStrings(m.Source, m.Fingerprint, m.Error, m.Format); err != nil {
		return err
	}
	switch {
	case len(m.Seen)%8 != 0:
		return fmt.Errorf("%w: seen bitset of %d bytes", ErrMalformed, len(m.Seen))
	case len(m.Seen)/8 > MaxChunks/64:
		return limitErr("seen bitset words", uint64(len(m.Seen)/8), MaxChunks/64)
	case m.Chunks > MaxChunks:
		return limitErr("chunks", uint64(m.Chunks), MaxChunks)
	case m.Total < -1 || m.Total > MaxChunks:
		return fmt.Errorf("%w: total chunks %d is not in [-1, %d]", ErrLimit, m.Total, MaxChunks)
	}
	g.Source, g.Fingerprint = strings.Clone(m.Source), strings.Clone(m.Fingerprint)
	g.Year, g.Month, g.Chunks, g.Total = int(m.Year), int(m.Month), m.Chunks, m.Total
	g.Records, g.Rejected, g.Error, g.LastSeen = m.Records, m.Rejected, strings.Clone(m.Error), m.LastSeen
	g.Format, g.NotPublished = strings.Clone(m.Format), m.NotPublished
	if len(m.Seen) > 0 {
		g.Seen = make([]uint64, 0, len(m.Seen)/8)
		for i := 0; i < len(m.Seen); i += 8 {
			g.Seen = append(g.Seen, binary.LittleEndian.Uint64(m.Seen[i:]))
		}
	}
	rejects := make([]*schemapb.Reject, len(m.Rejects))
	for i, e := range m.Rejects {
		rejects[i] = &schemapb.Reject{Reason: strings.Clone(e.Reason), Count: e.Count}
	}
	if err := rejectsFromPB(rejects, g.Rejects); err != nil {
		return err
	}
	if len(m.Lacking) > MaxTabulations {
		return limitErr("lacking tabulations", uint64(len(m.Lacking)), MaxTabulations)
	}
	for _, l := range m.Lacking {
		if l.Chunks > MaxChunks {
			return limitErr("chunks lacking a tabulation", uint64(l.Chunks), MaxChunks)
		}
		if l.Chunks > 0 {
			if g.Lacking == nil {
				g.Lacking = map[Tabulation]uint32{}
			}
			g.Lacking[Tabulation(l.Tabulation)] += l.Chunks
		}
	}
	if m.Tally != nil {
		if err := tallyFromPB(m.Tally, g.Tally); err != nil {
			return err
		}
	}
	if g.Source == "" {
		return fmt.Errorf("%w: generation without a source", ErrMissingField)
	}
	return nil
}

// Offsets are the next offsets to consume, per partition of a topic.
type Offsets struct {
	Topic   string
	Offsets map[int32]int64
}

// AppendOffsets appends the encoding of o to b, partitions in order.
func AppendOffsets(b []byte, o *Offsets) []byte {
	m := schemapb.Offsets{Topic: o.Topic, Entries: make([]*schemapb.Offsets_Entry, 0, len(o.Offsets))}
	for _, p := range slices.Sorted(maps.Keys(o.Offsets)) {
		m.Entries = append(m.Entries, &schemapb.Offsets_Entry{Partition: p, Offset: o.Offsets[p]})
	}
	return appendVT(b, &m)
}

// DecodeOffsets decodes b into o. Partition numbers are below MaxPartitions,
// so the map holds at most that many entries.
func DecodeOffsets(b []byte, o *Offsets) error {
	*o = Offsets{Offsets: map[int32]int64{}}
	var m schemapb.Offsets
	if err := m.UnmarshalVT(b); err != nil {
		return malformed("offsets", err)
	}
	if len(m.Topic) > MaxNameLen {
		return limitErr("topic length", uint64(len(m.Topic)), MaxNameLen)
	}
	o.Topic = m.Topic
	for _, e := range m.Entries {
		if e.Partition < 0 || e.Partition >= MaxPartitions {
			return fmt.Errorf("%w: partition %d is not in [0, %d]", ErrLimit, e.Partition, MaxPartitions-1)
		}
		if e.Offset < 0 {
			return fmt.Errorf("%w: offset %d of partition %d is negative", ErrLimit, e.Offset, e.Partition)
		}
		o.Offsets[e.Partition] = e.Offset
	}
	return nil
}

// ParseSnapshotKey tells what a state-topic key holds.
func ParseSnapshotKey(key []byte) (kind string, rest string) {
	k := string(key)
	switch {
	case strings.HasPrefix(k, KeyGenerationPrefix):
		return KeyGenerationPrefix, k[len(KeyGenerationPrefix):]
	case strings.HasPrefix(k, KeyOffsetsPrefix):
		return KeyOffsetsPrefix, k[len(KeyOffsetsPrefix):]
	}
	return "", k
}
