package censusgen

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func generate(t testing.TB, opts Options) ([]byte, *Expected) {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow((opts.Records + len(opts.Bad)) * (census.RecordLen + 2))
	exp, err := Generate(&buf, opts)
	require.NoError(t, err)
	return buf.Bytes(), exp
}

// reparse reads a generated file back as the pipeline would.
func reparse(t testing.TB, r io.Reader) (*tally.Tally, tally.Rejects, []census.Record) {
	t.Helper()
	tl, rejects := tally.New(), tally.Rejects{}
	var recs []census.Record
	sc := census.NewScanner(r)
	for sc.Scan() {
		var rec census.Record
		if err := sc.Parse(&rec); err != nil {
			rejects.Add(census.Reason(err), 1)
			continue
		}
		tl.Add(&rec)
		recs = append(recs, rec)
	}
	require.NoError(t, sc.Err())
	return tl, rejects, recs
}

func TestTemplatesAreTheRealRecords(t *testing.T) {
	real, err := os.ReadFile("../census/testdata/real-2020.dat")
	require.NoError(t, err)
	require.Equal(t, string(real), templateNotEmployed+"\r\n"+templateEmployed+"\r\n")
}

func TestDeterministic(t *testing.T) {
	opts := Options{Year: 2020, Month: 1, Records: 3000, Seed: 1}
	gz := func(o Options) []byte {
		var buf bytes.Buffer
		_, err := GenerateGzip(&buf, o)
		require.NoError(t, err)
		return buf.Bytes()
	}
	a, expA := generate(t, opts)
	b, expB := generate(t, opts)
	require.Equal(t, a, b)
	require.True(t, expA.Tally.Equal(expB.Tally))
	require.Equal(t, gz(opts), gz(opts))

	for _, other := range []Options{
		{Year: 2020, Month: 1, Records: 3000, Seed: 2},
		{Year: 2020, Month: 2, Records: 3000, Seed: 1},
		{Year: 2019, Month: 1, Records: 3000, Seed: 1},
	} {
		c, expC := generate(t, other)
		require.NotEqual(t, a, c, "%+v", other)
		require.False(t, expA.Tally.Equal(expC.Tally), "%+v", other)
	}
	// A file's first records do not depend on how many follow.
	short, _ := generate(t, Options{Year: 2020, Month: 1, Records: 1000, Seed: 1})
	require.Equal(t, short, a[:len(short)])
}

func TestEveryLineParses(t *testing.T) {
	data, exp := generate(t, Options{Year: 2021, Month: 7, Records: 20_000, Seed: 7})
	lines := bytes.SplitAfter(data, []byte("\n"))
	require.Empty(t, lines[len(lines)-1])
	lines = lines[:len(lines)-1]
	require.Len(t, lines, 20_000)
	var rec census.Record
	for i, line := range lines {
		require.Len(t, line, census.RecordLen+2, "line %d", i+1)
		require.True(t, bytes.HasSuffix(line, []byte("\r\n")), "line %d", i+1)
		require.NotContains(t, string(line[:census.RecordLen]), "\r", "line %d", i+1)
		require.NoError(t, census.Parse(line, i+1, &rec))
		require.EqualValues(t, 2021, rec.HRYEAR4)
		require.EqualValues(t, 7, rec.HRMONTH)
	}
	tl, rejects, _ := reparse(t, bytes.NewReader(data))
	require.Empty(t, rejects)
	require.True(t, exp.Tally.Equal(tl))
	require.EqualValues(t, 20_000, exp.Records)
	require.EqualValues(t, 20_000, exp.Lines)
	require.Zero(t, exp.Rejected)
}

