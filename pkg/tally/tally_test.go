package tally

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// person is a record with the fields the tally reads; the weights it does
// not read differ from the one it does.
func person(year, month, housing, fips, age, pemlr int, weight int64) census.Record {
	return census.Record{
		HRYEAR4: int16(year), HRMONTH: int16(month), HEHOUSUT: int16(housing), GESTFIPS: int16(fips),
		PRTAGE: int16(age), PEMLR: int16(pemlr), LaborForceWeight: weight, PWCMPWGT: weight + 3, PWSSWGT: weight + 1, PWLGWGT: weight + 2,
	}
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records []census.Record
		check   func(t *testing.T, tl *Tally)
	}{
		{
			name:    "employed adult",
			records: []census.Record{person(2020, 1, 1, 6, 30, 1, 20_000_000)},
			check: func(t *testing.T, tl *Tally) {
				m := tl.Month(2020, 1)
				require.EqualValues(t, 1, m.Records)
				require.EqualValues(t, 1, m.Housing[1])
				require.Equal(t, Labor{Employed: 1, EmployedWeight: 20_000_000}, m.State(6))
			},
		},
		{
			name: "every PEMLR code",
			records: []census.Record{
				person(2020, 1, 1, 1, 40, 1, 10), person(2020, 1, 1, 1, 40, 2, 20),
				person(2020, 1, 1, 1, 40, 3, 300), person(2020, 1, 1, 1, 40, 4, 400),
				person(2020, 1, 1, 1, 70, 5, 5000), person(2020, 1, 1, 1, 40, 6, 6000), person(2020, 1, 1, 1, 17, 7, 7000),
				person(2020, 1, 1, 1, 40, -1, 99), // armed forces: not in universe
			},
			check: func(t *testing.T, tl *Tally) {
				m := tl.Month(2020, 1)
				require.EqualValues(t, 8, m.Records)
				require.Equal(t, Labor{
					Employed: 2, Unemployed: 2, NotInLaborForce: 3,
					EmployedWeight: 30, UnemployedWeight: 700, NotInLaborForceWeight: 18000,
				}, m.State(1))
			},
		},
		{
			name: "under 16 counts in records and housing only",
			records: []census.Record{
				person(2020, 1, 5, 1, 15, 4, 10), // 15-year-olds have a PEMLR, but BLS counts from 16
				person(2020, 1, 6, 1, 3, -1, 0),
			},
			check: func(t *testing.T, tl *Tally) {
				m := tl.Month(2020, 1)
				require.EqualValues(t, 2, m.Records)
				require.EqualValues(t, 1, m.Housing[5])
				require.EqualValues(t, 1, m.Housing[6])
				require.True(t, m.National().IsZero())
			},
		},
		{
			name:    "aged 16 counts",
			records: []census.Record{person(2020, 1, 1, 1, 16, 4, 10)},
			check: func(t *testing.T, tl *Tally) {
				require.EqualValues(t, 1, tl.Month(2020, 1).National().Unemployed)
			},
		},
		{
			name:    "housing not in universe",
			records: []census.Record{person(2020, 1, -1, 1, 40, 1, 10), person(2020, 1, 0, 1, 40, 1, 10)},
			check: func(t *testing.T, tl *Tally) {
				m := tl.Month(2020, 1)
				require.EqualValues(t, 1, m.HousingOther)
				require.EqualValues(t, 1, m.HousingCount(-1))
				require.EqualValues(t, 1, m.HousingCount(0))
				require.Zero(t, m.HousingCount(13))
			},
		},
		{
			name:    "state code out of range goes to entry 0",
			records: []census.Record{person(2020, 1, 1, 99, 40, 1, 10)},
			check: func(t *testing.T, tl *Tally) {
				require.EqualValues(t, 1, tl.Month(2020, 1).State(0).Employed)
				require.Equal(t, Labor{}, tl.Month(2020, 1).State(99))
			},
		},
		{
			name: "sex and age group",
			records: []census.Record{
				withSex(person(2020, 1, 1, 6, 16, 1, 10), 1), withSex(person(2020, 1, 1, 6, 19, 3, 20), 1),
				withSex(person(2020, 1, 1, 36, 20, 5, 30), 2), withSex(person(2020, 1, 1, 6, 54, 1, 40), 2),
				withSex(person(2020, 1, 1, 6, 55, 1, 50), 1), withSex(person(2020, 1, 1, 6, 85, 6, 60), 2),
				withSex(person(2020, 1, 1, 6, 40, 1, 70), -1), withSex(person(2020, 1, 1, 6, 15, 1, 80), 1),
			},
			check: func(t *testing.T, tl *Tally) {
				m := tl.Month(2020, 1)
				require.Equal(t, Labor{Employed: 1, Unemployed: 1, EmployedWeight: 10, UnemployedWeight: 20}, m.BySexAge(1, census.Age16To19))
				require.Equal(t, Labor{NotInLaborForce: 1, NotInLaborForceWeight: 30}, m.BySexAge(2, census.Age20To24))
				require.Equal(t, Labor{Employed: 1, EmployedWeight: 40}, m.BySexAge(2, census.Age25To54))
				require.Equal(t, Labor{Employed: 1, EmployedWeight: 50}, m.BySexAge(1, census.Age55To64))
				require.Equal(t, Labor{NotInLaborForce: 1, NotInLaborForceWeight: 60}, m.BySexAge(2, census.Age65AndOver))
				require.Equal(t, Labor{Employed: 1, EmployedWeight: 70}, m.BySexAge(0, census.Age25To54), "PESEX -1 goes to entry 0")
				require.Equal(t, Labor{}, m.BySexAge(3, census.Age25To54))
				require.Equal(t, Labor{}, m.BySexAge(1, census.NumAgeGroups))
				require.Equal(t, m.National(), sexAgeSum(m), "the same persons as the states")
			},
		},
		{
			name: "periods apart",
			records: []census.Record{
				person(2020, 2, 1, 1, 40, 1, 10), person(2019, 12, 1, 1, 40, 1, 10), person(2020, 2, 1, 1, 40, 1, 10),
				person(2020, 1, 1, 1, 40, 1, 10),
			},
			check: func(t *testing.T, tl *Tally) {
				require.Equal(t, []Period{{2019, 12}, {2020, 1}, {2020, 2}}, tl.Periods())
				require.Equal(t, 3, tl.Len())
				require.EqualValues(t, 2, tl.Month(2020, 2).Records)
				require.EqualValues(t, 4, tl.Records())
				require.Nil(t, tl.Month(2020, 3))
				y, ok := tl.Year(2020)
				require.True(t, ok)
				require.EqualValues(t, 3, y.Records)
				_, ok = tl.Year(2018)
				require.False(t, ok)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl Tally // the zero value is ready to use
			for i := range tc.records {
				tl.Add(&tc.records[i])
			}
			tc.check(t, &tl)
		})
	}
}

