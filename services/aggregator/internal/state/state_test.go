package state

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// chunkResult is the result of chunk seq of a source holding n records of
// housing code 1 in Jan 2020.
func chunkResult(source, fp string, seq uint32, n int, last bool) *schema.Result {
	t := tally.New()
	for range n {
		t.Add(&census.Record{HRYEAR4: 2020, HRMONTH: 1, HEHOUSUT: 1, GESTFIPS: 6, PRTAGE: 30, PEMLR: 1, PWCMPWGT: 20_000_000, LaborForceWeight: 20_000_000})
	}
	return &schema.Result{Source: source, Fingerprint: fp, Year: 2020, Month: 1, Seq: seq, Last: last,
		Records: uint64(n), Tally: t, Rejects: map[string]uint64{}}
}

func truncated(source, fp string, n int) *schema.Result {
	r := chunkResult(source, fp, 0, n, true)
	r.Error = source + ": after line 4: unexpected EOF"
	return r
}

func TestApplyDeduplicatesAndCompletes(t *testing.T) {
	s := New()
	require.Equal(t, Counted, s.Apply(chunkResult("a", "f1", 0, 10, false), 1))
	require.Equal(t, Duplicate, s.Apply(chunkResult("a", "f1", 0, 10, false), 2))
	require.False(t, s.Sources()[0].Complete)
	require.Equal(t, Counted, s.Apply(chunkResult("a", "f1", 2, 5, true), 3))
	require.False(t, s.Sources()[0].Complete, "chunk 1 missing")
	require.Equal(t, Counted, s.Apply(chunkResult("a", "f1", 1, 10, false), 4))
	v := s.Sources()[0]
	require.True(t, v.Complete)
	require.Equal(t, uint64(25), v.Records)
	require.Equal(t, int64(3), *v.TotalChunks)
	require.Equal(t, uint64(25), s.Totals().Records())
	// A reload of the same content counts nothing.
	for seq := range uint32(3) {
		require.Equal(t, Duplicate, s.Apply(chunkResult("a", "f1", seq, 10, seq == 2), 10))
	}
	require.Equal(t, uint64(25), s.Totals().Records())
}

func TestGenerations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		apply   []*schema.Result
		want    uint64 // records in the totals
		wantFP  string
		wantGen int
	}{
		{name: "complete beats a later incomplete load",
			apply: []*schema.Result{chunkResult("a", "full", 0, 10, true), chunkResult("a", "cut", 0, 4, false)},
			want:  10, wantFP: "full", wantGen: 2},
		{name: "a completed reload replaces a truncated load",
			apply: []*schema.Result{truncated("a", "cut", 4), chunkResult("a", "full", 0, 10, true)},
			want:  10, wantFP: "full", wantGen: 2},
		{name: "a truncated load is not complete",
			apply: []*schema.Result{truncated("a", "cut", 4)},
			want:  4, wantFP: "cut", wantGen: 1},
		{name: "newest complete load wins",
			apply: []*schema.Result{chunkResult("a", "v1", 0, 10, true), chunkResult("a", "v2", 0, 12, true)},
			want:  12, wantFP: "v2", wantGen: 2},
		{name: "sources add up",
			apply: []*schema.Result{chunkResult("a", "f", 0, 10, true), chunkResult("b", "f", 0, 7, true)},
			want:  17, wantFP: "f", wantGen: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for i, r := range tc.apply {
				s.Apply(r, int64(i+1))
			}
			require.Equal(t, tc.want, s.Totals().Records())
			require.Equal(t, tc.wantFP, s.Sources()[0].Fingerprint)
			require.Equal(t, tc.wantGen, s.Sources()[0].Loads)
			require.Equal(t, s.Sources()[0].Error == "", s.Sources()[0].Complete)
		})
	}
}

func TestSnapshotRestore(t *testing.T) {
	s := New()
	s.Apply(chunkResult("a", "f1", 0, 10, false), 1)
	s.Apply(chunkResult("a", "f1", 1, 3, true), 2)
	s.Apply(chunkResult("b", "f2", 130, 10, false), 3)
	r := chunkResult("b", "f2", 0, 2, false)
	r.Rejected, r.Rejects, r.Format = 1, map[string]uint64{"length": 1}, "zip"
	s.Apply(r, 4)
	s.Apply(&schema.Result{Source: "oct25pub.dat.gz", Fingerprint: "not-published", Year: 2025, Month: 10, Last: true, NotPublished: true}, 5)

	dirty := s.TakeDirty()
	require.Len(t, dirty, 3)
	require.Empty(t, s.TakeDirty(), "taken")

	restored := New()
	for _, g := range dirty {
		// Through the wire format, as a restart reads it.
		var back schema.GenerationState
		require.NoError(t, schema.DecodeGenerationState(schema.AppendGenerationState(nil, g), &back))
		restored.Restore(&back)
	}
	require.Equal(t, s.Sources(), restored.Sources())
	require.True(t, s.Totals().Equal(restored.Totals()))
	// Replayed results after the restore count nothing twice.
	require.Equal(t, Duplicate, restored.Apply(chunkResult("b", "f2", 130, 10, false), 5))
	require.Equal(t, Counted, restored.Apply(chunkResult("b", "f2", 1, 10, true), 6))

	s.MarkDirty(dirty[:1])
	require.Len(t, s.TakeDirty(), 1)
}

