// Package census reads the US Census Bureau's Current Population Survey (CPS)
// basic monthly public-use files: the fixed-width record layout, a parser
// for the items the pipeline tabulates, a streaming scanner over whole files,
// and the descriptions of their codes.
//
// A file holds one person per line, 1000 characters wide in 2020, with CRLF
// line ends. Twenty record layouts, from January 1994 on, put the fields in
// different columns (layouts/layouts.tsv, from which layouts_gen.go is
// generated); a Parser reads a month's records in its layout. Numbers are right-justified and space-padded, negatives written as
// "-1"; weights carry 4 implied decimals and are kept here as the raw
// integers, so that sums of them are exact and do not depend on order.
//
// Parsing allocates nothing, so a caller that reuses one Record reads a file
// without garbage.
package census

// RecordLen is the width of a record of the 2020 files, without its line
// end; Parse wants it. The width of older files is read from them.
const RecordLen = 1000

// Field is one item of the record layout that Parse reads.
type Field uint8

// The items Parse reads, with their 1-based columns in the newest layout
// (layouts_gen.go has them in every layout).
const (
	HRHHID   Field = iota // 1-15 household identifier
	HRMONTH               // 16-17 month of interview
	HRYEAR4               // 18-21 year of interview
	HUFINAL               // 24-26 final outcome code
	HETENURE              // 29-30 tenure
	HEHOUSUT              // 31-32 type of housing unit
	GESTFIPS              // 93-94 state FIPS code
	PRTAGE                // 122-123 age, 80 = 80-84, 85 = 85+
	PESEX                 // 129-130 sex
	PRPERTYP              // 161-162 person type
	PEMLR                 // 180-181 monthly labor force recode
	PWLGWGT               // 593-602 longitudinal weight
	PWSSWGT               // 613-622 final weight
	PWCMPWGT              // 846-855 composited final weight

	numFields = iota
)

// fieldSpec is where a field sits in a layout and which values it may take.
type fieldSpec struct {
	name       string // the layout's name of the field
	start, end int    // 1-based, inclusive; start 0 when the layout has no such field
	// Values outside min..max are rejected when checked is set. The ranges
	// admit -1 (not in universe) wherever the layout could write it: a
	// check exists to catch a misaligned or corrupt line, never to drop a
	// record a real file can hold.
	checked  bool
	min, max int64
	reason   string
}

// checks are what each field may hold, in every layout; the columns come
// from layouts_gen.go. PRTAGE's maximum is the month's top code
// (AgeTopCode), and a two-digit HRYEAR takes 0-99.
var checks = [numFields]fieldSpec{
	HRHHID:   {name: "HRHHID", reason: "field:HRHHID"},
	HRMONTH:  {name: "HRMONTH", checked: true, min: 1, max: 12, reason: "field:HRMONTH"},
	HRYEAR4:  {name: "HRYEAR4", checked: true, min: 1, max: 9999, reason: "field:HRYEAR4"},
	HUFINAL:  {name: "HUFINAL", reason: "field:HUFINAL"},
	HETENURE: {name: "HETENURE", checked: true, min: -3, max: 3, reason: "field:HETENURE"},
	HEHOUSUT: {name: "HEHOUSUT", checked: true, min: -1, max: MaxHousing, reason: "field:HEHOUSUT"},
	GESTFIPS: {name: "GESTFIPS", reason: "field:GESTFIPS"}, // checked against the state table
	PRTAGE:   {name: "PRTAGE", checked: true, min: -1, max: 85, reason: "field:PRTAGE"},
	PESEX:    {name: "PESEX", checked: true, min: -1, max: 2, reason: "field:PESEX"},
	PRPERTYP: {name: "PRPERTYP", checked: true, min: -1, max: 3, reason: "field:PRPERTYP"},
	PEMLR:    {name: "PEMLR", checked: true, min: -1, max: 7, reason: "field:PEMLR"},
	PWLGWGT:  {name: "PWLGWGT", reason: "field:PWLGWGT"},
	PWSSWGT:  {name: "PWSSWGT", reason: "field:PWSSWGT"},
	PWCMPWGT: {name: "PWCMPWGT", reason: "field:PWCMPWGT"},
}