func withSex(r census.Record, sex int) census.Record {
	r.PESEX = int16(sex)
	return r
}

// sexAgeSum is the labor force of every sex and age group together.
func sexAgeSum(m *Month) Labor {
	var l Labor
	for sex := range m.SexAge {
		for g := range m.SexAge[sex] {
			l.Add(&m.SexAge[sex][g])
		}
	}
	return l
}

func TestSexAgeCountsTheStatesPersons(t *testing.T) {
	for p, m := range tallyOf(randomRecords(8, 5000)).All() {
		require.Equal(t, m.National(), sexAgeSum(m), "%v", p)
		require.False(t, m.BySexAge(2, census.Age25To54).IsZero(), "%v", p)
	}
}

func TestRealRecords(t *testing.T) {
	b, err := os.ReadFile("../census/testdata/real-2020.dat")
	require.NoError(t, err)
	tl := New()
	sc := census.NewScanner(bytes.NewReader(b))
	var r census.Record
	for sc.Scan() {
		require.NoError(t, sc.Parse(&r))
		tl.Add(&r)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, []Period{{2020, 1}, {2020, 4}}, tl.Periods())
	require.Equal(t, Labor{NotInLaborForce: 1, NotInLaborForceWeight: 17347552}, tl.Month(2020, 1).State(1))
	require.Equal(t, Labor{Employed: 1, EmployedWeight: 17395013}, tl.Month(2020, 4).State(1))
	require.InDelta(t, 1739.5013, Weight(tl.Month(2020, 4).National().EmployedWeight), 1e-9)
}

func TestUnemploymentRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Labor
		want float64
	}{
		{name: "empty", want: 0},
		{name: "weighted, not counted", l: Labor{Employed: 1, Unemployed: 9, EmployedWeight: 96_0000, UnemployedWeight: 4_0000}, want: 0.04},
		{name: "NILF does not count", l: Labor{Employed: 1, Unemployed: 1, NotInLaborForce: 5, EmployedWeight: 1, UnemployedWeight: 1, NotInLaborForceWeight: 100}, want: 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, tc.l.UnemploymentRate(), 1e-12)
		})
	}
	tl := New()
	for _, r := range []census.Record{person(2020, 4, 1, 6, 30, 1, 856_0000), person(2020, 4, 1, 36, 30, 4, 144_0000)} {
		tl.Add(&r)
	}
	rate, ok := tl.UnemploymentRate(2020, 4)
	require.True(t, ok)
	require.InDelta(t, 0.144, rate, 1e-12)
	_, ok = tl.UnemploymentRate(2020, 5)
	require.False(t, ok)
}

// randomRecords returns n records spread over a few periods, states and
// codes, with weights of real magnitude.
func randomRecords(seed uint64, n int) []census.Record {
	rng := rand.New(rand.NewPCG(seed, 0))
	rs := make([]census.Record, n)
	for i := range rs {
		rs[i] = person(2019+rng.IntN(2), 1+rng.IntN(3), rng.IntN(14)-1, census.States()[rng.IntN(51)],
			rng.IntN(86), rng.IntN(9)-1, 10_000_000+rng.Int64N(40_000_000))
		rs[i].PESEX = int16(rng.IntN(4) - 1)
	}
	return rs
}

func tallyOf(rs []census.Record) *Tally {
	t := New()
	for i := range rs {
		t.Add(&rs[i])
	}
	return t
}

func TestMergeIsExactAndOrderIndependent(t *testing.T) {
	rs := randomRecords(1, 20_000)
	whole := tallyOf(rs)
	for _, chunk := range []int{1, 7, 1000, 20_000} {
		var parts []*Tally
		for i := 0; i < len(rs); i += chunk {
			parts = append(parts, tallyOf(rs[i:min(i+chunk, len(rs))]))
		}
		rand.New(rand.NewPCG(uint64(chunk), 0)).Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		merged := New()
		for _, p := range parts {
			merged.Merge(p)
		}
		require.True(t, whole.Equal(merged), "chunks of %d", chunk)
	}
	// Reversed records give the same tally.
	rev := make([]census.Record, len(rs))
	for i := range rs {
		rev[len(rs)-1-i] = rs[i]
	}
	require.True(t, whole.Equal(tallyOf(rev)))
}

func TestEqual(t *testing.T) {
	a := tallyOf(randomRecords(2, 100))
	b := a.Clone()
	require.True(t, a.Equal(b))
	r := person(2020, 1, 1, 1, 40, 1, 1)
	b.Add(&r)
	require.False(t, a.Equal(b))
	require.False(t, b.Equal(a))

	empty := New()
	empty.AddMonth(Period{2020, 1}, &Month{}) // an empty period is no period
	require.True(t, empty.Equal(New()))
	require.True(t, New().Equal(nil))
	require.True(t, (*Tally)(nil).Equal(empty))
	require.False(t, (*Tally)(nil).Equal(a))
	require.True(t, empty.IsZero())

	// Merging does not alias: changing the source afterwards changes nothing.
	c := New()
	c.Merge(a)
	a.Add(&r)
	require.False(t, a.Equal(c))
	c.Merge(nil)
}

func TestAll(t *testing.T) {
	tl := tallyOf(randomRecords(3, 1000))
	var got []Period
	for p, m := range tl.All() {
		require.Same(t, tl.Month(p.Year, p.Month), m)
		got = append(got, p)
		if len(got) == 2 {
			break
		}
	}
	require.Equal(t, tl.Periods()[:2], got)
	require.Equal(t, "2020-03", Period{2020, 3}.String())
}