func TestDistributions(t *testing.T) {
	if testing.Short() {
		t.Skip("150,000 records")
	}
	// Streamed through a pipe: the file is 150 MB.
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the generator if reading stops early
	var exp *Expected
	done := make(chan error, 1)
	go func() {
		var err error
		exp, err = Generate(pw, Options{Year: 2020, Month: 1, Records: 150_000, Seed: 1})
		pw.CloseWithError(err)
		done <- err
	}()
	_, _, recs := reparse(t, pr)
	require.NoError(t, <-done)
	require.Len(t, recs, 150_000)
	m := exp.Tally.Month(2020, 1)
	require.NotNil(t, m)
	national := m.National()

	t.Run("unemployment rate is a few percent", func(t *testing.T) {
		rate := national.UnemploymentRate()
		require.Greater(t, rate, 0.02)
		require.Less(t, rate, 0.10)
		// About 62% of persons 16+ are in the labor force.
		lf := float64(national.LaborForce()) / float64(national.LaborForce()+national.NotInLaborForce)
		require.InDelta(t, 0.62, lf, 0.06)
	})
	t.Run("houses and flats are the majority, mobile homes a few percent", func(t *testing.T) {
		require.Greater(t, m.Housing[1], m.Records/2)
		mobile := float64(m.Housing[5]+m.Housing[6]) / float64(m.Records)
		require.InDelta(t, 0.055, mobile, 0.02)
		for code := range census.MaxHousing + 1 {
			require.NotZero(t, m.Housing[code], "HEHOUSUT %d", code)
		}
	})
	t.Run("every state and DC", func(t *testing.T) {
		seen := map[int]int{}
		for _, r := range recs {
			seen[int(r.GESTFIPS)]++
		}
		require.Len(t, seen, 51)
		require.Greater(t, seen[6], seen[56]*10, "California has far more records than Wyoming")
		for _, fips := range census.States() {
			require.NotZero(t, m.State(fips).LaborForce(), census.StateName(fips))
		}
	})
	t.Run("ages, children and person types", func(t *testing.T) {
		var children, topCoded, af int
		for i, r := range recs {
			// Plain checks: require is slow over 150,000 records.
			bad := r.PRTAGE < 0 || r.PRTAGE > 85 || (r.PRTAGE > 80 && r.PRTAGE < 85) || (r.PESEX != 1 && r.PESEX != 2)
			switch {
			case r.PRTAGE < 15:
				children++
				bad = bad || r.PRPERTYP != 1 || r.PEMLR != -1 || r.PWLGWGT != 0 || r.PWCMPWGT != 0
			case r.PRPERTYP == 3:
				af++
				bad = bad || r.PEMLR != -1
			default:
				bad = bad || r.PRPERTYP != 2 || r.PEMLR < 1 || r.PEMLR > 7
			}
			if bad {
				t.Fatalf("record %d: implausible person %+v", i+1, r)
			}
			if r.PRTAGE == 85 {
				topCoded++
			}
		}
		require.InDelta(t, 0.17, float64(children)/float64(len(recs)), 0.06)
		require.NotZero(t, topCoded)
		require.NotZero(t, af)
	})
	t.Run("weights of real magnitude", func(t *testing.T) {
		for i, r := range recs {
			if r.PWSSWGT < 1_000_000 || r.PWSSWGT > 99_990_000 {
				t.Fatalf("record %d: PWSSWGT %d", i+1, r.PWSSWGT)
			}
		}
		mean := tally.Weight(national.EmployedWeight) / float64(national.Employed)
		require.True(t, mean > 1000 && mean < 5000, "mean composite weight %.1f", mean)
		// The weighted population 16+ is that of the United States.
		pop := tally.Weight(national.EmployedWeight + national.UnemployedWeight + national.NotInLaborForceWeight)
		require.InDelta(t, 260e6, pop, 40e6)
	})
	t.Run("households share HRHHID and a household's items", func(t *testing.T) {
		households := 0
		for i, r := range recs {
			if i == 0 || r.HRHHID != recs[i-1].HRHHID {
				households++
				continue
			}
			if prev := recs[i-1]; prev.GESTFIPS != r.GESTFIPS || prev.HEHOUSUT != r.HEHOUSUT || prev.HETENURE != r.HETENURE {
				t.Fatalf("record %d: household items differ from the previous record's", i+1)
			}
		}
		size := float64(len(recs)) / float64(households)
		require.InDelta(t, 2.5, size, 0.3)
	})
	t.Run("tenure is mostly not in universe", func(t *testing.T) {
		counts := map[int16]int{}
		for _, r := range recs {
			counts[r.HETENURE]++
		}
		require.Greater(t, counts[-1], len(recs)/2)
		require.Greater(t, counts[1], counts[2])
		require.NotZero(t, counts[3])
	})
}

func TestMonthsAndStatesDiffer(t *testing.T) {
	rates := map[float64]bool{}
	for month := 1; month <= 12; month++ {
		rates[periodRate(2020, month)] = true
		require.InDelta(t, 0.0425, periodRate(2020, month), 0.0075)
	}
	require.Len(t, rates, 12)
	require.NotEqual(t, states.factor[6], states.factor[48])

	_, exp := generate(t, Options{Year: 2020, Month: 4, Records: 30_000, Seed: 1, UnemploymentRate: 0.144})
	rate, ok := exp.Tally.UnemploymentRate(2020, 4)
	require.True(t, ok)
	require.InDelta(t, 0.144, rate, 0.03)
}