// String is the field's name in the newest layout, such as "PEMLR".
func (f Field) String() string {
	if int(f) < numFields {
		return checks[f].name
	}
	return "Field(?)"
}

// Start is the field's first column in the newest layout, 1-based as the
// layout documents it; Layout.Columns gives it in any layout.
func (f Field) Start() int { return Newest().fields[f].start }

// End is the field's last column in the newest layout, 1-based and inclusive.
func (f Field) End() int { return Newest().fields[f].end }

// Width is the number of columns the field takes in the newest layout.
func (f Field) Width() int { return f.End() - f.Start() + 1 }

// Bytes is the field's text in a record of the newest layout.
func (f Field) Bytes(record []byte) []byte { return Newest().Bytes(f, record) }

// Reason is the reject reason of a bad value in the field, such as
// "field:PEMLR", the same in every layout (its message names the layout's
// own name of the field, such as PEAGE).
func (f Field) Reason() string { return checks[f].reason }

// Fields lists the fields Parse reads, in column order.
func Fields() []Field {
	fs := make([]Field, numFields)
	for i := range fs {
		fs[i] = Field(i)
	}
	return fs
}

// Record is the part of one person record the pipeline uses. Codes are
// small integers as the layout writes them, -1 meaning not in universe;
// weights are raw, with 4 implied decimals (17347552 is 1734.7552).
type Record struct {
	HRHHID   [15]byte // household identifier, zero-padded on the left to 15 digits (12 before September 1995)
	HRMONTH  int16
	HRYEAR4  int16 // four digits, also where the layout writes two (HRYEAR, before 1998)
	HUFINAL  int16
	HETENURE int16
	HEHOUSUT int16
	GESTFIPS int16
	PRTAGE   int16 // PEAGE before May 2012; top-coded as AgeTopCode says
	PESEX    int16
	PRPERTYP int16
	PEMLR    int16
	PWLGWGT  int64
	PWSSWGT  int64
	PWCMPWGT int64 // 0 where the layout has none (before 1998)
	// LaborForceWeight is the weight behind labor force levels: PWCMPWGT,
	// or PWSSWGT where the layout has no PWCMPWGT (Layout.Weight).
	LaborForceWeight int64
}

// HouseholdID is HRHHID as a string.
func (r *Record) HouseholdID() string { return string(r.HRHHID[:]) }

// LaborForce is the labor force status of the record's PEMLR.
func (r *Record) LaborForce() LaborForce { return LaborForceStatus(int(r.PEMLR)) }

// newestParser reads records of RecordLen characters in the newest layout,
// whatever their period.
var newestParser = func() *Parser {
	p, err := NewParser(0, 0, RecordLen)
	if err != nil {
		panic(err)
	}
	return p
}()

// Parse reads one record of RecordLen characters in the newest layout from
// line into r, whatever its period; a Parser reads the records of a given
// month. See Parser.Parse.
func Parse(line []byte, lineNo int, r *Record) error {
	return newestParser.Parse(line, lineNo, r)
}

