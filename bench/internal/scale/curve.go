package scale

import (
	"fmt"
	"math"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/bench/internal/stat"
)

// Point is the runs of one input size on one cluster.
type Point struct {
	Cluster string
	Months  int
	Records int
	Samples []Sample
}

// Of summarises one quantity over the point's runs.
func (p Point) Of(f func(Sample) float64) stat.Summary {
	xs := make([]float64, len(p.Samples))
	for i, s := range p.Samples {
		xs[i] = f(s)
	}
	return stat.Summarize(xs)
}

// Median is the median of one quantity over the point's runs.
func (p Point) Median(f func(Sample) float64) float64 { return p.Of(f).Median }

// Quantity is one figure of a run, with how it ought to grow.
type Quantity struct {
	Name string
	Unit string
	Of   func(Sample) float64
	// Flat says the figure ought not to grow with the input (a rate, a
	// peak of memory); otherwise it ought to grow as the input, no faster.
	Flat bool
	Why  string // why it grows as it does, for the report
}

func cpuSeconds(name string) func(Sample) float64 {
	return func(s Sample) float64 { return s.CPU[name].Seconds() }
}

func rssMB(name string) func(Sample) float64 {
	return func(s Sample) float64 { return float64(s.PeakRSS[name]) / 1e6 }
}

// Quantities are the figures the report gives for every size.
var Quantities = []Quantity{
	{Name: "wall time", Unit: "s", Of: func(s Sample) float64 { return s.Wall.Seconds() },
		Why: "the records stream through every stage at once, so the time is the work's, plus fixed costs (a first fetch, the last transaction and snapshot) that weigh less as the input grows"},
	{Name: "records/s", Unit: "records/s", Of: Sample.Rate, Flat: true,
		Why: "a rate: constant if nothing per record grows with what came before"},
	{Name: "reader CPU", Unit: "s", Of: cpuSeconds("reader"), Why: "gzip decoding, cutting and LZ4 compression of every record"},
	{Name: "computer CPU", Unit: "s", Of: cpuSeconds("computer"), Why: "parsing and tallying every record; a result per chunk"},
	{Name: "aggregator CPU", Unit: "s", Of: cpuSeconds("aggregator"), Why: "one merge per chunk's result, and snapshots of the sources changed since the last"},
	{Name: "broker CPU", Unit: "s", Of: cpuSeconds("broker"), Why: "every chunk written, fetched and replicated once, every result in a transaction"},
	{Name: "CPU floor ratio", Unit: "×", Of: func(s Sample) float64 { return s.FloorRatio(Cores) }, Flat: true,
		Why: "wall time against all CPU seconds spread over the cores: above 1 when a stage waits on another or the cores do other work"},
	{Name: "other work's CPU", Unit: "s", Of: func(s Sample) float64 { return s.OthersCPU().Seconds() },
		Why: "the machine's other processes over the same wall time (/proc/stat less ours): grows with the wall time when the machine is shared"},
	{Name: "whole-machine floor ratio", Unit: "×", Of: func(s Sample) float64 { return s.Wall.Seconds() / (s.MachineCPU.Seconds() / float64(Cores)) }, Flat: true,
		Why: "wall time against every process's CPU seconds spread over the cores: near 1 when the cores were never idle, so that our floor ratio measures the other work too"},
	{Name: "reader peak RSS", Unit: "MB", Of: rssMB("reader"), Flat: true,
		Why: "--parallel files at once, each a gzip window and a chunk buffer, and librdkafka's queue (queue.buffering.max.kbytes)"},
	{Name: "computer peak RSS", Unit: "MB", Of: rssMB("computer"), Flat: true,
		Why: "librdkafka's fetch queue (queued.max.messages.kbytes, fetch sizes) and one transaction's results (--batch-chunks)"},
	{Name: "aggregator peak RSS", Unit: "MB", Of: rssMB("aggregator"), Flat: true,
		Why: "a tally per source: grows with the number of months (sources), by a few kilobytes each"},
	{Name: "broker disk", Unit: "MB", Of: func(s Sample) float64 { return float64(s.BrokerDisk) / 1e6 },
		Why: "the compute topic holds every record (LZ4-compressed), the results topic a tally per chunk"},
	{Name: "results topic", Unit: "MB", Of: func(s Sample) float64 { return float64(s.ResultsBytes) / 1e6 },
		Why: "one result per chunk, so as the input"},
	{Name: "state topic", Unit: "MB", Of: func(s Sample) float64 { return float64(s.StateBytes) / 1e6 },
		Why: "compacted, one record per source: as the number of months, not the records (before compaction, one per snapshot of each changed source)"},
}

