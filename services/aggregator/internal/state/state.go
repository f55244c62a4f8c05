// Package state keeps the aggregator's summaries: per source and per load
// of that source, the chunks counted, their partial aggregates merged, and
// whether every chunk has arrived.
//
// Counting is idempotent: a chunk is identified by (source, fingerprint,
// seq) and a second copy of it, from a reloaded file or a replay after a
// restart, is recognised and ignored. A source loaded with different
// content (another fingerprint) is kept as a separate generation; the
// totals use one generation per source, the complete one seen last, or,
// while none is complete, the one seen last.
package state

import (
	"maps"
	"slices"
	"sync"

	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Generation is one load of a source: the chunks of one fingerprint.
type Generation struct {
	Fingerprint string
	Seen        Bitset
	Chunks      uint32 // distinct chunks counted
	Total       int64  // chunks in the source, -1 until the last chunk arrives
	Records     uint64
	Rejected    uint64
	Rejects     map[string]uint64
	Tally       *tally.Tally
	Error       string // why the source could not be read to its end
	LastSeen    int64  // newest Kafka timestamp (ms) of its results
	Format      string // how the source was stored: gzip, zip or plain ("" from readers before formats)
	// NotPublished: the census site has no file for the month; the
	// generation's one chunk is empty.
	NotPublished bool
	// Lacking counts, per tabulation this build knows, the chunks counted
	// from results that did not carry it: results of computers older than
	// the tabulation, during a rolling upgrade. Their tally has nothing for
	// it, so the table is incomplete for the generation while any is
	// counted; a chunk is counted once, so only a new load of the source,
	// counted by computers that carry it, completes it.
	Lacking map[schema.Tabulation]uint32
}

// Incomplete lists, in order, the tabulations some counted chunk of the
// generation did not carry.
func (g *Generation) Incomplete() []schema.Tabulation {
	var out []schema.Tabulation
	for _, t := range schema.Tabulations() {
		if g.Lacking[t] > 0 {
			out = append(out, t)
		}
	}
	return out
}

// Complete reports whether every chunk of the generation has been counted
// and the source was read to its end.
func (g *Generation) Complete() bool {
	return g.Total >= 0 && int64(g.Chunks) == g.Total && g.Error == ""
}

// Source is everything known of one source name.
type Source struct {
	Name        string
	Year, Month int
	Generations map[string]*Generation
}

// Chosen is the generation the totals use.
func (s *Source) Chosen() *Generation {
	var best *Generation
	for _, g := range s.Generations {
		if best == nil || better(g, best) {
			best = g
		}
	}
	return best
}

func better(a, b *Generation) bool {
	if a.Complete() != b.Complete() {
		return a.Complete()
	}
	if a.LastSeen != b.LastSeen {
		return a.LastSeen > b.LastSeen
	}
	return a.Fingerprint > b.Fingerprint
}

// Store is the aggregator's state, safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	sources map[string]*Source
	dirty   map[schema.SourceKey]bool // generations changed since the last snapshot
	version uint64
	totals  *tally.Tally
	totVer  uint64
}

// New returns an empty store.
func New() *Store {
	return &Store{sources: map[string]*Source{}, dirty: map[schema.SourceKey]bool{}}
}

// Outcome says what Apply did with a result.
type Outcome int

// Outcomes of Apply.
const (
	Counted   Outcome = iota // a new chunk, counted
	Duplicate                // already counted: ignored
	// OutOfRange: the chunk number is at or past the source's known number
	// of chunks, or past schema.MaxChunks; nothing is counted, so a hostile
	// or corrupt result cannot grow the bitset beyond the source's chunks.
	OutOfRange
)

// Apply counts one result unless its chunk was counted before or is out of
// range. ts is the message's Kafka timestamp in milliseconds.
func (s *Store) Apply(r *schema.Result, ts int64) Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Seq >= schema.MaxChunks {
		return OutOfRange
	}
	if src := s.sources[r.Source]; src != nil {
		if g := src.Generations[r.Fingerprint]; g != nil && g.Total >= 0 && int64(r.Seq) >= g.Total {
			return OutOfRange
		}
	}
	src := s.sources[r.Source]
	if src == nil {
		src = &Source{Name: r.Source, Year: r.Year, Month: r.Month, Generations: map[string]*Generation{}}
		s.sources[r.Source] = src
	}
	g := src.Generations[r.Fingerprint]
	if g == nil {
		g = &Generation{Fingerprint: r.Fingerprint, Total: -1, Rejects: map[string]uint64{}, Tally: tally.New()}
		src.Generations[r.Fingerprint] = g
	}
	if ts > g.LastSeen {
		g.LastSeen = ts
	}
	if g.Seen.Has(r.Seq) {
		return Duplicate
	}
	g.Seen.Set(r.Seq)
	g.Chunks++
	if r.Format != "" {
		g.Format = r.Format
	}
	for _, t := range schema.Tabulations() {
		if !r.Carries(t) {
			if g.Lacking == nil {
				g.Lacking = map[schema.Tabulation]uint32{}
			}
			g.Lacking[t]++
		}
	}
	g.Records += r.Records
	g.Rejected += r.Rejected
	for reason, n := range r.Rejects {
		g.Rejects[reason] += n
	}
	if r.Tally != nil {
		g.Tally.Merge(r.Tally)
	}
	if r.Last {
		g.Total = int64(r.Seq) + 1
		g.Error = r.Error
		g.NotPublished = r.NotPublished
	}
	s.dirty[schema.SourceKey{Source: r.Source, Fingerprint: r.Fingerprint}] = true
	s.version++
	return Counted
}