func TestStatus(t *testing.T) {
	s := New()
	s.Apply(chunkResult("loading", "f", 1, 10, true), 1)
	s.Apply(chunkResult("complete", "f", 0, 10, true), 1)
	s.Apply(truncated("failed", "f", 4), 1)
	s.Apply(&schema.Result{Source: "oct25pub.dat.gz", Fingerprint: "not-published", Year: 2025, Month: 10, Last: true, NotPublished: true}, 1)
	s.Apply(&schema.Result{Source: "mar96pub.zip", Fingerprint: "f", Year: 1996, Month: 3, Last: true, Records: 3, Rejected: 1, Format: "zip"}, 1)
	got := map[string][3]any{}
	for _, v := range s.Sources() {
		layout := ""
		if v.Layout != nil {
			layout = v.Layout.Name + " " + v.Layout.First + ".." + v.Layout.Last + " " + v.Weight + " " + v.Format
		}
		got[v.Source] = [3]any{v.Status, v.Complete, layout}
	}
	require.Equal(t, map[string][3]any{
		"loading":         {apiv1.StatusLoading, false, "cpsbjan2020 2020-01..2021-02 PWCMPWGT "},
		"complete":        {apiv1.StatusComplete, true, "cpsbjan2020 2020-01..2021-02 PWCMPWGT "},
		"failed":          {apiv1.StatusFailed, false, "cpsbjan2020 2020-01..2021-02 PWCMPWGT "},
		"oct25pub.dat.gz": {apiv1.StatusNotPublished, true, "cpsbjun2024 2024-06..2026-05 PWCMPWGT "},
		"mar96pub.zip":    {apiv1.StatusComplete, true, "cpsbsep95 1995-09..1997-12 PWSSWGT zip"},
	}, got)
	require.EqualValues(t, 2, s.Sources()[3].Counted, "mar96pub.zip: records - rejected")
}

func TestBitset(t *testing.T) {
	var b Bitset
	for _, i := range []uint32{0, 63, 64, 1000} {
		require.False(t, b.Has(i))
		b.Set(i)
		require.True(t, b.Has(i))
	}
	require.False(t, b.Has(1))
	require.False(t, b.Has(5000))
	require.True(t, b.Set(schema.MaxChunks-1))
	require.Len(t, b, schema.MaxChunks/64)
	for _, i := range []uint32{schema.MaxChunks, 1<<32 - 2, 1<<32 - 1} {
		require.False(t, b.Set(i))
		require.False(t, b.Has(i))
	}
	require.Len(t, b, schema.MaxChunks/64, "a refused number does not grow the set")
}

// A result whose chunk number is past the source's last chunk, or past
// schema.MaxChunks, counts nothing and allocates nothing.
func TestApplyOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first []*schema.Result
		r     *schema.Result
	}{
		{name: "near 2^32", r: chunkResult("a", "f", 1<<32-2, 10, false)},
		{name: "at MaxChunks", r: chunkResult("a", "f", schema.MaxChunks, 10, false)},
		{name: "past the last chunk", first: []*schema.Result{chunkResult("a", "f", 1, 10, true)}, r: chunkResult("a", "f", 2, 10, false)},
		{name: "far past the last chunk", first: []*schema.Result{chunkResult("a", "f", 1, 10, true)}, r: chunkResult("a", "f", 1<<19, 10, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for _, r := range tc.first {
				require.Equal(t, Counted, s.Apply(r, 1))
			}
			before := s.Totals().Records()
			version := s.Version()
			require.Equal(t, OutOfRange, s.Apply(tc.r, 2))
			require.Equal(t, before, s.Totals().Records())
			require.Equal(t, version, s.Version())
			for _, src := range s.sources {
				for _, g := range src.Generations {
					require.LessOrEqual(t, len(g.Seen), 1, "bitset of %d words", len(g.Seen))
				}
			}
		})
	}
}

// benchResult is the result of a 500-record chunk of generated records, as
// a computer produces it.
func benchResult(b *testing.B, source string, month int) *schema.Result {
	var file bytes.Buffer
	if _, err := censusgen.Generate(&file, censusgen.Options{Year: 2020, Month: month, Records: 500, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	r := &schema.Result{Source: source, Fingerprint: "size:1", Year: 2020, Month: month, Records: 500,
		Rejects: map[string]uint64{}, Tally: tally.New()}
	sc := census.NewScanner(&file)
	var rec census.Record
	for sc.Scan() {
		if err := sc.Parse(&rec); err != nil {
			b.Fatal(err)
		}
		r.Tally.Add(&rec)
	}
	return r
}

// Apply merges one chunk's aggregate, whose size does not depend on the
// records in the chunk: no allocation per record, and none per chunk either
// but the seen-set's occasional growth.
func BenchmarkApply(b *testing.B) {
	r := benchResult(b, "jan20pub.dat.gz", 1)
	s := New()
	b.ReportAllocs()
	for b.Loop() {
		if s.Apply(r, 1) != Counted {
			b.Fatal("not counted")
		}
		r.Seq++
	}
	b.ReportMetric(float64(b.N)*float64(r.Records)/b.Elapsed().Seconds(), "records/s")
}

// Totals over a year of sources: cached between chunks, and recomputed
// (one merge per source) after each new chunk.
func BenchmarkTotals(b *testing.B) {
	s := New()
	results := make([]*schema.Result, 12)
	for m := range results {
		results[m] = benchResult(b, census.FileName(2020, m+1), m+1)
		for range 300 {
			s.Apply(results[m], 1)
			results[m].Seq++
		}
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s.Totals() == nil {
				b.Fatal("no totals")
			}
		}
	})
	b.Run("after-apply", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r := results[i%12]
			s.Apply(r, 1)
			r.Seq++
			if s.Totals() == nil {
				b.Fatal("no totals")
			}
		}
	})
}
