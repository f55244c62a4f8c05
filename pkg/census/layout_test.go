package census

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tsvLayout is one layout as layouts/layouts.tsv gives it, read here without
// the generator, so that the parser's columns are pinned to the TSV itself.
type tsvLayout struct {
	name, first, last string
	end               int
	cols              map[string][2]int
}

func readTSV(t testing.TB) []*tsvLayout {
	t.Helper()
	f, err := os.Open("layouts/layouts.tsv")
	require.NoError(t, err)
	defer f.Close()
	var out []*tsvLayout
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		require.Len(t, c, 7, sc.Text())
		if len(out) == 0 || out[len(out)-1].name != c[2] {
			out = append(out, &tsvLayout{name: c[2], first: c[0], last: c[1], cols: map[string][2]int{}})
		}
		l := out[len(out)-1]
		start, err := strconv.Atoi(c[4])
		require.NoError(t, err)
		end, err := strconv.Atoi(c[5])
		require.NoError(t, err)
		l.cols[c[3]] = [2]int{start, end}
		l.end = max(l.end, end)
	}
	require.NoError(t, sc.Err())
	return out
}

// tsvNames are the names a field has in the TSV, preferred first.
var tsvNames = map[Field][]string{HRYEAR4: {"HRYEAR4", "HRYEAR"}, PRTAGE: {"PRTAGE", "PEAGE"}}

// TestLayoutsPinColumns checks, for each of the 20 layouts, the columns of
// every field the tabulations use against layouts.tsv, the months each
// layout covers and the weight it gives the labor force.
func TestLayoutsPinColumns(t *testing.T) {
	tsv := readTSV(t)
	require.Len(t, tsv, 20)
	require.Len(t, Layouts(), 20)
	for i, want := range tsv {
		t.Run(want.name, func(t *testing.T) {
			l := Layouts()[i]
			require.Equal(t, want.name, l.Name)
			require.Equal(t, [3]any{want.first, want.last, want.end}, [3]any{l.First, l.Last, l.End})
			for _, f := range Fields() {
				names := tsvNames[f]
				if names == nil {
					names = []string{f.String()}
				}
				var wantName string
				var wantCols [2]int
				for _, n := range names {
					if c, ok := want.cols[n]; ok {
						wantName, wantCols = n, c
						break
					}
				}
				name, start, end := l.Columns(f)
				require.Equal(t, wantName, name, "%s", f)
				require.Equal(t, wantCols, [2]int{start, end}, "%s (%s)", f, name)
				require.Equal(t, wantName != "", l.Has(f), "%s", f)
			}
			wantWeight := PWCMPWGT
			if _, ok := want.cols["PWCMPWGT"]; !ok {
				wantWeight = PWSSWGT
			}
			require.Equal(t, wantWeight, l.Weight())
			for _, ym := range []string{want.first, want.last} {
				y, _ := strconv.Atoi(ym[:4])
				m, _ := strconv.Atoi(ym[5:])
				got, err := LayoutOf(y, m)
				require.NoError(t, err)
				require.Same(t, l, got, ym)
			}
		})
	}
}

// TestRealRecordsByMonth: the two real 2020 records parse with their
// months' parsers, and are of another month for the other's.
func TestRealRecordsByMonth(t *testing.T) {
	lines := realLines(t)
	for i, month := range []int{1, 4} {
		p, err := NewParser(2020, month, RecordLen)
		require.NoError(t, err)
		require.Equal(t, "cpsbjan2020", p.Layout().Name)
		var r Record
		require.NoError(t, p.Parse(lines[i], 1, &r))
		require.EqualValues(t, month, r.HRMONTH)
		require.Equal(t, r.PWCMPWGT, r.LaborForceWeight)
		require.ErrorIs(t, p.Parse(lines[1-i], 2, &r), ErrPeriod)
	}
}

func TestLayoutOf(t *testing.T) {
	for _, tc := range []struct {
		year, month int
		want, err   string
	}{
		{1994, 1, "cpsbjan94", ""},
		{1995, 8, "cpsbjun95", ""},
		{1997, 12, "cpsbsep95", ""},
		{1998, 1, "cpsbjan98", ""},
		{2004, 4, "cpsbjan03", ""},
		{2020, 1, "cpsbjan2020", ""},
		{2026, 11, "cpsbjun2024", ""}, // after the TSV's last month: the newest layout goes on
		{1993, 12, "", "census layout of 1993-12: the basic monthly files in this form begin in 1994-01"},
		{2020, 13, "", "census layout of 2020-13: month 13: want 1-12"},
	} {
		t.Run(fmt.Sprintf("%d-%02d", tc.year, tc.month), func(t *testing.T) {
			l, err := LayoutOf(tc.year, tc.month)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, l.Name)
		})
	}
}

