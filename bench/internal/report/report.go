// Package report collects the benchmark's figures and writes them as a
// Markdown report: one table row per figure with the median, minimum and
// maximum of its runs and the machine's load while they ran.
package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/kafka-scale/kafka-scale/bench/internal/stat"
)

// Figure is one measured quantity.
type Figure struct {
	Section string // table it belongs to
	Name    string
	Unit    string
	stat.Summary
	// Load is the 1-minute load average at the start of each run: the
	// machine is shared, and a figure means little without it.
	LoadMin, LoadMax float64
	Note             string
}

// Run is one run of a measurement: its value and the load average when it
// started.
type Run struct {
	Value float64
	Load  float64
}

// NewFigure summarises runs.
func NewFigure(section, name, unit string, runs []Run) Figure {
	f := Figure{Section: section, Name: name, Unit: unit, LoadMin: math.Inf(1), LoadMax: math.Inf(-1)}
	vals := make([]float64, len(runs))
	for i, r := range runs {
		vals[i] = r.Value
		f.LoadMin, f.LoadMax = min(f.LoadMin, r.Load), max(f.LoadMax, r.Load)
	}
	if len(runs) == 0 {
		f.LoadMin, f.LoadMax = 0, 0
	}
	f.Summary = stat.Summarize(vals)
	return f
}

// Report is the whole benchmark's output.
type Report struct {
	Title    string
	Command  string
	Machine  [][2]string // name, value
	Settings [][2]string
	Figures  []Figure
	Notes    []string // paragraphs after the tables
}

// Add appends figures.
func (r *Report) Add(f ...Figure) { r.Figures = append(r.Figures, f...) }

// Find returns the figure of section and name.
func (r *Report) Find(section, name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Section == section && f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// WriteMarkdown writes the report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	fmt.Fprintf(&b, "Produced by `%s`.\n\n", r.Command)
	writeKV(&b, "Machine", r.Machine)
	writeKV(&b, "Settings", r.Settings)
	for i, f := range r.Figures {
		if i == 0 || f.Section != r.Figures[i-1].Section {
			fmt.Fprintf(&b, "## %s\n\n", f.Section)
			b.WriteString("| figure | median | min | max | unit | runs | load (1 min) |\n|---|---:|---:|---:|---|---:|---|\n")
		}
		name := f.Name
		if f.Note != "" {
			name += " (" + f.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", name, Num(f.Median), Num(f.Min), Num(f.Max), f.Unit, f.Runs, load(f))
		if i+1 == len(r.Figures) || r.Figures[i+1].Section != f.Section {
			b.WriteString("\n")
		}
	}
	for _, n := range r.Notes {
		b.WriteString(n)
		b.WriteString("\n\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

func writeKV(b *strings.Builder, title string, kvs [][2]string) {
	if len(kvs) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n| | |\n|---|---|\n", title)
	for _, kv := range kvs {
		fmt.Fprintf(b, "| %s | %s |\n", kv[0], kv[1])
	}
	b.WriteString("\n")
}

func load(f Figure) string {
	if f.Runs == 0 {
		return ""
	}
	if f.LoadMin == f.LoadMax {
		return fmt.Sprintf("%.1f", f.LoadMin)
	}
	return fmt.Sprintf("%.1f–%.1f", f.LoadMin, f.LoadMax)
}

// Num formats a figure with three significant digits, and thousands
// separated for large ones.
func Num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return group(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func group(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}