// Parse reads one record from line into r. The line may end in "\r\n",
// "\n" or "\r"; what remains must be the parser's record length (at
// least the layout's last column when that is unknown). lineNo only labels
// errors. Every error is a *ParseError; r is partly filled when Parse
// fails.
//
// Fields are checked as follows: HRHHID must be all digits; every other
// field a right-justified integer, optionally negative, with spaces only
// before it (a blank field is an error, as no real file leaves these
// items blank); codes must lie in the ranges the layout defines, widened to
// admit -1 (not in universe), the age up to the month's top code;
// GESTFIPS must be one of the 50 states or DC. Weights are not
// range-checked. Then the record's month and year must be the parser's.
// Columns the layout has but Parse does not read are not looked at.
func (p *Parser) Parse(line []byte, lineNo int, r *Record) error {
	line = TrimEOL(line)
	if p.recordLen != 0 && len(line) != p.recordLen {
		return &ParseError{Line: lineNo, Len: len(line), Want: p.recordLen, Err: ErrLength}
	}
	if len(line) < p.layout.End {
		return &ParseError{Line: lineNo, Len: len(line), Want: p.layout.End, Layout: p.layout.Name, Err: ErrLength}
	}
	id := &p.fields[HRHHID]
	digits := line[id.start-1 : id.end]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return fieldError(lineNo, id, digits, ErrNotNumber)
		}
	}
	pad := len(r.HRHHID) - len(digits)
	for i := range pad {
		r.HRHHID[i] = '0'
	}
	copy(r.HRHHID[pad:], digits)

	var v [numFields]int64
	for f := HRMONTH; f < numFields; f++ {
		spec := &p.fields[f]
		if spec.start == 0 {
			continue
		}
		n, err := parseField(line, lineNo, spec)
		if err != nil {
			return err
		}
		v[f] = n
	}
	if !ValidState(int(v[GESTFIPS])) {
		return fieldError(lineNo, &p.fields[GESTFIPS], line[p.fields[GESTFIPS].start-1:p.fields[GESTFIPS].end], ErrState)
	}
	if p.layout.twoDigitYear {
		v[HRYEAR4] += 1900
	}
	if p.year != 0 && (v[HRYEAR4] != p.year || v[HRMONTH] != p.month) {
		return &ParseError{Line: lineNo, Err: ErrPeriod, Period: [2]int{int(v[HRYEAR4]), int(v[HRMONTH])},
			Want: int(p.year*100 + p.month), Layout: p.layout.Name}
	}
	r.HRMONTH = int16(v[HRMONTH])
	r.HRYEAR4 = int16(v[HRYEAR4])
	r.HUFINAL = int16(v[HUFINAL])
	r.HETENURE = int16(v[HETENURE])
	r.HEHOUSUT = int16(v[HEHOUSUT])
	r.GESTFIPS = int16(v[GESTFIPS])
	r.PRTAGE = int16(v[PRTAGE])
	r.PESEX = int16(v[PESEX])
	r.PRPERTYP = int16(v[PRPERTYP])
	r.PEMLR = int16(v[PEMLR])
	r.PWLGWGT = v[PWLGWGT]
	r.PWSSWGT = v[PWSSWGT]
	r.PWCMPWGT = v[PWCMPWGT]
	r.LaborForceWeight = v[p.weight]
	return nil
}

// TrimEOL removes one line end ("\r\n", "\n" or "\r") from line.
func TrimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func parseField(line []byte, lineNo int, spec *fieldSpec) (int64, error) {
	b := line[spec.start-1 : spec.end]
	n, st := atoi(b)
	switch {
	case st == numBlank:
		return 0, fieldError(lineNo, spec, b, ErrBlank)
	case st == numBad:
		return 0, fieldError(lineNo, spec, b, ErrNotNumber)
	case spec.checked && (n < spec.min || n > spec.max):
		return 0, fieldError(lineNo, spec, b, &rangeError{min: spec.min, max: spec.max})
	}
	return n, nil
}

type numStatus uint8

const (
	numOK numStatus = iota
	numBlank
	numBad
)

// atoi reads a right-justified, space-padded, optionally negative decimal
// integer of at most 18 digits (fields are at most 15 wide, so it cannot
// overflow).
func atoi(b []byte) (int64, numStatus) {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i == len(b) {
		return 0, numBlank
	}
	neg := b[i] == '-'
	if neg {
		i++
	}
	if i == len(b) || len(b)-i > 18 {
		return 0, numBad
	}
	var n int64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, numBad
		}
		n = n*10 + int64(c)
	}
	if neg {
		n = -n
	}
	return n, numOK
}
