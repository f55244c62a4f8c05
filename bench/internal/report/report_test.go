package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNum(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.01234, "0.012"}, {1.234, "1.23"}, {12.34, "12.3"}, {123.4, "123"},
		{1234.6, "1,235"}, {1234567, "1,234,567"}, {-98765, "-98,765"},
	} {
		require.Equal(t, tc.want, Num(tc.in), "%v", tc.in)
	}
}

func TestWriteMarkdown(t *testing.T) {
	r := &Report{Title: "Benchmark", Command: "make bench", Machine: [][2]string{{"cores", "2"}}}
	r.Add(NewFigure("Limits", "parse", "records/s", []Run{{Value: 3e6, Load: 1}, {Value: 1e6, Load: 2.5}, {Value: 2e6, Load: 2}}))
	f := NewFigure("Limits", "gzip", "MB/s", []Run{{Value: 250, Load: 0.5}})
	f.Note = "one core"
	r.Add(f, NewFigure("Stages", "reader", "s", []Run{{Value: 5, Load: 3}, {Value: 7, Load: 3}}))
	r.Notes = []string{"A note."}
	var b strings.Builder
	require.NoError(t, r.WriteMarkdown(&b))
	require.Equal(t, `# Benchmark

Produced by `+"`make bench`"+`.

## Machine

| | |
|---|---|
| cores | 2 |

## Limits

| figure | median | min | max | unit | runs | load (1 min) |
|---|---:|---:|---:|---|---:|---|
| parse | 2,000,000 | 1,000,000 | 3,000,000 | records/s | 3 | 1.0–2.5 |
| gzip (one core) | 250 | 250 | 250 | MB/s | 1 | 0.5 |

## Stages

| figure | median | min | max | unit | runs | load (1 min) |
|---|---:|---:|---:|---|---:|---|
| reader | 6.00 | 5.00 | 7.00 | s | 2 | 3.0 |

A note.
`, b.String())
	got, ok := r.Find("Stages", "reader")
	require.True(t, ok)
	require.Equal(t, 6.0, got.Median)
}
