// Package census reads the US Census Bureau's Current Population Survey (CPS)
// basic monthly public-use files: the fixed-width record layout, a parser
// for the items the pipeline tabulates, a streaming scanner over whole files,
// and the descriptions of their codes.
//
// A file holds one person per line, 1000 characters wide, with CRLF line
// ends. Numbers are right-justified and space-padded, negatives written as
// "-1"; weights carry 4 implied decimals and are kept here as the raw
// integers, so that sums of them are exact and do not depend on order.
//
// Parse allocates nothing, so a caller that reuses one Record reads a file
// without garbage.
package census

// RecordLen is the width of a record, without its line end.
const RecordLen = 1000

// Field is one item of the record layout that Parse reads.
type Field uint8

// The items Parse reads, with their 1-based columns in the layouts of
// 2017-2025 (the positions did not move in those years).
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

// fieldSpec is where a field sits and which values it may take.
type fieldSpec struct {
	name       string
	start, end int // 1-based, inclusive
	// Values outside min..max are rejected when checked is set. The ranges
	// admit -1 (not in universe) wherever the layout could write it: a
	// check exists to catch a misaligned or corrupt line, never to drop a
	// record a real file can hold.
	checked  bool
	min, max int64
	reason   string
}

var layout = [numFields]fieldSpec{
	HRHHID:   {name: "HRHHID", start: 1, end: 15, reason: "field:HRHHID"},
	HRMONTH:  {name: "HRMONTH", start: 16, end: 17, checked: true, min: 1, max: 12, reason: "field:HRMONTH"},
	HRYEAR4:  {name: "HRYEAR4", start: 18, end: 21, checked: true, min: 1, max: 9999, reason: "field:HRYEAR4"},
	HUFINAL:  {name: "HUFINAL", start: 24, end: 26, reason: "field:HUFINAL"},
	HETENURE: {name: "HETENURE", start: 29, end: 30, checked: true, min: -3, max: 3, reason: "field:HETENURE"},
	HEHOUSUT: {name: "HEHOUSUT", start: 31, end: 32, checked: true, min: -1, max: MaxHousing, reason: "field:HEHOUSUT"},
	GESTFIPS: {name: "GESTFIPS", start: 93, end: 94, reason: "field:GESTFIPS"}, // checked against the state table
	PRTAGE:   {name: "PRTAGE", start: 122, end: 123, checked: true, min: -1, max: 85, reason: "field:PRTAGE"},
	PESEX:    {name: "PESEX", start: 129, end: 130, checked: true, min: -1, max: 2, reason: "field:PESEX"},
	PRPERTYP: {name: "PRPERTYP", start: 161, end: 162, checked: true, min: -1, max: 3, reason: "field:PRPERTYP"},
	PEMLR:    {name: "PEMLR", start: 180, end: 181, checked: true, min: -1, max: 7, reason: "field:PEMLR"},
	PWLGWGT:  {name: "PWLGWGT", start: 593, end: 602, reason: "field:PWLGWGT"},
	PWSSWGT:  {name: "PWSSWGT", start: 613, end: 622, reason: "field:PWSSWGT"},
	PWCMPWGT: {name: "PWCMPWGT", start: 846, end: 855, reason: "field:PWCMPWGT"},
}

// String is the field's name in the layout, such as "PEMLR".
func (f Field) String() string {
	if int(f) < numFields {
		return layout[f].name
	}
	return "Field(?)"
}

// Start is the field's first column, 1-based as the layout documents it.
func (f Field) Start() int { return layout[f].start }

// End is the field's last column, 1-based and inclusive.
func (f Field) End() int { return layout[f].end }

// Width is the number of columns the field takes.
func (f Field) Width() int { return layout[f].end - layout[f].start + 1 }

// Bytes is the field's text in a record of RecordLen characters.
func (f Field) Bytes(record []byte) []byte { return record[layout[f].start-1 : layout[f].end] }

// Reason is the reject reason of a bad value in the field, such as
// "field:PEMLR".
func (f Field) Reason() string { return layout[f].reason }

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
	HRHHID   [15]byte // household identifier, 15 digits
	HRMONTH  int16
	HRYEAR4  int16
	HUFINAL  int16
	HETENURE int16
	HEHOUSUT int16
	GESTFIPS int16
	PRTAGE   int16
	PESEX    int16
	PRPERTYP int16
	PEMLR    int16
	PWLGWGT  int64
	PWSSWGT  int64
	PWCMPWGT int64
}

// HouseholdID is HRHHID as a string.
func (r *Record) HouseholdID() string { return string(r.HRHHID[:]) }

// LaborForce is the labor force status of the record's PEMLR.
func (r *Record) LaborForce() LaborForce { return LaborForceStatus(int(r.PEMLR)) }

// Parse reads one record from line into r. The line may end in "\r\n",
// "\n" or "\r"; what remains must be exactly RecordLen characters. lineNo
// only labels errors. Every error is a *ParseError; r is partly filled
// when Parse fails.
//
// Fields are checked as follows: HRHHID must be 15 digits; every other
// field a right-justified integer, optionally negative, with spaces only
// before it (a blank field is an error, as no real file leaves these
// items blank); codes must lie in the ranges the layout defines, widened to
// admit -1 (not in universe); GESTFIPS must be one of the 50 states or DC.
// Weights are not range-checked.
func Parse(line []byte, lineNo int, r *Record) error {
	line = TrimEOL(line)
	if len(line) != RecordLen {
		return &ParseError{Line: lineNo, Len: len(line), Err: ErrLength}
	}
	id := HRHHID.Bytes(line)
	for _, c := range id {
		if c < '0' || c > '9' {
			return fieldError(lineNo, HRHHID, id, ErrNotNumber)
		}
	}
	copy(r.HRHHID[:], id)

	var v [numFields]int64
	for f := HRMONTH; f < numFields; f++ {
		n, err := parseField(line, lineNo, f)
		if err != nil {
			return err
		}
		v[f] = n
	}
	if !ValidState(int(v[GESTFIPS])) {
		return fieldError(lineNo, GESTFIPS, GESTFIPS.Bytes(line), ErrState)
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

func parseField(line []byte, lineNo int, f Field) (int64, error) {
	spec := &layout[f]
	b := line[spec.start-1 : spec.end]
	n, st := atoi(b)
	switch {
	case st == numBlank:
		return 0, fieldError(lineNo, f, b, ErrBlank)
	case st == numBad:
		return 0, fieldError(lineNo, f, b, ErrNotNumber)
	case spec.checked && (n < spec.min || n > spec.max):
		return 0, fieldError(lineNo, f, b, &rangeError{min: spec.min, max: spec.max})
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
