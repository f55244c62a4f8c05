//go:build autoscaling

package autoscaling

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	grey   = color.RGBA{R: 127, G: 127, B: 127, A: 255}
)

// wholeTicks are gonum's default ticks labelled without decimals.
type wholeTicks struct{}

func (wholeTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.0f", ticks[i].Value)
		}
	}
	return ticks
}

// drawPNG draws the run in four panels sharing the time axis: the lag and
// KEDA's metric, the replicas (and the simulation's), the lag in seconds,
// and the census records reaching the aggregator.
func drawPNG(path string, samples []sample, simulated [][2]float64) error {
	xy := func(f func(s sample) float64) plotter.XYs {
		out := make(plotter.XYs, len(samples))
		for i, s := range samples {
			out[i] = plotter.XY{X: s.t.Seconds(), Y: f(s)}
		}
		return out
	}
	var sim plotter.XYs
	for _, p := range simulated {
		sim = append(sim, plotter.XY{X: p[0], Y: p[1]})
	}
	// The records a second, averaged over 5 s: the aggregator takes results
	// in batches.
	smooth := func(f func(s sample) float64, n int) plotter.XYs {
		out := make(plotter.XYs, len(samples))
		for i := range samples {
			lo := max(0, i-n+1)
			var sum float64
			for _, s := range samples[lo : i+1] {
				sum += f(s)
			}
			out[i] = plotter.XY{X: samples[i].t.Seconds(), Y: sum / float64(i+1-lo)}
		}
		return out
	}
	type series struct {
		name   string
		xy     plotter.XYs
		color  color.Color
		dashed bool
		steps  bool
	}
	panels := []struct {
		title, ylabel string
		series        []series
	}{
		{"Lag of the computers' group", "messages (chunks of 250 records)", []series{
			{name: "lag (broker)", xy: xy(func(s sample) float64 { return float64(s.lag) }), color: blue},
			{name: fmt.Sprintf("KEDA metric (capped at %d x %d)", partitions, lagThreshold), xy: xy(func(s sample) float64 { return s.metric }), color: orange},
		}},
		{"Computers", "replicas", []series{
			{name: "spec.replicas (HPA)", xy: xy(func(s sample) float64 { return float64(s.replicas) }), color: blue, steps: true},
			{name: "computers consuming", xy: xy(func(s sample) float64 { return float64(s.members) }), color: green, steps: true},
			{name: "kafka-scale simulate", xy: sim, color: grey, dashed: true, steps: true},
		}},
		{"Lag in seconds (kafka_scale_consumer_lag_seconds, max)", "seconds", []series{
			{name: "lag seconds", xy: xy(func(s sample) float64 { return s.lagSeconds }), color: blue},
		}},
		{"Throughput", "census records / s (5 s mean)", []series{
			{name: "committed by the computers", xy: smooth(func(s sample) float64 { return s.messagesPerSecond * chunkSize }, 5), color: blue},
			{name: "counted by the aggregator", xy: smooth(func(s sample) float64 { return s.recordsPerSecond }, 5), color: orange, dashed: true},
		}},
	}
	var plots [][]*plot.Plot
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.Y.Label.Text = pn.ylabel
		p.Y.Min = 0
		p.Y.Tick.Marker = wholeTicks{}
		if i == len(panels)-1 {
			p.X.Label.Text = "seconds since the reader started"
		}
		p.Add(plotter.NewGrid())
		for _, s := range pn.series {
			if len(s.xy) == 0 {
				continue
			}
			l, err := plotter.NewLine(s.xy)
			if err != nil {
				return err
			}
			l.Color = s.color
			l.Width = vg.Points(1.5)
			if s.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			if s.steps {
				l.StepStyle = plotter.PostStep
			}
			p.Add(l)
			p.Legend.Add(s.name, l)
		}
		p.Legend.Top = true
		p.Legend.Left = false
		plots = append(plots, []*plot.Plot{p})
	}
	// One x range for all panels.
	xmax := samples[len(samples)-1].t.Seconds()
	for _, row := range plots {
		row[0].X.Min, row[0].X.Max = 0, xmax
	}
	img := vgimg.New(9*vg.Inch, 11*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(10)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