// layoutRecord is the jan20 record (without line end) with the fields the
// tabulations use moved to l's columns and set to values (right-justified),
// of n characters.
func layoutRecord(t testing.TB, l *Layout, n int, values map[Field]string) []byte {
	t.Helper()
	line := bytes.Repeat([]byte(" "), n)
	copy(line, TrimEOL(realLines(t)[0]))
	base := map[Field]string{
		HRHHID: strings.Repeat("7", 15), HUFINAL: "201", HETENURE: "-1", HEHOUSUT: "1", GESTFIPS: "06", PRTAGE: "40",
		PESEX: "2", PRPERTYP: "2", PEMLR: "1", PWLGWGT: "0", PWSSWGT: "12345678", PWCMPWGT: "23456789",
	}
	for f, v := range values {
		base[f] = v
	}
	for f, v := range base {
		b := l.Bytes(f, line)
		if b == nil {
			continue
		}
		if f == HRHHID {
			v = v[:len(b)]
		}
		require.LessOrEqual(t, len(v), len(b), "%s %q", f, v)
		copy(b, strings.Repeat(" ", len(b)-len(v))+v)
	}
	return line
}

// setPeriod writes year/month into a record of layout l.
func setPeriod(l *Layout, line []byte, year, month int) {
	y := strconv.Itoa(year)
	if l.TwoDigitYear() {
		y = y[2:]
	}
	copy(l.Bytes(HRYEAR4, line), y)
	copy(l.Bytes(HRMONTH, line), fmt.Sprintf("%2d", month))
}

// TestParseEveryLayout parses a record in each layout, at its first month.
func TestParseEveryLayout(t *testing.T) {
	for _, l := range Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			y, _ := strconv.Atoi(l.First[:4])
			m, _ := strconv.Atoi(l.First[5:])
			p, err := NewParser(y, m, 0)
			require.NoError(t, err)
			require.Same(t, l, p.Layout())
			line := layoutRecord(t, l, l.End, nil)
			setPeriod(l, line, y, m)
			var r Record
			require.NoError(t, p.Parse(line, 1, &r))
			require.Equal(t, [2]int16{int16(y), int16(m)}, [2]int16{r.HRYEAR4, r.HRMONTH})
			require.EqualValues(t, 6, r.GESTFIPS)
			require.EqualValues(t, 40, r.PRTAGE)
			require.EqualValues(t, 1, r.PEMLR)
			require.EqualValues(t, 12345678, r.PWSSWGT)
			if l.Has(PWCMPWGT) {
				require.EqualValues(t, 23456789, r.PWCMPWGT)
				require.EqualValues(t, 23456789, r.LaborForceWeight)
			} else {
				require.Zero(t, r.PWCMPWGT)
				require.EqualValues(t, 12345678, r.LaborForceWeight)
			}
			_, start, end := l.Columns(HRHHID)
			wantID := strings.Repeat("0", 15-(end-start+1)) + strings.Repeat("7", end-start+1)
			require.Equal(t, wantID, r.HouseholdID())

			// A record one character short of the layout's last column.
			err = p.Parse(line[:l.End-1], 2, &r)
			require.ErrorIs(t, err, ErrLength)
			require.EqualError(t, err, fmt.Sprintf("line 2: record is %d characters, want at least %d (the last column of layout %s)", l.End-1, l.End, l.Name))
		})
	}
}

func TestAgeTopCodes(t *testing.T) {
	for _, tc := range []struct {
		year, month, top int
	}{
		{1994, 1, 90}, {1997, 12, 90}, {1998, 1, 90}, {2002, 12, 90},
		{2003, 1, 80}, {2004, 3, 80}, {2004, 4, 85}, {2012, 5, 85}, {2025, 1, 85},
	} {
		t.Run(fmt.Sprintf("%d-%02d", tc.year, tc.month), func(t *testing.T) {
			require.Equal(t, tc.top, AgeTopCode(tc.year, tc.month))
			p, err := NewParser(tc.year, tc.month, RecordLen)
			require.NoError(t, err)
			var r Record
			line := layoutRecord(t, p.Layout(), RecordLen, map[Field]string{PRTAGE: strconv.Itoa(tc.top)})
			setPeriod(p.Layout(), line, tc.year, tc.month)
			require.NoError(t, p.Parse(line, 1, &r))
			require.EqualValues(t, tc.top, r.PRTAGE)
			copy(p.Layout().Bytes(PRTAGE, line), strconv.Itoa(tc.top+1))
			err = p.Parse(line, 1, &r)
			require.ErrorIs(t, err, ErrRange)
			require.Equal(t, "field:PRTAGE", Reason(err))
			name, start, end := p.Layout().Columns(PRTAGE)
			require.EqualError(t, err, fmt.Sprintf(`line 1: field %s (cols %d-%d): "%d" is out of range -1..%d`, name, start, end, tc.top+1, tc.top))
		})
	}
}

