package schema

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

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
}

const (
	genSource      = 1
	genFingerprint = 2
	genYear        = 3
	genMonth       = 4
	genSeen        = 5
	genChunks      = 6
	genTotal       = 7
	genRecords     = 8
	genRejected    = 9
	genRejects     = 10
	genError       = 11
	genLastSeen    = 12
	genTally       = 13
	genFormat      = 14
	genUnpublished = 15
)

// AppendGenerationState appends the encoding of g to b.
func AppendGenerationState(b []byte, g *GenerationState) []byte {
	b = appendString(b, genSource, g.Source)
	b = appendString(b, genFingerprint, g.Fingerprint)
	b = appendVarint(b, genYear, uint64(g.Year))
	b = appendVarint(b, genMonth, uint64(g.Month))
	if len(g.Seen) > 0 {
		var packed []byte
		for _, w := range g.Seen {
			packed = protowire.AppendFixed64(packed, w)
		}
		b = appendMessage(b, genSeen, packed)
	}
	b = appendVarint(b, genChunks, uint64(g.Chunks))
	b = appendSigned(b, genTotal, g.Total)
	b = appendVarint(b, genRecords, g.Records)
	b = appendVarint(b, genRejected, g.Rejected)
	b = appendRejects(b, genRejects, g.Rejects)
	b = appendString(b, genError, g.Error)
	b = appendSigned(b, genLastSeen, g.LastSeen)
	if g.Tally != nil {
		b = appendMessage(b, genTally, AppendTally(nil, g.Tally))
	}
	b = appendString(b, genFormat, g.Format)
	if g.NotPublished {
		b = appendVarint(b, genUnpublished, 1)
	}
	return b
}

// DecodeGenerationState decodes b into g. A generation without a source, or
// with a size or count over its limit (limits.go), is rejected before
// anything is allocated for it.
func DecodeGenerationState(b []byte, g *GenerationState) error {
	*g = GenerationState{Rejects: map[string]uint64{}, Tally: tally.New()}
	err := walk(b, func(num protowire.Number, _ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case genSource:
			if err := checkLen("source", bs, MaxNameLen); err != nil {
				return err
			}
			g.Source = string(bs)
		case genFingerprint:
			if err := checkLen("fingerprint", bs, MaxNameLen); err != nil {
				return err
			}
			g.Fingerprint = string(bs)
		case genYear:
			g.Year = int(v)
		case genMonth:
			g.Month = int(v)
		case genSeen:
			if len(bs)%8 != 0 {
				return fmt.Errorf("%w: seen bitset of %d bytes", ErrMalformed, len(bs))
			}
			if words := len(g.Seen) + len(bs)/8; words > MaxChunks/64 {
				return limitErr("seen bitset words", uint64(words), MaxChunks/64)
			}
			g.Seen = slices.Grow(g.Seen, len(bs)/8)
			for len(bs) > 0 {
				w, n := protowire.ConsumeFixed64(bs)
				g.Seen = append(g.Seen, w)
				bs = bs[n:]
			}
		case genChunks:
			if v > MaxChunks {
				return limitErr("chunks", v, MaxChunks)
			}
			g.Chunks = uint32(v)
		case genTotal:
			total := protowire.DecodeZigZag(v)
			if total < -1 || total > MaxChunks {
				return fmt.Errorf("%w: total chunks %d is not in [-1, %d]", ErrLimit, total, MaxChunks)
			}
			g.Total = total
		case genRecords:
			g.Records = v
		case genRejected:
			g.Rejected = v
		case genRejects:
			return decodeReject(bs, g.Rejects)
		case genError:
			if err := checkLen("error", bs, MaxErrorLen); err != nil {
				return err
			}
			g.Error = string(bs)
		case genLastSeen:
			g.LastSeen = protowire.DecodeZigZag(v)
		case genTally:
			return DecodeTally(bs, g.Tally)
		case genFormat:
			if err := checkLen("format", bs, MaxNameLen); err != nil {
				return err
			}
			g.Format = string(bs)
		case genUnpublished:
			g.NotPublished = v != 0
		}
		return nil
	}, genTypes)
	if err == nil && g.Source == "" {
		err = fmt.Errorf("%w: generation without a source", ErrMissingField)
	}
	return err
}

var genTypes = map[protowire.Number]protowire.Type{
	genSource: protowire.BytesType, genFingerprint: protowire.BytesType, genYear: protowire.VarintType,
	genMonth: protowire.VarintType, genSeen: protowire.BytesType, genChunks: protowire.VarintType,
	genTotal: protowire.VarintType, genRecords: protowire.VarintType, genRejected: protowire.VarintType,
	genRejects: protowire.BytesType, genError: protowire.BytesType, genLastSeen: protowire.VarintType,
	genTally: protowire.BytesType, genFormat: protowire.BytesType, genUnpublished: protowire.VarintType,
}

// Offsets are the next offsets to consume, per partition of a topic.
type Offsets struct {
	Topic   string
	Offsets map[int32]int64
}

const (
	offsetsTopic = 1
	offsetsEntry = 2
	entryPart    = 1
	entryOffset  = 2
)

// AppendOffsets appends the encoding of o to b.
func AppendOffsets(b []byte, o *Offsets) []byte {
	b = appendString(b, offsetsTopic, o.Topic)
	for _, p := range slices.Sorted(maps.Keys(o.Offsets)) {
		var e []byte
		e = protowire.AppendTag(e, entryPart, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(p))
		e = appendVarint(e, entryOffset, uint64(o.Offsets[p]))
		b = appendMessage(b, offsetsEntry, e)
	}
	return b
}

// DecodeOffsets decodes b into o. Partition numbers are below MaxPartitions,
// so the map holds at most that many entries.
func DecodeOffsets(b []byte, o *Offsets) error {
	*o = Offsets{Offsets: map[int32]int64{}}
	return walk(b, func(num protowire.Number, _ protowire.Type, _ uint64, bs []byte) error {
		switch num {
		case offsetsTopic:
			if err := checkLen("topic", bs, MaxNameLen); err != nil {
				return err
			}
			o.Topic = string(bs)
		case offsetsEntry:
			var p, off uint64
			err := walk(bs, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				if num == entryPart {
					p = v
				} else {
					off = v
				}
				return nil
			}, entryTypes)
			if err != nil {
				return err
			}
			if p >= MaxPartitions {
				return limitErr("partition", p, MaxPartitions-1)
			}
			if off > math.MaxInt64 {
				return limitErr("offset", off, math.MaxInt64)
			}
			o.Offsets[int32(p)] = int64(off)
			return nil
		}
		return nil
	}, offsetsTypes)
}

var (
	offsetsTypes = map[protowire.Number]protowire.Type{offsetsTopic: protowire.BytesType, offsetsEntry: protowire.BytesType}
	entryTypes   = map[protowire.Number]protowire.Type{entryPart: protowire.VarintType, entryOffset: protowire.VarintType}
)

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
