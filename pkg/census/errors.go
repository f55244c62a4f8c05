package census

import (
	"errors"
	"fmt"
)

// Reasons why a record is rejected, for errors.Is. ErrNotNumber, ErrBlank,
// ErrRange and ErrState are all also ErrField.
var (
	ErrLength    = errors.New("wrong record length")
	ErrField     = errors.New("bad field")
	ErrNotNumber = &reasonError{msg: "is not a number"}
	ErrBlank     = &reasonError{msg: "is blank"}
	ErrRange     = &reasonError{msg: "is out of range"}
	ErrState     = &reasonError{msg: "is not a state FIPS code"}
	ErrPeriod    = errors.New("record of another month")
)

// ReasonLength is the reject reason of a line of the wrong length; a bad
// field's reason is the field's Reason, such as "field:PEMLR".
const ReasonLength = "length"

// ReasonPeriod is the reject reason of a record whose HRMONTH and year are
// not the month of its source.
const ReasonPeriod = "period"

// ReasonOther is the reject reason of an error that is not a *ParseError.
const ReasonOther = "other"

// reasonError is a sentinel under ErrField whose text completes a field
// error's message.
type reasonError struct{ msg string }

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return ErrField }

// rangeError is ErrRange with the bounds that were broken.
type rangeError struct{ min, max int64 }

func (e *rangeError) Error() string { return fmt.Sprintf("%s %d..%d", ErrRange.msg, e.min, e.max) }
func (e *rangeError) Unwrap() error { return ErrRange }

// ParseError tells which line could not be parsed, and why.
type ParseError struct {
	Line  int    // 1-based line number, as given to Parse
	Field string // the bad field's name; "" when the length is wrong
	Col   int    // the bad field's first column, 1-based
	End   int    // the bad field's last column
	Value string // the bad field's text
	Len   int    // the record's length without its line end, when that is wrong
	// Want is the length wanted when Len is wrong (at least Want when
	// Layout is set), or the source's month as yyyymm for ErrPeriod.
	Want   int
	Layout string // the layout's name, when it explains the error
	Period [2]int // the record's year and month, for ErrPeriod
	Err    error  // ErrLength, ErrPeriod, or a reason under ErrField

	reason string
}

func (e *ParseError) Error() string {
	switch {
	case e.Err == ErrPeriod:
		return fmt.Sprintf("line %d: record of %04d-%02d in a file of %04d-%02d", e.Line,
			e.Period[0], e.Period[1], e.Want/100, e.Want%100)
	case e.Field == "" && e.Layout != "":
		return fmt.Sprintf("line %d: record is %d characters, want at least %d (the last column of layout %s)", e.Line, e.Len, e.Want, e.Layout)
	case e.Field == "":
		want := e.Want
		if want == 0 {
			want = RecordLen
		}
		return fmt.Sprintf("line %d: record is %d characters, want %d", e.Line, e.Len, want)
	}
	return fmt.Sprintf("line %d: field %s (cols %d-%d): %q %v", e.Line, e.Field, e.Col, e.End, e.Value, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Reason is a short, stable name of what went wrong, such as "length" or
// "field:PEMLR", fit for a metric label: there is one per field at most.
func (e *ParseError) Reason() string {
	switch {
	case e.Err == ErrPeriod:
		return ReasonPeriod
	case e.Field == "":
		return ReasonLength
	case e.reason != "":
		return e.reason
	}
	return "field:" + e.Field
}

// Reason is the reject reason of err: its *ParseError's Reason, or
// ReasonOther.
func Reason(err error) string {
	if pe, ok := errors.AsType[*ParseError](err); ok {
		return pe.Reason()
	}
	return ReasonOther
}

// Reasons lists every reason Reason can return, for metrics to start at 0.
func Reasons() []string {
	rs := []string{ReasonLength}
	for f := range Field(numFields) {
		rs = append(rs, f.Reason())
	}
	return append(rs, ReasonPeriod, ReasonOther)
}

func fieldError(lineNo int, spec *fieldSpec, value []byte, err error) *ParseError {
	return &ParseError{Line: lineNo, Field: spec.name, Col: spec.start, End: spec.end, Value: string(value), Err: err, reason: spec.reason}
}