// Totals is the merge of the chosen generation of every source. The caller
// must not modify it.
func (s *Store) Totals() *tally.Tally {
	s.mu.RLock()
	if s.totals != nil && s.totVer == s.version {
		t := s.totals
		s.mu.RUnlock()
		return t
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.totals == nil || s.totVer != s.version {
		t := tally.New()
		for _, src := range s.sources {
			if g := src.Chosen(); g != nil {
				t.Merge(g.Tally)
			}
		}
		s.totals, s.totVer = t, s.version
	}
	return s.totals
}

func (g *Generation) status() string {
	switch {
	case g.Total >= 0 && g.Error != "":
		return apiv1.StatusFailed
	case !g.Complete():
		return apiv1.StatusLoading
	case g.NotPublished:
		return apiv1.StatusNotPublished
	}
	return apiv1.StatusComplete
}

// Sources lists every source, sorted by name.
func (s *Store) Sources() []apiv1.Source {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]apiv1.Source, 0, len(s.sources))
	for _, name := range slices.Sorted(maps.Keys(s.sources)) {
		src := s.sources[name]
		g := src.Chosen()
		v := apiv1.Source{Source: name, Fingerprint: g.Fingerprint, Year: src.Year, Month: src.Month, Status: g.status(),
			Format: g.Format, Records: g.Records, Counted: g.Records - min(g.Rejected, g.Records), Rejected: g.Rejected,
			Rejects: maps.Clone(g.Rejects), Chunks: g.Chunks, Complete: g.Complete(), Error: g.Error, Loads: len(src.Generations)}
		if l, err := census.LayoutOf(src.Year, src.Month); err == nil && src.Year > 0 {
			v.Layout = &apiv1.Layout{Name: l.Name, First: l.First, Last: l.Last}
			v.Weight = l.Weight().String()
		}
		if g.Total >= 0 {
			total := g.Total
			v.TotalChunks = &total
		}
		for _, t := range g.Incomplete() {
			v.IncompleteTabulations = append(v.IncompleteTabulations, t.String())
		}
		out = append(out, v)
	}
	return out
}

// IncompleteSources lists, sorted, the sources of year (and month, unless
// 0) whose chosen generation counted a chunk from a result without
// tabulation t.
func (s *Store) IncompleteSources(t schema.Tabulation, year, month int) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, name := range slices.Sorted(maps.Keys(s.sources)) {
		src := s.sources[name]
		if src.Year != year || (month != 0 && src.Month != month) {
			continue
		}
		if g := src.Chosen(); g != nil && g.Lacking[t] > 0 {
			out = append(out, name)
		}
	}
	return out
}

// Version increases with every counted chunk.
func (s *Store) Version() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Bitset is a growable set of chunk numbers below schema.MaxChunks: it
// grows to the largest number set, 128 KiB at most.
type Bitset []uint64

// Has reports whether i is in the set.
func (b Bitset) Has(i uint32) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// Set adds i to the set; a number of schema.MaxChunks or more is refused
// (false), so no chunk number can make it allocate more than 128 KiB.
func (b *Bitset) Set(i uint32) bool {
	if i >= schema.MaxChunks {
		return false
	}
	w := int(i / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (i % 64)
	return true
}

// Restore puts a generation read from a snapshot back into the store.
func (s *Store) Restore(gs *schema.GenerationState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.sources[gs.Source]
	if src == nil {
		src = &Source{Name: gs.Source, Year: gs.Year, Month: gs.Month, Generations: map[string]*Generation{}}
		s.sources[gs.Source] = src
	}
	t := gs.Tally
	if t == nil {
		t = tally.New()
	}
	rejects := gs.Rejects
	if rejects == nil {
		rejects = map[string]uint64{}
	}
	src.Generations[gs.Fingerprint] = &Generation{
		Fingerprint: gs.Fingerprint, Seen: slices.Clone(gs.Seen), Chunks: gs.Chunks, Total: gs.Total,
		Records: gs.Records, Rejected: gs.Rejected, Rejects: rejects, Tally: t, Error: gs.Error, LastSeen: gs.LastSeen,
		Format: gs.Format, NotPublished: gs.NotPublished, Lacking: maps.Clone(gs.Lacking),
	}
	s.version++
}

// TakeDirty returns the generations changed since the last call, as
// snapshot records, and forgets that they changed.
func (s *Store) TakeDirty() []*schema.GenerationState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*schema.GenerationState, 0, len(s.dirty))
	for k := range s.dirty {
		src := s.sources[k.Source]
		g := src.Generations[k.Fingerprint]
		t := tally.New()
		t.Merge(g.Tally)
		out = append(out, &schema.GenerationState{
			Source: src.Name, Fingerprint: g.Fingerprint, Year: src.Year, Month: src.Month, Seen: slices.Clone(g.Seen),
			Chunks: g.Chunks, Total: g.Total, Records: g.Records, Rejected: g.Rejected, Rejects: maps.Clone(g.Rejects),
			Error: g.Error, LastSeen: g.LastSeen, Tally: t, Format: g.Format, NotPublished: g.NotPublished,
			Lacking: maps.Clone(g.Lacking),
		})
	}
	clear(s.dirty)
	return out
}

// MarkDirty marks generations changed again, after a snapshot of them failed.
func (s *Store) MarkDirty(gens []*schema.GenerationState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range gens {
		s.dirty[schema.SourceKey{Source: g.Source, Fingerprint: g.Fingerprint}] = true
	}
}