func TestBadRecords(t *testing.T) {
	opts := Options{Year: 2020, Month: 2, Records: 1000, Seed: 3}
	clean, cleanExp := generate(t, opts)
	opts.Bad = []Bad{{Line: 1003, Kind: BadPEMLR}, {Line: 1, Kind: Short}, {Line: 500, Kind: Long}}
	data, exp := generate(t, opts)

	require.EqualValues(t, 1003, exp.Lines)
	require.EqualValues(t, 1000, exp.Records)
	require.EqualValues(t, 3, exp.Rejected)
	require.Equal(t, tally.Rejects{"length": 2, "field:PEMLR": 1}, exp.Rejects)
	// The good records are the ones of the clean file.
	require.True(t, cleanExp.Tally.Equal(exp.Tally))

	tl, rejects, _ := reparse(t, bytes.NewReader(data))
	require.True(t, exp.Tally.Equal(tl))
	require.Equal(t, exp.Rejects, rejects)

	var good [][]byte
	sc := census.NewScanner(bytes.NewReader(data))
	var rec census.Record
	for sc.Scan() {
		err := sc.Parse(&rec)
		switch sc.Line() {
		case 1, 500:
			require.ErrorIs(t, err, census.ErrLength)
		case 1003:
			require.ErrorIs(t, err, census.ErrNotNumber)
			require.EqualError(t, err, `line 1003: field PEMLR (cols 180-181): "x1" is not a number`)
		default:
			require.NoError(t, err)
			good = append(good, append(bytes.Clone(sc.Bytes()), "\r\n"...))
		}
	}
	require.Equal(t, clean, bytes.Join(good, nil))
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"year", Options{Year: 1993, Month: 1}, "generate jan93pub.dat.gz: year 1993: want 1994-2093"},
		{"month", Options{Year: 2020, Month: 13}, "month 13: want 1-12"},
		{"records", Options{Year: 2020, Month: 1, Records: -1}, "records -1: want 0 or more"},
		{"rate", Options{Year: 2020, Month: 1, UnemploymentRate: 0.7}, "unemployment rate 0.7"},
		{"bad line past the end", Options{Year: 2020, Month: 1, Records: 2, Bad: []Bad{{Line: 4, Kind: Short}}}, "bad line 4: want 1-3"},
		{"bad line twice", Options{Year: 2020, Month: 1, Records: 2, Bad: []Bad{{Line: 1, Kind: Short}, {Line: 1, Kind: Long}}}, "bad line 1: given twice"},
		{"bad kind", Options{Year: 2020, Month: 1, Records: 2, Bad: []Bad{{Line: 1}}}, "bad line 1: unknown kind 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(io.Discard, tc.opts)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	data, exp := generate(t, Options{Year: 2020, Month: 1})
	require.Empty(t, data)
	require.True(t, exp.Tally.IsZero())
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Year: 2020, Month: 3, Records: 5000, Seed: 9, Bad: []Bad{{Line: 10, Kind: BadPEMLR}}}
	path, exp, err := WriteFile(dir, opts)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "mar20pub.dat.gz"), path)
	require.Equal(t, "mar20pub.dat.gz", exp.File)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tl, rejects, _ := reparse(t, zr)
	require.True(t, exp.Tally.Equal(tl))
	require.Equal(t, exp.Rejects, rejects)

	epath, err := WriteExpected(dir, exp)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "mar20pub.expected.json"), epath)
	back, err := ReadExpected(epath)
	require.NoError(t, err)
	require.True(t, exp.Tally.Equal(back.Tally))
	back.Tally = exp.Tally
	require.Equal(t, exp, back)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary files left behind")

	_, _, err = WriteFile(filepath.Join(dir, "missing"), opts)
	require.ErrorContains(t, err, "missing")
	_, err = ReadExpected(filepath.Join(dir, "missing.json"))
	require.ErrorContains(t, err, "read expected tabulation")
}

func TestWriteZip(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Year: 1996, Month: 7, Records: 3000, Seed: 3, Format: FormatZip}
	path, exp, err := WriteFile(dir, opts)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "jul96pub.zip"), path)
	require.Equal(t, "cpsbsep95", exp.Layout)
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 1)
	require.Equal(t, "jul96pub.dat", zr.File[0].Name)
	rc, err := zr.File[0].Open()
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	p, err := census.NewParser(1996, 7, census.RecordLen)
	require.NoError(t, err)
	tl := tally.New()
	var rec census.Record
	for i, line := range bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		require.NoError(t, p.Parse(line, i+1, &rec), "line %d", i+1)
		tl.Add(&rec)
	}
	require.True(t, exp.Tally.Equal(tl))

	again := t.TempDir()
	path2, _, err := WriteFile(again, opts)
	require.NoError(t, err)
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path2)
	require.Equal(t, a, b, "the same options write the same bytes")

	_, _, err = WriteFile(dir, Options{Year: 1996, Month: 7, Format: "bz2"})
	require.ErrorContains(t, err, `format "bz2": want gzip or zip`)
}

