package schema

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// randomTally tabulates n random records over two periods.
func randomTally(seed uint64, n int) *tally.Tally {
	r := rand.New(rand.NewPCG(seed, 1))
	t := tally.New()
	for range n {
		rec := census.Record{
			HRYEAR4: 2020, HRMONTH: int16(1 + r.IntN(2)), HEHOUSUT: int16(r.IntN(14) - 1),
			GESTFIPS: int16([]int{1, 6, 11, 36, 56}[r.IntN(5)]), PRTAGE: int16(r.IntN(86)),
			PEMLR: int16(r.IntN(9) - 1), LaborForceWeight: r.Int64N(50_000_000),
		}
		rec.PESEX = rec.PRTAGE % 3 // 0 too; no draw, so the records stay those of testdata/v1
		t.Add(&rec)
	}
	return t
}

func TestTallyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *tally.Tally
	}{
		{name: "empty", in: tally.New()},
		{name: "random", in: randomTally(7, 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tally.New()
			require.NoError(t, DecodeTally(AppendTally(nil, tc.in), out))
			require.True(t, tc.in.Equal(out))
		})
	}
}

func TestTallySexAgeMalformed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sex, group uint32
		wantErr    string
	}{
		{name: "sex", sex: 3, group: 0, wantErr: "sex 3"},
		{name: "age group", sex: 1, group: 5, wantErr: "age group 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb := &schemapb.Tally{Months: []*schemapb.Month{{Year: 2020, Month: 1,
				SexAge: []*schemapb.SexAge{{Sex: tc.sex, AgeGroup: tc.group, Employed: 1}}}}}
			b, err := pb.MarshalVT()
			require.NoError(t, err)
			err = DecodeTally(b, tally.New())
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestResultRoundTrip(t *testing.T) {
	in := Result{Source: "jan20pub.dat.gz", Fingerprint: "size:1", Year: 2020, Month: 1, Seq: 3, Last: true, Error: "gzip: unexpected EOF",
		Records: 500, Rejected: 2, Rejects: map[string]uint64{"length": 1, "field:PEMLR": 1}, Tally: randomTally(1, 498), Format: "zip",
		Tabulations: []Tabulation{TabulationHousing, TabulationLaborForce, 7}}
	var out Result
	require.NoError(t, DecodeResult(AppendResult(nil, &in), &out))
	require.True(t, in.Tally.Equal(out.Tally))
	in.Tally, out.Tally = nil, nil
	require.Equal(t, in, out)
}

// TestNotPublishedRoundTrip: a month the site does not have travels from
// chunk to result to state.
func TestNotPublishedRoundTrip(t *testing.T) {
	var c Chunk
	require.NoError(t, DecodeChunk(AppendChunk(nil, &Chunk{Source: "oct25pub.dat.gz", Year: 2025, Month: 10, Last: true, NotPublished: true}), &c))
	require.True(t, c.NotPublished)
	var r Result
	require.NoError(t, DecodeResult(AppendResult(nil, &Result{Source: c.Source, Last: true, NotPublished: true}), &r))
	require.True(t, r.NotPublished)
	var g GenerationState
	require.NoError(t, DecodeGenerationState(AppendGenerationState(nil, &GenerationState{Source: c.Source, NotPublished: true}), &g))
	require.True(t, g.NotPublished)
}

func TestGenerationStateRoundTrip(t *testing.T) {
	in := GenerationState{Source: "feb20pub.dat.gz", Fingerprint: "size:9,etag:x", Year: 2020, Month: 2, Seen: []uint64{^uint64(0), 5},
		Chunks: 66, Total: -1, Records: 33000, Rejected: 1, Rejects: map[string]uint64{"length": 1}, Error: "", LastSeen: 1700000000000,
		Tally: randomTally(2, 100), Format: "gzip", Lacking: map[Tabulation]uint32{TabulationLaborForce: 3}}
	var out GenerationState
	require.NoError(t, DecodeGenerationState(AppendGenerationState(nil, &in), &out))
	require.True(t, in.Tally.Equal(out.Tally))
	in.Tally, out.Tally = nil, nil
	require.Equal(t, in, out)

	key := GenerationKey(SourceKey{Source: "feb20pub.dat.gz", Fingerprint: "size:9"})
	kind, rest := ParseSnapshotKey(key)
	require.Equal(t, KeyGenerationPrefix, kind)
	require.Equal(t, "feb20pub.dat.gz/size:9", rest)
}

func TestOffsetsRoundTrip(t *testing.T) {
	in := Offsets{Topic: "results", Offsets: map[int32]int64{0: 17, 1: 0, 5: 123456789}}
	var out Offsets
	require.NoError(t, DecodeOffsets(AppendOffsets(nil, &in), &out))
	require.Equal(t, in, out)
	kind, rest := ParseSnapshotKey(OffsetsKey("results"))
	require.Equal(t, KeyOffsetsPrefix, kind)
	require.Equal(t, "results", rest)
}

func BenchmarkAppendResult(b *testing.B) {
	r := Result{Source: "jan20pub.dat.gz", Fingerprint: "size:1", Year: 2020, Month: 1, Seq: 3, Records: 500, Tally: randomTally(1, 500)}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResult(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeResult(b *testing.B) {
	buf := AppendResult(nil, &Result{Source: "jan20pub.dat.gz", Fingerprint: "size:1", Year: 2020, Month: 1, Seq: 3, Records: 500, Tally: randomTally(1, 500)})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var r Result
	for b.Loop() {
		if err := DecodeResult(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResultTabulations: a result says which tabulations it carries; one
// without the list, from a computer before it, carries the released ones.
func TestResultTabulations(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []Tabulation
		want []Tabulation
		err  error
	}{
		{"before the list", nil, []Tabulation{TabulationHousing, TabulationLaborForce}, nil},
		{"one", []Tabulation{TabulationHousing}, []Tabulation{TabulationHousing}, nil},
		{"unknown to this build, kept", []Tabulation{9, TabulationHousing, 9}, []Tabulation{TabulationHousing, 9}, nil},
		{"unspecified", []Tabulation{0}, nil, ErrMalformed},
		{"too many", make([]Tabulation, MaxTabulations+1), nil, ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out Result
			err := DecodeResult(AppendResult(nil, &Result{Source: "s", Tabulations: tc.in}), &out)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out.Tabulations)
		})
	}
}
