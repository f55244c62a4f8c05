package census

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// realLines are the two real records of testdata/real-2020.dat, with their
// CRLF line ends: the first of jan20pub.dat and the first of apr20pub.dat.
func realLines(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/real-2020.dat")
	require.NoError(t, err)
	lines := bytes.SplitAfter(b, []byte("\n"))
	require.Len(t, lines, 3)
	require.Empty(t, lines[2])
	return lines[:2]
}

func TestParseRealRecords(t *testing.T) {
	lines := realLines(t)
	for i, want := range []Record{
		{
			HRHHID: [15]byte([]byte("000004795110719")), HRMONTH: 1, HRYEAR4: 2020, HUFINAL: 201, HETENURE: -1,
			HEHOUSUT: 1, GESTFIPS: 1, PRTAGE: 69, PESEX: 1, PRPERTYP: 2, PEMLR: 5,
			PWLGWGT: 25597552, PWSSWGT: 17713809, PWCMPWGT: 17347552, LaborForceWeight: 17347552,
		},
		{
			HRHHID: [15]byte([]byte("000110107755856")), HRMONTH: 4, HRYEAR4: 2020, HUFINAL: 201, HETENURE: -1,
			HEHOUSUT: 1, GESTFIPS: 1, PRTAGE: 72, PESEX: 2, PRPERTYP: 2, PEMLR: 1,
			PWLGWGT: 27553122, PWSSWGT: 17968107, PWCMPWGT: 17395013, LaborForceWeight: 17395013,
		},
	} {
		var r Record
		require.NoError(t, Parse(lines[i], i+1, &r))
		require.Equal(t, want, r)
	}
	var r Record
	require.NoError(t, Parse(lines[0], 1, &r))
	require.Equal(t, "000004795110719", r.HouseholdID())
	require.Equal(t, NotInLaborForce, r.LaborForce())
	require.Equal(t, "HOUSE, APARTMENT, FLAT", HousingDescription(int(r.HEHOUSUT)))
	require.Equal(t, "Alabama", StateName(int(r.GESTFIPS)))
}

// withField returns the jan20 record (without line end) with field f
// replaced by value, which must be f's width.
func withField(t testing.TB, f Field, value string) []byte {
	t.Helper()
	require.Len(t, value, f.Width())
	line := bytes.Clone(TrimEOL(realLines(t)[0]))
	copy(f.Bytes(line), value)
	return line
}