// TestExpectedGolden pins the JSON form of an expected tabulation, which
// end-to-end tests read.
func TestExpectedGolden(t *testing.T) {
	_, exp := generate(t, Options{Year: 2020, Month: 1, Records: 40, Seed: 1, Bad: []Bad{{Line: 2, Kind: Long}, {Line: 30, Kind: BadPEMLR}}})
	exp.File = census.FileName(2020, 1)
	dir := t.TempDir()
	path, err := WriteExpected(dir, exp)
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	golden := filepath.Join("testdata", "jan20pub-40.expected.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestFileNames(t *testing.T) {
	require.Equal(t, "jan20pub.dat.gz", census.FileName(2020, 1))
	require.Equal(t, "jan20pub.expected.json", ExpectedFileName(2020, 1))
	require.Equal(t, "dec99pub.expected.json", ExpectedFileName(1999, 12))
}

func TestParseBadKind(t *testing.T) {
	for _, k := range []BadKind{Short, Long, BadPEMLR} {
		got, err := ParseBadKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := ParseBadKind("odd")
	require.EqualError(t, err, `bad line kind "odd": want short, long or bad-pemlr`)
	require.Equal(t, "BadKind(9)", BadKind(9).String())
}

func TestPut(t *testing.T) {
	for _, tc := range []struct {
		f    census.Field
		v    int64
		zero bool
		want string
	}{
		{census.PEMLR, -1, false, "-1"},
		{census.PEMLR, 4, false, " 4"},
		{census.PRTAGE, 85, false, "85"},
		{census.PWSSWGT, 17713809, false, "  17713809"},
		{census.PWLGWGT, 0, false, "         0"},
		{census.HETENURE, -3, false, "-3"},
		{census.GESTFIPS, 1, true, "01"},
		{census.HUFINAL, 1, true, "001"},
		{census.HRHHID, 4795110719, true, "000004795110719"},
	} {
		line := []byte(strings.Repeat("?", census.RecordLen))
		if tc.zero {
			putZeroPadded(line, tc.f, uint64(tc.v))
		} else {
			putInt(line, tc.f, tc.v)
		}
		require.Equal(t, tc.want, string(tc.f.Bytes(line)), "%s %d", tc.f, tc.v)
		require.Equal(t, strings.Repeat("?", tc.f.Start()-1), string(line[:tc.f.Start()-1]), "writes before %s", tc.f)
		require.Equal(t, strings.Repeat("?", census.RecordLen-tc.f.End()), string(line[tc.f.End():]), "writes after %s", tc.f)
	}
}

func BenchmarkGenerate(b *testing.B) {
	const records = 10_000
	for _, bc := range []struct {
		name string
		gen  func(io.Writer, Options) (*Expected, error)
	}{{"plain", Generate}, {"gzip", GenerateGzip}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(records * (census.RecordLen + 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.gen(io.Discard, Options{Year: 2020, Month: 1, Records: records, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*records/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestEveryLayout writes a month of each of the 20 layouts: its records
// parse in that layout only as that month's, with the month's age top code
// and labor force weight.
func TestEveryLayout(t *testing.T) {
	for _, l := range census.Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			year, _ := strconv.Atoi(l.First[:4])
			month, _ := strconv.Atoi(l.First[5:])
			var buf bytes.Buffer
			exp, err := Generate(&buf, Options{Year: year, Month: month, Records: 2000, Seed: 7, Bad: []Bad{{Line: 3, Kind: BadPEMLR}}})
			require.NoError(t, err)
			require.Equal(t, l.Name, exp.Layout)
			require.EqualValues(t, 2000, exp.Records)
			require.Equal(t, tally.Rejects{"field:PEMLR": 1}, exp.Rejects)

			p, err := census.NewParser(year, month, census.RecordLen)
			require.NoError(t, err)
			other, err := census.NewParser(year, month%12+1, census.RecordLen)
			require.NoError(t, err)
			got := tally.New()
			var rec census.Record
			maxAge := int16(0)
			for i, line := range bytes.SplitAfter(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n")) {
				if i == 2 {
					continue // the bad line
				}
				require.NoError(t, p.Parse(line, i+1, &rec), "line %d", i+1)
				require.EqualValues(t, year, rec.HRYEAR4)
				if l.Has(census.PWCMPWGT) {
					require.Equal(t, rec.PWCMPWGT, rec.LaborForceWeight)
				} else {
					require.Equal(t, rec.PWSSWGT, rec.LaborForceWeight)
				}
				maxAge = max(maxAge, rec.PRTAGE)
				got.Add(&rec)
				require.ErrorIs(t, other.Parse(line, i+1, &rec), census.ErrPeriod)
			}
			require.True(t, got.Equal(exp.Tally))
			require.EqualValues(t, census.AgeTopCode(year, month), maxAge, "ages reach the top code")
		})
	}
}
