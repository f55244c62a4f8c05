// Package censusgen writes synthetic CPS basic monthly files, in the layout
// and line format of the real ones, together with the exact tabulation the
// pipeline must produce from them.
//
// Output is deterministic: the same Options give the same bytes. Records
// are built on real records (see template.go), with the tabulated items
// drawn from plausible distributions: households of one to seven persons
// sharing HRHHID, states weighted by population, ages with children and a
// top code, and a labor force whose unemployment rate is a few percent,
// different in every month and state. Each month is written in its own
// record layout (census.LayoutOf), with its age top code and, before 1998,
// two-digit years. The expected tabulation is made by parsing every line
// written with the month's census.Parser and adding it to a Tally, so it is
// exact by construction.
package censusgen

import (
	"archive/zip"
	"bufio"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Years the generator accepts: the span in which a file name's two-digit
// year is unambiguous (see census.ParseFileName).
const (
	MinYear = 1994
	MaxYear = 2093
)

// Options say what to generate.
type Options struct {
	Year, Month int
	// Records is the number of good records; bad ones come on top.
	Records int
	Seed    uint64
	// UnemploymentRate, when above 0, replaces the month's own base rate
	// (between 3.5% and 5%); states and ages vary around it.
	UnemploymentRate float64
	// Bad are lines to write in place of records, for tests of rejects.
	Bad []Bad
	// Format is how WriteFile stores the file: FormatGzip (the default) or
	// FormatZip.
	Format string
}

// BadKind is a way a line can be bad.
type BadKind int

// Kinds of bad line, with the reject reason census.Parse gives them.
const (
	Short    BadKind = iota + 1 // 2 characters short: "length"
	Long                        // 2 characters too long: "length"
	BadPEMLR                    // PEMLR "x1": "field:PEMLR"
)

func (k BadKind) String() string {
	switch k {
	case Short:
		return "short"
	case Long:
		return "long"
	case BadPEMLR:
		return "bad-pemlr"
	}
	return fmt.Sprintf("BadKind(%d)", int(k))
}

// ParseBadKind reads a BadKind from its String form.
func ParseBadKind(s string) (BadKind, error) {
	for k := Short; k <= BadPEMLR; k++ {
		if s == k.String() {
			return k, nil
		}
	}
	return 0, fmt.Errorf("bad line kind %q: want %s, %s or %s", s, Short, Long, BadPEMLR)
}

// Bad is a bad line at a 1-based line number of the output. Bad lines take
// no randomness, so the good records are the same with or without them.
type Bad struct {
	Line int
	Kind BadKind
}

// Expected is what the pipeline must make of a generated file.
type Expected struct {
	File     string        `json:"file,omitempty"`
	Year     int           `json:"year"`
	Month    int           `json:"month"`
	Seed     uint64        `json:"seed"`
	Layout   string        `json:"layout,omitempty"` // the record layout written, such as "cpsbsep95"
	Lines    uint64        `json:"lines"`            // lines written, good and bad
	Records  uint64        `json:"records"`          // good records, the ones in Tally
	Rejected uint64        `json:"rejected"`         // bad lines
	Rejects  tally.Rejects `json:"rejects"`          // bad lines by census.Reason
	Tally    *tally.Tally  `json:"tally"`
}

func (o *Options) validate() error {
	switch {
	case o.Year < MinYear || o.Year > MaxYear:
		return fmt.Errorf("year %d: want %d-%d", o.Year, MinYear, MaxYear)
	case o.Month < 1 || o.Month > 12:
		return fmt.Errorf("month %d: want 1-12", o.Month)
	case o.Records < 0:
		return fmt.Errorf("records %d: want 0 or more", o.Records)
	case o.UnemploymentRate < 0 || o.UnemploymentRate >= 0.5:
		return fmt.Errorf("unemployment rate %g: want 0 (the month's own) or up to 0.5", o.UnemploymentRate)
	}
	lines := o.Records + len(o.Bad)
	seen := map[int]bool{}
	for _, b := range o.Bad {
		switch {
		case b.Line < 1 || b.Line > lines:
			return fmt.Errorf("bad line %d: want 1-%d", b.Line, lines)
		case seen[b.Line]:
			return fmt.Errorf("bad line %d: given twice", b.Line)
		case b.Kind < Short || b.Kind > BadPEMLR:
			return fmt.Errorf("bad line %d: unknown kind %d", b.Line, int(b.Kind))
		}
		seen[b.Line] = true
	}
	return nil
}

// Generate writes a file, uncompressed, to w and returns what the pipeline
// must make of it.
func Generate(w io.Writer, opts Options) (*Expected, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("generate %s: %w", census.FileName(opts.Year, opts.Month), err)
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bad := slices.SortedFunc(slices.Values(opts.Bad), func(a, b Bad) int { return cmp.Compare(a.Line, b.Line) })
	g := newGenerator(&opts)
	p, err := census.NewParser(opts.Year, opts.Month, census.RecordLen)
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", census.FileName(opts.Year, opts.Month), err)
	}
	exp := &Expected{Year: opts.Year, Month: opts.Month, Seed: opts.Seed, Layout: p.Layout().Name,
		Rejects: tally.Rejects{}, Tally: tally.New()}
	var rec census.Record
	lines := opts.Records + len(bad)
	for lineNo := 1; lineNo <= lines; lineNo++ {
		var line []byte
		wantBad := len(bad) > 0 && bad[0].Line == lineNo
		if wantBad {
			line = g.bad(bad[0].Kind)
			bad = bad[1:]
		} else {
			line = g.next()
		}
		err := p.Parse(line, lineNo, &rec)
		switch {
		case err == nil && !wantBad:
			exp.Tally.Add(&rec)
			exp.Records++
		case err != nil && wantBad:
			exp.Rejects.Add(census.Reason(err), 1)
			exp.Rejected++
		case err != nil:
			return nil, fmt.Errorf("generate %s: line %d does not parse: %w", census.FileName(opts.Year, opts.Month), lineNo, err)
		default:
			return nil, fmt.Errorf("generate %s: bad line %d parses", census.FileName(opts.Year, opts.Month), lineNo)
		}
		if _, err := bw.Write(line); err != nil {
			return nil, fmt.Errorf("generate %s: write line %d: %w", census.FileName(opts.Year, opts.Month), lineNo, err)
		}
		exp.Lines++
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("generate %s: write: %w", census.FileName(opts.Year, opts.Month), err)
	}
	return exp, nil
}