func TestParse(t *testing.T) {
	rec := TrimEOL(realLines(t)[0])
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name    string
		line    []byte
		check   func(t *testing.T, r *Record)
		wantErr error
		wantMsg string
		reason  string
	}{
		{name: "CRLF", line: cat(rec, []byte("\r\n"))},
		{name: "LF", line: cat(rec, []byte("\n"))},
		{name: "CR", line: cat(rec, []byte("\r"))},
		{name: "no line end", line: rec},
		{
			name: "short", line: cat(rec[:998], []byte("\r\n")), wantErr: ErrLength, reason: "length",
			wantMsg: "line 3: record is 998 characters, want 1000",
		},
		{
			name: "long", line: cat(rec, []byte(" \n")), wantErr: ErrLength, reason: "length",
			wantMsg: "line 3: record is 1001 characters, want 1000",
		},
		{
			name: "two line ends count once", line: cat(rec, []byte("\r\r\n")), wantErr: ErrLength, reason: "length",
			wantMsg: "line 3: record is 1001 characters, want 1000",
		},
		{name: "empty", line: []byte("\r\n"), wantErr: ErrLength, wantMsg: "line 3: record is 0 characters, want 1000", reason: "length"},
		{
			name: "non-digit", line: withField(t, PEMLR, "x1"), wantErr: ErrNotNumber, reason: "field:PEMLR",
			wantMsg: `line 3: field PEMLR (cols 180-181): "x1" is not a number`,
		},
		{
			name: "blank field", line: withField(t, PEMLR, "  "), wantErr: ErrBlank, reason: "field:PEMLR",
			wantMsg: `line 3: field PEMLR (cols 180-181): "  " is blank`,
		},
		{
			name: "left-justified", line: withField(t, PRTAGE, "7 "), wantErr: ErrNotNumber, reason: "field:PRTAGE",
			wantMsg: `line 3: field PRTAGE (cols 122-123): "7 " is not a number`,
		},
		{name: "lone minus", line: withField(t, HETENURE, " -"), wantErr: ErrNotNumber, reason: "field:HETENURE"},
		{name: "space after minus", line: withField(t, PWSSWGT, "     - 123"), wantErr: ErrNotNumber, reason: "field:PWSSWGT"},
		{name: "plus sign", line: withField(t, PEMLR, "+1"), wantErr: ErrNotNumber, reason: "field:PEMLR"},
		{name: "tab", line: withField(t, PEMLR, "\t1"), wantErr: ErrNotNumber, reason: "field:PEMLR"},
		{name: "household id with a space", line: withField(t, HRHHID, " 00004795110719"), wantErr: ErrNotNumber, reason: "field:HRHHID"},
		{
			name: "negative code", line: withField(t, PEMLR, "-1"),
			check: func(t *testing.T, r *Record) { require.EqualValues(t, -1, r.PEMLR) },
		},
		{
			name: "negative weight is kept", line: withField(t, PWLGWGT, "        -1"),
			check: func(t *testing.T, r *Record) { require.EqualValues(t, -1, r.PWLGWGT) },
		},
		{
			name: "zero-padded and space-padded", line: withField(t, GESTFIPS, " 6"),
			check: func(t *testing.T, r *Record) { require.EqualValues(t, 6, r.GESTFIPS) },
		},
		{
			name: "HEHOUSUT not in universe", line: withField(t, HEHOUSUT, "-1"),
			check: func(t *testing.T, r *Record) { require.EqualValues(t, -1, r.HEHOUSUT) },
		},
		{
			name: "PRTAGE top code", line: withField(t, PRTAGE, "85"),
			check: func(t *testing.T, r *Record) { require.EqualValues(t, 85, r.PRTAGE) },
		},
		{
			name: "PEMLR out of range", line: withField(t, PEMLR, " 8"), wantErr: ErrRange, reason: "field:PEMLR",
			wantMsg: `line 3: field PEMLR (cols 180-181): " 8" is out of range -1..7`,
		},
		{name: "PEMLR below range", line: withField(t, PEMLR, "-2"), wantErr: ErrRange, reason: "field:PEMLR"},
		{name: "PRTAGE out of range", line: withField(t, PRTAGE, "86"), wantErr: ErrRange, reason: "field:PRTAGE"},
		{name: "HEHOUSUT out of range", line: withField(t, HEHOUSUT, "13"), wantErr: ErrRange, reason: "field:HEHOUSUT"},
		{name: "HRMONTH zero", line: withField(t, HRMONTH, " 0"), wantErr: ErrRange, reason: "field:HRMONTH"},
		{
			name: "territory code", line: withField(t, GESTFIPS, "03"), wantErr: ErrState, reason: "field:GESTFIPS",
			wantMsg: `line 3: field GESTFIPS (cols 93-94): "03" is not a state FIPS code`,
		},
		{name: "state code too big", line: withField(t, GESTFIPS, "72"), wantErr: ErrState, reason: "field:GESTFIPS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			err := Parse(tc.line, 3, &r)
			if tc.wantErr == nil {
				require.NoError(t, err)
				if tc.check != nil {
					tc.check(t, &r)
				}
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			pe, ok := errors.AsType[*ParseError](err)
			require.True(t, ok, "%T is not a *ParseError", err)
			require.Equal(t, 3, pe.Line)
			require.Equal(t, tc.reason, pe.Reason())
			require.Equal(t, tc.reason, Reason(err))
			require.Contains(t, Reasons(), tc.reason)
			if tc.wantErr != ErrLength {
				require.ErrorIs(t, err, ErrField)
				require.NotErrorIs(t, err, ErrLength)
			}
			if tc.wantMsg != "" {
				require.EqualError(t, err, tc.wantMsg)
			}
		})
	}
}

func TestReason(t *testing.T) {
	require.Equal(t, ReasonOther, Reason(errors.New("boom")))
	require.Equal(t, "field:X", (&ParseError{Field: "X", Err: ErrBlank}).Reason())
	// Reasons stay few, so that they can label metrics.
	require.Len(t, Reasons(), 3+len(Fields()))
}

