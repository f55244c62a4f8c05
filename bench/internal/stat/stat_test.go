package stat

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{name: "none"},
		{name: "one", in: []float64{3}, want: Summary{Median: 3, Min: 3, Max: 3, Runs: 1}},
		{name: "odd", in: []float64{5, 1, 3}, want: Summary{Median: 3, Min: 1, Max: 5, Runs: 3}},
		{name: "even", in: []float64{4, 1, 2, 10}, want: Summary{Median: 3, Min: 1, Max: 10, Runs: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			require.Equal(t, tc.want, Summarize(tc.in))
			require.Equal(t, in, tc.in, "input left alone")
		})
	}
}

func TestLongestGap(t *testing.T) {
	ms := func(v ...int64) []int64 {
		for i := range v {
			v[i] *= int64(time.Millisecond)
		}
		return v
	}
	ts := ms(0, 10, 20, 500, 510, 900, 905)
	for _, tc := range []struct {
		name     string
		from, to int64
		want     Gap
	}{
		{name: "everywhere", from: 0, to: 1 << 62, want: Gap{Length: 480 * time.Millisecond, After: 20e6}},
		{name: "later window", from: 600e6, to: 1 << 62, want: Gap{Length: 390 * time.Millisecond, After: 510e6}},
		{name: "window before the long gap", from: 0, to: 100e6, want: Gap{Length: 10 * time.Millisecond, After: 0}},
		{name: "empty window", from: 950e6, to: 1 << 62},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, LongestGap(ts, tc.from, tc.to))
		})
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sources [][]int64
		rate    float64
		window  time.Duration
		events  int
	}{
		{name: "one source", sources: [][]int64{{0, 1e9, 2e9}}, rate: 1, window: 2 * time.Second, events: 2},
		{name: "two sources, from the later start to the later end",
			sources: [][]int64{{0, 0.5e9, 1e9, 1.5e9}, {1e9, 2e9, 3e9}}, rate: 1.5, window: 2 * time.Second, events: 3},
		{name: "nothing", sources: [][]int64{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate, window, events := Rate(tc.sources...)
			require.InDelta(t, tc.rate, rate, 1e-9)
			require.Equal(t, tc.window, window)
			require.Equal(t, tc.events, events)
		})
	}
}