func TestJSONGolden(t *testing.T) {
	tl := New()
	for _, r := range []census.Record{
		withSex(person(2020, 1, 1, 1, 69, 5, 17347552), 2),
		withSex(person(2020, 1, 1, 1, 40, 1, 17000000), 1),
		withSex(person(2020, 1, 5, 6, 35, 4, 30000000), 2),
		withSex(person(2020, 1, 6, 6, 8, -1, 0), 1),
		withSex(person(2020, 1, -1, 56, 50, 2, 4000000), 2),
		withSex(person(2019, 12, 1, 11, 25, 3, 12345678), 1),
	} {
		tl.Add(&r)
	}
	got, err := json.MarshalIndent(tl, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	golden := filepath.Join("testdata", "tally.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))

	var back Tally
	require.NoError(t, json.Unmarshal(got, &back))
	require.True(t, tl.Equal(&back))
}

func TestJSONRoundTrip(t *testing.T) {
	tl := tallyOf(randomRecords(4, 5000))
	b, err := json.Marshal(tl)
	require.NoError(t, err)
	back := New()
	require.NoError(t, json.Unmarshal(b, back))
	require.True(t, tl.Equal(back))

	b, err = json.Marshal(New())
	require.NoError(t, err)
	require.JSONEq(t, `{"weight_scale": 10000, "periods": []}`, string(b))
}

func TestFromDocErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, wantErr string
	}{
		{"weight scale", `{"weight_scale": 100, "periods": []}`, "decode tally: weight_scale 100: want 10000"},
		{"month", `{"periods": [{"year": 2020, "month": 13}]}`, "decode tally: period 2020-13: month 13 is not 1-12"},
		{"housing code", `{"periods": [{"year": 2020, "month": 1, "housing": [{"code": 13, "count": 1}]}]}`, "decode tally: period 2020-01: housing code 13 is not -1..12"},
		{"state", `{"periods": [{"year": 2020, "month": 1, "states": [{"fips": 57}]}]}`, "decode tally: period 2020-01: state fips 57 is not 0..56"},
		{"sex", `{"periods": [{"year": 2020, "month": 1, "sex_age": [{"sex": 3, "age_group": "16-19"}]}]}`, "decode tally: period 2020-01: sex 3 is not 0..2"},
		{"age group", `{"periods": [{"year": 2020, "month": 1, "sex_age": [{"sex": 1, "age_group": "15"}]}]}`, "decode tally: period 2020-01: age group \"15\" is not one of"},
		{"syntax", `{"periods": [}`, "invalid character"},
		{"type", `{"periods": 1}`, "decode tally: json: cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl Tally
			require.ErrorContains(t, json.Unmarshal([]byte(tc.doc), &tl), tc.wantErr)
		})
	}
}

func TestRejects(t *testing.T) {
	a := Rejects{}
	a.Add("length", 2)
	a.Add("field:PEMLR", 1)
	b := Rejects{"length": 1, "field:GESTFIPS": 0}
	a.Merge(b)
	require.Equal(t, Rejects{"length": 3, "field:PEMLR": 1, "field:GESTFIPS": 0}, a)
	require.EqualValues(t, 4, a.Total())
	require.True(t, a.Equal(Rejects{"length": 3, "field:PEMLR": 1}))
	require.False(t, a.Equal(Rejects{"length": 3}))
	require.True(t, Rejects(nil).Equal(Rejects{"x": 0}))
	var plain map[string]uint64 = a // the wire and state types are plain maps
	require.Len(t, plain, 3)
}

func TestAddAllocs(t *testing.T) {
	rs := randomRecords(5, 1000)
	tl := tallyOf(rs) // every period seen
	i := 0
	allocs := testing.AllocsPerRun(10_000, func() {
		tl.Add(&rs[i%len(rs)])
		i++
	})
	require.Zero(t, allocs)
}

func BenchmarkAdd(b *testing.B) {
	rs := randomRecords(6, 4096)
	for i := range rs { // one file: one period
		rs[i].HRYEAR4, rs[i].HRMONTH = 2020, 1
	}
	tl := New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tl.Add(&rs[i&4095])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkMerge(b *testing.B) {
	src := tallyOf(randomRecords(7, 10_000)) // 6 periods
	dst := New()
	dst.Merge(src)
	b.ReportAllocs()
	for b.Loop() {
		dst.Merge(src)
	}
}