func TestFields(t *testing.T) {
	want := map[Field][2]int{
		HRHHID: {1, 15}, HRMONTH: {16, 17}, HRYEAR4: {18, 21}, HUFINAL: {24, 26}, HETENURE: {29, 30},
		HEHOUSUT: {31, 32}, GESTFIPS: {93, 94}, PRTAGE: {122, 123}, PESEX: {129, 130}, PRPERTYP: {161, 162},
		PEMLR: {180, 181}, PWLGWGT: {593, 602}, PWSSWGT: {613, 622}, PWCMPWGT: {846, 855},
	}
	require.Len(t, Fields(), len(want))
	prevEnd := 0
	for _, f := range Fields() {
		require.Equal(t, want[f], [2]int{f.Start(), f.End()}, f.String())
		require.Greater(t, f.Start(), prevEnd, "fields overlap or are out of order at %s", f)
		prevEnd = f.End()
	}
	require.Equal(t, "PEMLR", PEMLR.String())
	require.Equal(t, "field:PWCMPWGT", PWCMPWGT.Reason())
}

func TestParseAllocs(t *testing.T) {
	line := realLines(t)[1]
	var r Record
	allocs := testing.AllocsPerRun(1000, func() {
		if err := Parse(line, 1, &r); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

func TestAtoi(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		st   numStatus
	}{
		{"  17347552", 17347552, numOK},
		{"-1", -1, numOK},
		{"01", 1, numOK},
		{"-0", 0, numOK},
		{"000000000000000", 0, numOK},
		{"999999999999999999", 999999999999999999, numOK},
		{"9999999999999999999", 0, numBad}, // would overflow; no field is this wide
		{"", 0, numBlank},
		{"   ", 0, numBlank},
		{"-", 0, numBad},
		{"1-", 0, numBad},
		{"--1", 0, numBad},
		{"1 1", 0, numBad},
		{"1/", 0, numBad}, // '/' is just below '0'
		{"1:", 0, numBad}, // ':' is just above '9'
	} {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			n, st := atoi([]byte(tc.in))
			require.Equal(t, tc.st, st)
			require.Equal(t, tc.want, n)
		})
	}
}

func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{
		{-1, ""},
		{0, "OTHER UNIT"},
		{1, "HOUSE, APARTMENT, FLAT"},
		{5, "MOBILE HOME OR TRAILER W/NO PERM. ROOM ADDED"},
		{6, "MOBILE HOME OR TRAILER W/1 OR MORE PERM. ROOMS ADDED"},
		{12, "OTHER UNIT NOT SPECIFIED ABOVE"},
		{13, ""},
	} {
		require.Equal(t, tc.want, HousingDescription(tc.code), "code %d", tc.code)
	}
	for code := range MaxHousing + 1 {
		require.NotEmpty(t, HousingDescription(code))
	}
	require.Equal(t, "RENTED FOR CASH", TenureDescription(2))
	require.Empty(t, TenureDescription(0))
}

func TestStates(t *testing.T) {
	codes := States()
	require.Len(t, codes, 51)
	seen := map[string]bool{}
	for _, fips := range codes {
		abbrev := StateAbbrev(fips)
		require.Len(t, abbrev, 2)
		require.NotEmpty(t, StateName(fips))
		require.False(t, seen[abbrev], "duplicate %s", abbrev)
		seen[abbrev] = true
		require.Equal(t, fips, StateByAbbrev(abbrev))
	}
	for _, tc := range []struct {
		fips           int
		abbrev, name   string
		valid          bool
		byAbbrevResult int
	}{
		{1, "AL", "Alabama", true, 1},
		{6, "CA", "California", true, 6},
		{11, "DC", "District of Columbia", true, 11},
		{56, "WY", "Wyoming", true, 56},
		{0, "", "", false, 0},
		{3, "", "", false, 0},
		{57, "", "", false, 0},
		{72, "", "", false, 0}, // Puerto Rico is not in the CPS
		{-1, "", "", false, 0},
	} {
		require.Equal(t, tc.valid, ValidState(tc.fips), "fips %d", tc.fips)
		require.Equal(t, tc.abbrev, StateAbbrev(tc.fips))
		require.Equal(t, tc.name, StateName(tc.fips))
	}
	require.Zero(t, StateByAbbrev("PR"))
	require.Zero(t, StateByAbbrev(""))
	require.Zero(t, StateByAbbrev("ca"))
}

