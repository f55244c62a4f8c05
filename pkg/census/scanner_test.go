package census

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

type scanned struct {
	Line, Len int
	Reason    string // "" for a good record
	PEMLR     int16
}

func scanAll(t *testing.T, r io.Reader) ([]scanned, error) {
	t.Helper()
	sc := NewScanner(r)
	var out []scanned
	var rec Record
	for sc.Scan() {
		s := scanned{Line: sc.Line(), Len: sc.Len()}
		if err := sc.Parse(&rec); err != nil {
			s.Reason = Reason(err)
			pe, ok := errors.AsType[*ParseError](err)
			require.True(t, ok)
			require.Equal(t, sc.Line(), pe.Line)
		} else {
			s.PEMLR = rec.PEMLR
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func TestScanner(t *testing.T) {
	lines := realLines(t)
	jan, apr := TrimEOL(lines[0]), TrimEOL(lines[1])
	cat := func(parts ...string) string { return strings.Join(parts, "") }
	good := func(line int, pemlr int16) scanned { return scanned{Line: line, Len: RecordLen, PEMLR: pemlr} }
	huge := strings.Repeat("9", 100_000)
	for _, tc := range []struct {
		name  string
		input string
		want  []scanned
	}{
		{name: "empty", input: ""},
		{name: "CRLF", input: cat(string(jan), "\r\n", string(apr), "\r\n"), want: []scanned{good(1, 5), good(2, 1)}},
		{name: "LF", input: cat(string(jan), "\n", string(apr), "\n"), want: []scanned{good(1, 5), good(2, 1)}},
		{name: "mixed", input: cat(string(jan), "\n", string(apr), "\r\n"), want: []scanned{good(1, 5), good(2, 1)}},
		{name: "last line without line end", input: cat(string(jan), "\r\n", string(apr)), want: []scanned{good(1, 5), good(2, 1)}},
		{
			name:  "blank and short lines are rejected, the rest read",
			input: cat(string(jan), "\r\n\r\nabc\r\n", string(apr), "\r\n"),
			want:  []scanned{good(1, 5), {Line: 2, Reason: "length"}, {Line: 3, Len: 3, Reason: "length"}, good(4, 1)},
		},
		{
			name:  "line longer than the buffer",
			input: cat(huge, "\r\n", string(apr), "\r\n"),
			want:  []scanned{{Line: 1, Len: len(huge), Reason: "length"}, good(2, 1)},
		},
		{
			name:  "long last line without line end",
			input: cat(string(jan), "\n", huge),
			want:  []scanned{good(1, 5), {Line: 2, Len: len(huge), Reason: "length"}},
		},
		{
			name:  "long line with LF",
			input: cat(huge, "\n", string(jan), "\n"),
			want:  []scanned{{Line: 1, Len: len(huge), Reason: "length"}, good(2, 5)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanAll(t, strings.NewReader(tc.input))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			// Reading one byte at a time splits lines everywhere.
			got, err = scanAll(t, iotest.OneByteReader(strings.NewReader(tc.input)))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestScannerBytes(t *testing.T) {
	sc := NewScanner(strings.NewReader("ab\r\ncd\n"))
	require.True(t, sc.Scan())
	require.Equal(t, "ab", string(sc.Bytes()))
	require.True(t, sc.Scan())
	require.Equal(t, "cd", string(sc.Bytes()))
	require.False(t, sc.Scan())
	require.False(t, sc.Scan())
	require.NoError(t, sc.Err())
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("connection reset")
	lines := realLines(t)
	r := io.MultiReader(bytes.NewReader(lines[0]), bytes.NewReader(lines[1][:500]), iotest.ErrReader(boom))
	got, err := scanAll(t, r)
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "read line 2: connection reset")
	require.Equal(t, []scanned{{Line: 1, Len: RecordLen, PEMLR: 5}}, got)
}

func BenchmarkScanner(b *testing.B) {
	lines := realLines(b)
	data := bytes.Repeat(bytes.Join(lines, nil), 5000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var rec Record
	records := 0
	for b.Loop() {
		sc := NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if err := sc.Parse(&rec); err != nil {
				b.Fatal(err)
			}
			records++
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