// TestParsePeriod: a record of another month than its file's is rejected.
func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		year, month          int // the file's
		recYear, recMonth    int // the record's
		wantErr              string
		unknownPeriodAccepts bool
	}{
		{name: "same month 1996", year: 1996, month: 3, recYear: 1996, recMonth: 3},
		{name: "same month 2020", year: 2020, month: 4, recYear: 2020, recMonth: 4},
		{name: "other month", year: 2020, month: 4, recYear: 2020, recMonth: 1, wantErr: "line 5: record of 2020-01 in a file of 2020-04"},
		{name: "other year, two digits", year: 1996, month: 3, recYear: 1997, recMonth: 3, wantErr: "line 5: record of 1997-03 in a file of 1996-03"},
		{name: "other year", year: 2020, month: 4, recYear: 2019, recMonth: 4, wantErr: "line 5: record of 2019-04 in a file of 2020-04"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewParser(tc.year, tc.month, RecordLen)
			require.NoError(t, err)
			line := layoutRecord(t, p.Layout(), RecordLen, nil)
			setPeriod(p.Layout(), line, tc.recYear, tc.recMonth)
			var r Record
			err = p.Parse(line, 5, &r)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrPeriod)
			require.EqualError(t, err, tc.wantErr)
			require.Equal(t, ReasonPeriod, Reason(err))
			require.Contains(t, Reasons(), ReasonPeriod)
		})
	}
}

// TestDirtyBytes: the dirty bytes seen in real files ("**", "--", NUL)
// leave a record good in columns the tabulations do not read, and reject it,
// naming the field, in columns they read.
func TestDirtyBytes(t *testing.T) {
	for _, period := range [][2]int{{1994, 6}, {1996, 1}, {2004, 3}, {2023, 5}} {
		p, err := NewParser(period[0], period[1], RecordLen)
		require.NoError(t, err)
		l := p.Layout()
		for _, dirt := range []string{"**", "--", "\x00\x00"} {
			// Columns no parsed field covers: the 1990s' PWCMPWGT columns
			// among them (846-855 hold nothing the parser reads then).
			free := []int{41, 141, 701, 990}
			if !l.Has(PWCMPWGT) {
				free = append(free, 846, 854)
			}
			for _, col := range free {
				for _, f := range Fields() {
					_, s, e := l.Columns(f)
					require.False(t, col+1 >= s && col <= e, "column %d is %s's", col, f)
				}
				t.Run(fmt.Sprintf("%s/%q/free-%d", l.Name, dirt, col), func(t *testing.T) {
					line := layoutRecord(t, l, RecordLen, nil)
					setPeriod(l, line, period[0], period[1])
					copy(line[col-1:], dirt)
					var r Record
					require.NoError(t, p.Parse(line, 1, &r))
				})
			}
			for _, f := range []Field{HRHHID, HRMONTH, HRYEAR4, HEHOUSUT, GESTFIPS, PRTAGE, PEMLR, PWSSWGT, PWCMPWGT} {
				if !l.Has(f) {
					continue
				}
				name, start, end := l.Columns(f)
				t.Run(fmt.Sprintf("%s/%q/%s", l.Name, dirt, name), func(t *testing.T) {
					line := layoutRecord(t, l, RecordLen, nil)
					setPeriod(l, line, period[0], period[1])
					copy(line[end-2:end], dirt)
					var r Record
					err := p.Parse(line, 9, &r)
					require.ErrorIs(t, err, ErrField)
					require.Equal(t, f.Reason(), Reason(err))
					require.ErrorContains(t, err, fmt.Sprintf("line 9: field %s (cols %d-%d): ", name, start, end))
				})
			}
		}
	}
}

func TestNewParserRecordLength(t *testing.T) {
	_, err := NewParser(1996, 1, 800)
	require.EqualError(t, err, "wrong record length: records of 800 characters: layout cpsbsep95 describes columns up to 814")
	require.ErrorIs(t, err, ErrLength)
	p, err := NewParser(1996, 1, 0)
	require.NoError(t, err)
	line := layoutRecord(t, p.Layout(), 900, nil)
	setPeriod(p.Layout(), line, 1996, 1)
	var r Record
	require.NoError(t, p.Parse(line, 1, &r), "any length from the last column on")
	p, err = NewParser(1996, 1, 900)
	require.NoError(t, err)
	require.NoError(t, p.Parse(line, 1, &r))
	err = p.Parse(append(line, ' '), 1, &r)
	require.EqualError(t, err, "line 1: record is 901 characters, want 900")
	_, err = NewParser(1990, 1, 0)
	require.Error(t, err)
}

func TestParserAllocs(t *testing.T) {
	p, err := NewParser(1996, 1, RecordLen)
	require.NoError(t, err)
	line := layoutRecord(t, p.Layout(), RecordLen, nil)
	setPeriod(p.Layout(), line, 1996, 1)
	var r Record
	allocs := testing.AllocsPerRun(1000, func() {
		if err := p.Parse(line, 1, &r); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

func BenchmarkParserParse(b *testing.B) {
	for _, period := range [][2]int{{1996, 1}, {2020, 1}} {
		b.Run(fmt.Sprintf("%d", period[0]), func(b *testing.B) {
			p, err := NewParser(period[0], period[1], RecordLen)
			require.NoError(b, err)
			line := layoutRecord(b, p.Layout(), RecordLen, nil)
			setPeriod(p.Layout(), line, period[0], period[1])
			var r Record
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := p.Parse(line, i, &r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