// Cores is the number of cores the CPU floor spreads CPU time over; the
// command sets it to the machine's.
var Cores = 2

// Growth is how a figure grows from one input size to a larger one.
type Growth string

const (
	GrowthFlat      Growth = "flat"
	GrowthSub       Growth = "sub-linear"
	GrowthLinear    Growth = "linear"
	GrowthWorse     Growth = "worse than linear"
	GrowthFalls     Growth = "falls"
	GrowthUnmeasure Growth = "not measured"
)

// Exponent is k in y = c·x^k through (x0, y0) and (x1, y1): 0 for a flat
// figure, 1 for a linear one.
func Exponent(x0, y0, x1, y1 float64) float64 {
	return math.Log(y1/y0) / math.Log(x1/x0)
}

// Classify names the growth of exponent k. Between sizes 12 times apart,
// ±0.15 of k is a factor of 1.45: wide enough for a busy machine's noise,
// narrow enough to tell flat from linear.
func Classify(k float64) Growth {
	switch {
	case math.IsNaN(k) || math.IsInf(k, 0):
		return GrowthUnmeasure
	case k < -0.15:
		return GrowthFalls
	case k <= 0.15:
		return GrowthFlat
	case k < 0.85:
		return GrowthSub
	case k <= 1.15:
		return GrowthLinear
	default:
		return GrowthWorse
	}
}

// Target is one of the scale targets, evaluated on a run's medians.
type Target struct {
	Name     string
	Measured string
	Met      bool
}

// Targets evaluates the targets on the single broker's points: (a) the
// largest input's records/s at least RateShare of the base's, (b) the
// largest input's wall time within FloorLimit of its CPU floor, (c) every
// service's peak RSS at the largest input within RSSLimit of the base's.
func Targets(base, largest Point) []Target {
	var out []Target
	rb, rl := base.Median(Sample.Rate), largest.Median(Sample.Rate)
	out = append(out, Target{
		Name:     fmt.Sprintf("records/s at %d months ≥ %.0f%% of %d months'", largest.Months, RateShare*100, base.Months),
		Measured: fmt.Sprintf("%s against %s: %.0f%%", report.Num(rl), report.Num(rb), 100*rl/rb),
		Met:      rl >= RateShare*rb,
	})
	for _, p := range []Point{base, largest} {
		f := p.Median(func(s Sample) float64 { return s.FloorRatio(Cores) })
		wall := p.Median(func(s Sample) float64 { return s.Wall.Seconds() })
		cpu := p.Median(func(s Sample) float64 { return s.CPUTotal().Seconds() })
		out = append(out, Target{
			Name: fmt.Sprintf("%d months: wall time ≤ %.1f× the CPU floor (CPU s / %d cores)", p.Months, FloorLimit, Cores),
			Measured: fmt.Sprintf("%.2f s against %.2f CPU s / %d = %.2f s: %.2f×",
				wall, cpu, Cores, cpu/float64(Cores), f),
			Met: f <= FloorLimit,
		})
	}
	for _, svc := range Services {
		b, l := base.Median(rssMB(svc)), largest.Median(rssMB(svc))
		out = append(out, Target{
			Name:     fmt.Sprintf("%s peak RSS at %d months ≤ %.2f× %d months'", svc, largest.Months, RSSLimit, base.Months),
			Measured: fmt.Sprintf("%.0f MB against %.0f MB: %.2f×", l, b, l/b),
			Met:      l <= RSSLimit*b,
		})
	}
	return out
}

// The targets' bounds.
const (
	RateShare  = 0.9
	FloorLimit = 1.3
	RSSLimit   = 1.25
)