func TestLaborForceStatus(t *testing.T) {
	for pemlr, want := range map[int]LaborForce{
		-1: NotInUniverse, 0: NotInUniverse, 1: Employed, 2: Employed, 3: Unemployed, 4: Unemployed,
		5: NotInLaborForce, 6: NotInLaborForce, 7: NotInLaborForce, 8: NotInUniverse,
	} {
		require.Equal(t, want, LaborForceStatus(pemlr), "PEMLR %d", pemlr)
	}
	require.Equal(t, "unemployed", Unemployed.String())
	require.Equal(t, "not in labor force", NotInLaborForce.String())
}

func TestAgeGroupOf(t *testing.T) {
	for _, tc := range []struct {
		age  int
		want string // "" when not in the labor force universe
	}{
		{-1, ""}, {0, ""}, {15, ""}, {16, "16-19"}, {19, "16-19"}, {20, "20-24"}, {24, "20-24"}, {25, "25-54"},
		{54, "25-54"}, {55, "55-64"}, {64, "55-64"}, {65, "65+"}, {80, "65+"}, {85, "65+"}, {90, "65+"}, {99, "65+"}, {100, "65+"}, {150, "65+"},
	} {
		g, ok := AgeGroupOf(tc.age)
		require.Equal(t, tc.want != "", ok, "age %d", tc.age)
		if ok {
			require.Equal(t, tc.want, g.String(), "age %d", tc.age)
		}
	}
	require.Equal(t, "AgeGroup(5)", NumAgeGroups.String())
	require.Equal(t, []string{"unknown", "male", "female", "unknown"}, []string{SexName(0), SexName(1), SexName(2), SexName(-1)})
}

// FuzzParse checks Parse against a plain strconv reading of the layout:
// it never panics, accepts exactly what the reference accepts, and reads
// the same values.
func FuzzParse(f *testing.F) {
	for _, line := range realLines(f) {
		f.Add(line)
		f.Add(TrimEOL(line))
	}
	f.Add([]byte("short\r\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Record
		err := Parse(line, 7, &r)
		body := TrimEOL(line)
		if len(body) != RecordLen {
			require.ErrorIs(t, err, ErrLength)
			return
		}
		want, wantOK := referenceParse(body)
		if !wantOK {
			require.ErrorIs(t, err, ErrField)
			require.Contains(t, Reasons(), Reason(err))
			require.Contains(t, err.Error(), "line 7: field ")
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, r)
	})
}

// referenceParse is the slow, obvious reading of a 1000-character record.
func referenceParse(line []byte) (Record, bool) {
	var r Record
	id := string(HRHHID.Bytes(line))
	if strings.Trim(id, "0123456789") != "" {
		return r, false
	}
	copy(r.HRHHID[:], id)
	ranges := map[Field][2]int64{
		HRMONTH: {1, 12}, HRYEAR4: {1, 9999}, HETENURE: {-3, 3}, HEHOUSUT: {-1, 12}, PRTAGE: {-1, 85},
		PESEX: {-1, 2}, PRPERTYP: {-1, 3}, PEMLR: {-1, 7},
	}
	v := map[Field]int64{}
	for _, f := range Fields()[1:] {
		s := strings.TrimLeft(string(f.Bytes(line)), " ")
		digits := strings.TrimPrefix(s, "-")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return r, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return r, false
		}
		if rg, ok := ranges[f]; ok && (n < rg[0] || n > rg[1]) {
			return r, false
		}
		v[f] = n
	}
	if StateAbbrev(int(v[GESTFIPS])) == "" {
		return r, false
	}
	r.HRMONTH, r.HRYEAR4, r.HUFINAL = int16(v[HRMONTH]), int16(v[HRYEAR4]), int16(v[HUFINAL])
	r.HETENURE, r.HEHOUSUT, r.GESTFIPS = int16(v[HETENURE]), int16(v[HEHOUSUT]), int16(v[GESTFIPS])
	r.PRTAGE, r.PESEX, r.PRPERTYP, r.PEMLR = int16(v[PRTAGE]), int16(v[PESEX]), int16(v[PRPERTYP]), int16(v[PEMLR])
	r.PWLGWGT, r.PWSSWGT, r.PWCMPWGT = v[PWLGWGT], v[PWSSWGT], v[PWCMPWGT]
	r.LaborForceWeight = r.PWCMPWGT
	return r, true
}

func BenchmarkParse(b *testing.B) {
	lines := realLines(b)
	var r Record
	b.SetBytes(int64(len(lines[0])))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := Parse(lines[i&1], i, &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
