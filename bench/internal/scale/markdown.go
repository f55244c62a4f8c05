package scale

import (
	"fmt"
	"io"
	"strings"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/bench/internal/stat"
)

// Report is what the scale benchmark writes.
type Report struct {
	Title   string
	Command string
	Machine [][2]string
	// Settings are the run's, and the ones that bound each service's
	// memory, with their defaults.
	Settings [][2]string
	Points   []Point // the single broker's, by size
	// Cluster is the same size on the three-broker cluster and on the
	// single broker, when measured.
	Cluster, ClusterBase *Point
	Plot                 string // file name of the plot, beside the report
	Notes                []string
}

// Base and Largest are the points the targets compare: the 3-month one
// (else the smallest) and the largest.
func (r *Report) Base() Point {
	for _, p := range r.Points {
		if p.Months == 3 {
			return p
		}
	}
	return r.Points[0]
}

// Largest is the point of the largest input.
func (r *Report) Largest() Point { return r.Points[len(r.Points)-1] }

// WriteMarkdown writes the report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nProduced by `%s`.\n\n", r.Title, r.Command)
	kv(&b, "Machine", r.Machine)
	kv(&b, "Settings", r.Settings)
	if r.Plot != "" {
		fmt.Fprintf(&b, "![records/s and peak RSS against input size](%s)\n\n", r.Plot)
	}

	b.WriteString("## The curve: one broker\n\nMedian of the runs, min–max in brackets; CPU from the reader's start to every source complete.\n\n| figure |")
	for _, p := range r.Points {
		fmt.Fprintf(&b, " %d month%s (%s records) |", p.Months, plural(p.Months), report.Num(float64(p.Records)))
	}
	b.WriteString("\n|---|")
	for range r.Points {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, q := range Quantities {
		fmt.Fprintf(&b, "| %s (%s) |", q.Name, q.Unit)
		for _, p := range r.Points {
			fmt.Fprintf(&b, " %s |", cell(p.Of(q.Of)))
		}
		b.WriteString("\n")
	}
	b.WriteString("| load average at the start |")
	for _, p := range r.Points {
		s := p.Of(func(s Sample) float64 { return s.Load })
		fmt.Fprintf(&b, " %.1f–%.1f |", s.Min, s.Max)
	}
	b.WriteString("\n\n")

	base, largest := r.Base(), r.Largest()
	fmt.Fprintf(&b, "## How each figure grows\n\nFrom %d to %d months (%.0f× the records): the exponent k of y ∝ records^k between the two medians (0 flat, 1 linear).\n\n",
		base.Months, largest.Months, float64(largest.Records)/float64(base.Records))
	b.WriteString("| figure | ratio | k | grows | ought to | why |\n|---|---|---|---|---|---|\n")
	for _, q := range Quantities {
		y0, y1 := base.Median(q.Of), largest.Median(q.Of)
		k := Exponent(float64(base.Records), y0, float64(largest.Records), y1)
		want := GrowthLinear
		if q.Flat {
			want = GrowthFlat
		}
		fmt.Fprintf(&b, "| %s | %.2f× | %.2f | %s | %s | %s |\n", q.Name, y1/y0, k, Classify(k), want, q.Why)
	}
	b.WriteString("\n")

	b.WriteString("## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range Targets(base, largest) {
		met := "no"
		if t.Met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, t.Measured, met)
	}
	b.WriteString("\n")

	// Peak RSS climbs towards a plateau over the first seconds of a run:
	// from the last size but one to the largest says whether it stays there.
	if n := len(r.Points); n >= 3 && r.Points[n-2].Months != base.Months {
		prev := r.Points[n-2]
		fmt.Fprintf(&b, "Peak RSS from %d to %d months (%.0f× the records), beside the target's %d to %d:\n\n| service | %d months | %d months | ratio |\n|---|---|---|---|\n",
			prev.Months, largest.Months, float64(largest.Records)/float64(prev.Records), base.Months, largest.Months, prev.Months, largest.Months)
		for _, svc := range Services {
			p, l := prev.Median(rssMB(svc)), largest.Median(rssMB(svc))
			fmt.Fprintf(&b, "| %s | %.0f MB | %.0f MB | %.2f× |\n", svc, p, l, l/p)
		}
		b.WriteString("\n")
	}

	if r.Cluster != nil && r.ClusterBase != nil {
		c, one := *r.Cluster, *r.ClusterBase
		fmt.Fprintf(&b, "## Three brokers\n\n%d months on scripts/kafka-cluster.sh (three KRaft nodes on loopback, replication factor 3, min.insync.replicas 2) beside the single broker's figure of the same run.\n\n", c.Months)
		b.WriteString("| figure | 1 broker | 3 brokers |\n|---|---|---|\n")
		for _, q := range Quantities {
			fmt.Fprintf(&b, "| %s (%s) | %s | %s |\n", q.Name, q.Unit, cell(one.Of(q.Of)), cell(c.Of(q.Of)))
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		b.WriteString(n + "\n\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

func cell(s stat.Summary) string {
	if s.Runs == 0 {
		return ""
	}
	if s.Runs == 1 {
		return report.Num(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", report.Num(s.Median), report.Num(s.Min), report.Num(s.Max))
}

func kv(b *strings.Builder, title string, kvs [][2]string) {
	if len(kvs) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n| | |\n|---|---|\n", title)
	for _, e := range kvs {
		fmt.Fprintf(b, "| %s | %s |\n", e[0], e[1])
	}
	b.WriteString("\n")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
