// Package stat summarises repeated measurements: the median of several runs
// with their minimum and maximum, and the pauses in a series of timestamps.
package stat

import (
	"slices"
	"time"
)

// Summary is what several runs of one measurement gave.
type Summary struct {
	Median, Min, Max float64
	Runs             int
}

// Summarize returns the median, minimum and maximum of xs. The median of an
// even number of runs is the mean of the middle two.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[n-1], Runs: n}
}

// Gap is the time between two consecutive timestamps.
type Gap struct {
	Length time.Duration
	After  int64 // the earlier timestamp, Unix nanoseconds
}

// LongestGap is the longest time between consecutive timestamps (Unix
// nanoseconds, in order) of which the later one falls in [from, to). It is
// zero when fewer than two timestamps qualify.
func LongestGap(ts []int64, from, to int64) Gap {
	var g Gap
	for i := 1; i < len(ts); i++ {
		if ts[i] < from || ts[i] >= to {
			continue
		}
		if d := time.Duration(ts[i] - ts[i-1]); d > g.Length {
			g = Gap{Length: d, After: ts[i-1]}
		}
	}
	return g
}

// Rate is the steady rate of events with the given timestamps (Unix
// nanoseconds, any order, from any number of sources) while every source
// was active: events per second between the latest first event and the
// latest last event of the sources, counting the events in that window.
// With one source it is the rate from its first event to its last.
func Rate(sources ...[]int64) (perSecond float64, window time.Duration, events int) {
	var start, end int64
	for _, ts := range sources {
		if len(ts) == 0 {
			continue
		}
		first, last := slices.Min(ts), slices.Max(ts)
		start, end = max(start, first), max(end, last)
	}
	for _, ts := range sources {
		for _, t := range ts {
			if t > start && t <= end {
				events++
			}
		}
	}
	window = time.Duration(end - start)
	if window <= 0 {
		return 0, 0, 0
	}
	return float64(events) / window.Seconds(), window, events
}
