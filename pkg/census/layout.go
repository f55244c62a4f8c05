package census

import (
	"fmt"
	"strconv"
)

//go:generate go run ./internal/layoutgen -in layouts/layouts.tsv -out layouts_gen.go

// column is where a field sits in one layout; start 0 when the layout has
// no such field.
type column struct {
	name       string // the layout's name of the field, e.g. "PEAGE"
	start, end int    // 1-based, inclusive
}

// layoutColumns is one layout as layouts_gen.go describes it.
type layoutColumns struct {
	name        string
	first, last string // "1994-01"
	end         int    // the last column the layout describes
	cols        [numFields]column
}

// ageTopCodes are PRTAGE's top codes, by the first month each applies to
// (the Census record layouts; see layouts/README.md): 90 until 2002, 80
// (80 and over) from January 2003, 85 (85 and over; 80 then means 80-84)
// from April 2004. They change within a layout, so they are kept apart
// from the columns.
var ageTopCodes = []struct {
	from int // yyyymm
	top  int
}{{199401, 90}, {200301, 80}, {200404, 85}}

// Layout is one record layout of the basic monthly files: the columns of
// the fields Parse reads, in the months it covers.
type Layout struct {
	// Name is the layout's data dictionary, such as "cpsbjan94".
	Name string
	// First and Last are the months it covers, "1994-01" to "1994-03".
	// The newest layout's Last is where layouts.tsv ends; it covers the
	// months after that too, until a new layout is published.
	First, Last string
	// End is the last column the layout describes: a record must be at
	// least this long.
	End int

	first, last  int // yyyymm
	twoDigitYear bool
	fields       [numFields]fieldSpec
}

// Weight is the field behind the labor force levels of the layout's months:
// the composited final weight PWCMPWGT from 1998, the final weight PWSSWGT
// before (those layouts have no PWCMPWGT).
func (l *Layout) Weight() Field {
	if l.fields[PWCMPWGT].start == 0 {
		return PWSSWGT
	}
	return PWCMPWGT
}

// Has reports whether the layout has field f.
func (l *Layout) Has(f Field) bool { return l.fields[f].start > 0 }

// Columns is where field f sits in the layout, 1-based and inclusive, with
// the layout's name of it (the age is PEAGE before May 2012, the year
// HRYEAR, two digits, before 1998); 0, 0 and "" when the layout has no f.
func (l *Layout) Columns(f Field) (name string, start, end int) {
	s := &l.fields[f]
	return s.name, s.start, s.end
}

// Bytes is field f's text in record, which must be at least l.End long; nil
// when the layout has no f.
func (l *Layout) Bytes(f Field, record []byte) []byte {
	s := &l.fields[f]
	if s.start == 0 {
		return nil
	}
	return record[s.start-1 : s.end]
}

// AgeTopCode is the largest PRTAGE a record of year/month may hold.
func AgeTopCode(year, month int) int {
	ym, top := year*100+month, 0
	for _, t := range ageTopCodes {
		if ym >= t.from {
			top = t.top
		}
	}
	return top
}

// TwoDigitYear reports whether the layout writes the year with two digits
// (HRYEAR, before 1998); Parse reads it as 19yy.
func (l *Layout) TwoDigitYear() bool { return l.twoDigitYear }

var layouts = func() []*Layout {
	out := make([]*Layout, len(generatedLayouts))
	for i := range generatedLayouts {
		g := &generatedLayouts[i]
		l := &Layout{Name: g.name, First: g.first, Last: g.last, End: g.end, first: yyyymm(g.first), last: yyyymm(g.last)}
		for f := range Field(numFields) {
			c := g.cols[f]
			spec := checks[f]
			spec.name, spec.start, spec.end = c.name, c.start, c.end
			l.fields[f] = spec
		}
		l.twoDigitYear = l.fields[HRYEAR4].end-l.fields[HRYEAR4].start == 1
		if l.twoDigitYear {
			l.fields[HRYEAR4].min, l.fields[HRYEAR4].max = 0, 99
		}
		out[i] = l
	}
	return out
}()

func yyyymm(s string) int {
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:])
	if len(s) != 7 || err1 != nil || err2 != nil {
		panic("census: layout month " + s)
	}
	return y*100 + m
}

// Layouts lists every layout, oldest first.
func Layouts() []*Layout { return append([]*Layout(nil), layouts...) }

// Newest is the layout of the newest months.
func Newest() *Layout { return layouts[len(layouts)-1] }

// FirstYear and FirstMonth are the first month of the basic monthly files
// in their present form (January 1994).
const (
	FirstYear  = 1994
	FirstMonth = 1
)

// LayoutOf is the layout of the records of year/month.
func LayoutOf(year, month int) (*Layout, error) {
	if month < 1 || month > 12 {
		return nil, fmt.Errorf("census layout of %d-%02d: month %d: want 1-12", year, month, month)
	}
	ym := year*100 + month
	if ym < layouts[0].first {
		return nil, fmt.Errorf("census layout of %d-%02d: the basic monthly files in this form begin in %s", year, month, layouts[0].First)
	}
	for _, l := range layouts {
		if ym <= l.last {
			return l, nil
		}
	}
	return Newest(), nil
}

// Parser parses the records of one source: a month's file, in that month's
// layout, each record checked against the month, or a file of unknown
// period in the newest layout.
type Parser struct {
	layout      *Layout
	year, month int64 // 0 when the period is unknown
	recordLen   int   // the exact length of a record; 0: at least layout.End
	weight      Field
	fields      [numFields]fieldSpec // the layout's, PRTAGE's maximum the month's top code
}

// NewParser returns the parser of the records of year/month (0, 0 for a
// source whose period is unknown: the newest layout, no check of the
// period). recordLen is the records' length without line ends, as read
// from the source; 0 accepts any length from the layout's last column on.
func NewParser(year, month, recordLen int) (*Parser, error) {
	l := Newest()
	top := ageTopCodes[len(ageTopCodes)-1].top
	if year != 0 || month != 0 {
		var err error
		if l, err = LayoutOf(year, month); err != nil {
			return nil, err
		}
		top = AgeTopCode(year, month)
	}
	if recordLen != 0 && recordLen < l.End {
		return nil, fmt.Errorf("%w: records of %d characters: layout %s describes columns up to %d", ErrLength, recordLen, l.Name, l.End)
	}
	p := &Parser{layout: l, year: int64(year), month: int64(month), recordLen: recordLen, weight: l.Weight(), fields: l.fields}
	p.fields[PRTAGE].max = int64(top)
	return p, nil
}

// Layout is the layout p reads.
func (p *Parser) Layout() *Layout { return p.layout }
