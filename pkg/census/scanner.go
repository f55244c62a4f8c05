package census

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// maxKept bounds the part of an overlong line a Scanner keeps: enough to
// show what the line was, not a whole file without line ends.
const maxKept = 4 * RecordLen

// Scanner reads a census file line by line. Lines end in "\n" or "\r\n"
// and the last may have no line end. Its buffers are reused: Bytes is
// valid only until the next Scan.
//
//	sc := census.NewScanner(r)
//	var rec census.Record
//	for sc.Scan() {
//		if err := sc.Parse(&rec); err != nil {
//			// count census.Reason(err), go on
//			continue
//		}
//		// use rec
//	}
//	if err := sc.Err(); err != nil { ... }
type Scanner struct {
	r      *bufio.Reader
	line   []byte // the current line without its line end, or its first maxKept bytes
	long   []byte // holds a line longer than the bufio buffer
	n      int    // the current line's length without its line end
	lineNo int
	err    error
}

// NewScanner returns a Scanner reading from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// Scan advances to the next line. It returns false at the end of the input
// or on a read error, which Err then returns.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	s.line, s.n = nil, 0
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return s.scanLong(b)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = fmt.Errorf("read line %d: %w", s.lineNo+1, err)
		return false
	}
	if len(b) == 0 {
		return false // io.EOF right after a line end
	}
	s.lineNo++
	s.line = TrimEOL(b)
	s.n = len(s.line)
	return true
}

// scanLong reads a line that does not fit the bufio buffer, keeping its
// first maxKept bytes and counting the rest.
func (s *Scanner) scanLong(b []byte) bool {
	s.lineNo++
	s.long, s.n = s.long[:0], 0
	var last byte
	for atEOF := false; ; {
		eol := len(b) > 0 && b[len(b)-1] == '\n'
		if eol {
			b = b[:len(b)-1]
		}
		if room := maxKept - len(s.long); room > 0 {
			s.long = append(s.long, b[:min(room, len(b))]...)
		}
		if len(b) > 0 {
			last = b[len(b)-1]
		}
		s.n += len(b)
		if eol || atEOF {
			break
		}
		var err error
		b, err = s.r.ReadSlice('\n')
		atEOF = errors.Is(err, io.EOF)
		if err != nil && !atEOF && !errors.Is(err, bufio.ErrBufferFull) {
			s.err = fmt.Errorf("read line %d: %w", s.lineNo, err)
			return false
		}
	}
	if last == '\r' {
		s.n-- // part of the line end, wherever the bufio buffer split the line
	}
	s.line = s.long
	return true
}

// Bytes is the current line without its line end. For a line longer than
// a few records, it is only the line's beginning; Len is its length.
func (s *Scanner) Bytes() []byte { return s.line }

// Len is the length of the current line without its line end.
func (s *Scanner) Len() int { return s.n }

// Line is the 1-based number of the current line.
func (s *Scanner) Line() int { return s.lineNo }

// Parse parses the current line into r, as Parse does.
func (s *Scanner) Parse(r *Record) error {
	if s.n != len(s.line) {
		return &ParseError{Line: s.lineNo, Len: s.n, Err: ErrLength}
	}
	return Parse(s.line, s.lineNo, r)
}

// Err is the first read error, or nil at a clean end of input.
func (s *Scanner) Err() error { return s.err }