// GenerateGzip writes a file to w as Generate does, gzipped at the fastest
// level. The gzip header carries no name or time, so the bytes depend on
// opts only.
func GenerateGzip(w io.Writer, opts Options) (*Expected, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	exp, err := Generate(zw, opts)
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("generate %s: gzip: %w", census.FileName(opts.Year, opts.Month), err)
	}
	return exp, nil
}

// GenerateZip writes a file to w as Generate does, as a zip of one member
// <mon><yy>pub.dat, deflated, like the census site's files before 2015.
// The member's time is fixed, so the bytes depend on opts only.
func GenerateZip(w io.Writer, opts Options) (*Expected, error) {
	name := census.ZipFileName(opts.Year, opts.Month)
	zw := zip.NewWriter(w)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: strings.TrimSuffix(name, ".zip") + ".dat", Method: zip.Deflate,
		Modified: time.Date(opts.Year, time.Month(opts.Month), 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", name, err)
	}
	exp, err := Generate(fw, opts)
	if err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("generate %s: zip: %w", name, err)
	}
	return exp, nil
}

// Formats WriteFile writes.
const (
	FormatGzip = "gzip" // <mon><yy>pub.dat.gz
	FormatZip  = "zip"  // <mon><yy>pub.zip
)

// ExpectedFileName is the name of the expected tabulation of a month's
// file: "jan20pub.expected.json" next to "jan20pub.dat.gz".
func ExpectedFileName(year, month int) string {
	name := census.FileName(year, month)
	return name[:len(name)-len(".dat.gz")] + ".expected.json"
}

// WriteFile writes the file of opts into dir under its census name, gzipped
// (<mon><yy>pub.dat.gz) or, with opts.Format zip, zipped (<mon><yy>pub.zip),
// and returns its path and expected tabulation. The file appears whole or
// not at all: it is written under a temporary name and renamed.
func WriteFile(dir string, opts Options) (string, *Expected, error) {
	name, gen := census.FileName(opts.Year, opts.Month), GenerateGzip
	switch opts.Format {
	case "", FormatGzip:
	case FormatZip:
		name, gen = census.ZipFileName(opts.Year, opts.Month), GenerateZip
	default:
		return "", nil, fmt.Errorf("generate %s: format %q: want gzip or zip", name, opts.Format)
	}
	path := filepath.Join(dir, name)
	var exp *Expected
	err := writeAtomic(path, func(w io.Writer) error {
		var err error
		exp, err = gen(w, opts)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	exp.File = name
	return path, exp, nil
}

// WriteExpected writes e as indented JSON into dir under
// ExpectedFileName, and returns its path.
func WriteExpected(dir string, e *Expected) (string, error) {
	path := filepath.Join(dir, ExpectedFileName(e.Year, e.Month))
	err := writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	})
	return path, err
}

// ReadExpected reads an expected tabulation written by WriteExpected.
func ReadExpected(path string) (*Expected, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read expected tabulation: %w", err)
	}
	e := &Expected{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("read expected tabulation %s: %w", path, err)
	}
	if e.Tally == nil {
		e.Tally = tally.New()
	}
	if e.Rejects == nil {
		e.Rejects = tally.Rejects{}
	}
	return e, nil
}

func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
