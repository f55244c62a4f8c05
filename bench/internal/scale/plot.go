package scale

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

var colors = map[string]color.Color{
	"records/s":  color.RGBA{R: 31, G: 119, B: 180, A: 255},
	"reader":     color.RGBA{R: 255, G: 127, B: 14, A: 255},
	"computer":   color.RGBA{R: 44, G: 160, B: 44, A: 255},
	"aggregator": color.RGBA{R: 214, G: 39, B: 40, A: 255},
}

// millionTicks label a log axis of records in millions.
type millionTicks struct{}

func (millionTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, v := range []float64{0.1e6, 0.15e6, 0.2e6, 0.5e6, 1e6, 2e6, 5e6, 10e6, 20e6, 50e6} {
		if v >= lo && v <= hi {
			out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%g", v/1e6)})
		}
	}
	return out
}

// WritePNG draws the curve in two panels sharing a log axis of input size:
// end-to-end records/s (median, with the runs' min and max), and each
// service's peak RSS.
func WritePNG(path string, points []Point) error {
	xy := func(f func(Sample) float64, pick func(Point, func(Sample) float64) float64) plotter.XYs {
		out := make(plotter.XYs, len(points))
		for i, p := range points {
			out[i] = plotter.XY{X: float64(p.Records), Y: pick(p, f)}
		}
		return out
	}
	med := func(p Point, f func(Sample) float64) float64 { return p.Of(f).Median }
	lo := func(p Point, f func(Sample) float64) float64 { return p.Of(f).Min }
	hi := func(p Point, f func(Sample) float64) float64 { return p.Of(f).Max }

	panel := func(title, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "input, million records (1, 3, 12, 36 months)"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = millionTicks{}
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		return p
	}
	line := func(p *plot.Plot, name string, pts plotter.XYs, dashed bool) error {
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, s.Color = colors[name], colors[name]
		if dashed {
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
			s.Radius = 0
			p.Add(l)
			return nil
		}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
		return nil
	}

	rate := panel("End to end: reader start to every source complete", "records/s (median; dashed: min, max)")
	if err := line(rate, "records/s", xy(Sample.Rate, med), false); err != nil {
		return err
	}
	for _, f := range []func(Point, func(Sample) float64) float64{lo, hi} {
		if err := line(rate, "records/s", xy(Sample.Rate, f), true); err != nil {
			return err
		}
	}
	rss := panel("Peak RSS of each service", "MB (median)")
	for _, svc := range Services {
		if err := line(rss, svc, xy(rssMB(svc), med), false); err != nil {
			return err
		}
	}

	const w, h = 8 * vg.Inch, 8 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 4, PadBottom: vg.Millimeter * 4, PadLeft: vg.Millimeter * 4, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{rate}, {rss}}, tiles, dc)
	rate.Draw(canvases[0][0])
	rss.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}
