// Package scrape reads a Prometheus /metrics page over HTTP, as the
// Prometheus server does, and answers questions about its samples: the sum
// or the largest value of a metric, or the value of one series.
//
// The page is parsed with the reference parser, prometheus/common/expfmt, so
// escaping, histograms and summaries are read as Prometheus reads them.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ErrStatus is returned when the /metrics page answers with a status other
// than 200.
var ErrStatus = errors.New("HTTP status")

// Samples are the samples of one scrape, named as in the text exposition: a
// histogram called foo gives foo_bucket (one sample per bound, +Inf
// included), foo_sum and foo_count.
type Samples model.Vector

// accept asks for the text exposition: promhttp would otherwise be free to
// answer with OpenMetrics, which expfmt does not fully decode.
const accept = `text/plain;version=` + expfmt.TextVersion

// Get scrapes the /metrics page at url.
func Get(ctx context.Context, url string) (Samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("scrape %s: %w %d", url, ErrStatus, resp.StatusCode)
	}
	s, err := Decode(resp.Body, expfmt.ResponseFormat(resp.Header))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return s, nil
}

// Decode reads a metrics page in format (the text exposition when
// expfmt.FmtUnknown).
func Decode(r io.Reader, format expfmt.Format) (Samples, error) {
	dec := expfmt.NewDecoder(r, format)
	var all model.Vector
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return Samples(all), nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode metrics: %w", err)
		}
		s, err := expfmt.ExtractSamples(&expfmt.DecodeOptions{}, &mf)
		if err != nil {
			return nil, fmt.Errorf("decode metrics: family %s: %w", mf.GetName(), err)
		}
		all = append(all, s...)
	}
}

// Named are the samples of the metric called name, whatever their labels.
func (s Samples) Named(name string) Samples {
	var out Samples
	for _, x := range s {
		if string(x.Metric[model.MetricNameLabel]) == name {
			out = append(out, x)
		}
	}
	return out
}

// Sum adds up the samples of the metric called name, whatever their labels,
// and says how many there were: a labelled metric has no sample until its
// first child is created, and its sum is then 0.
func (s Samples) Sum(name string) (float64, int) {
	var sum float64
	named := s.Named(name)
	for _, x := range named {
		sum += float64(x.Value)
	}
	return sum, len(named)
}

// Max is the largest sample of the metric called name, whatever its labels;
// false when it has none.
func (s Samples) Max(name string) (float64, bool) {
	named := s.Named(name)
	if len(named) == 0 {
		return 0, false
	}
	m := float64(named[0].Value)
	for _, x := range named[1:] {
		m = max(m, float64(x.Value))
	}
	return m, true
}

// Value is the value of one series, written as in the exposition, e.g.
// `kafka_scale_ready` or `foo_total{outcome="duplicate"}`; the order of the
// labels does not matter but the set must be complete. It is false when the
// page has no such series, and an error when series cannot be parsed.
func (s Samples) Value(series string) (float64, bool, error) {
	want, err := ParseSeries(series)
	if err != nil {
		return 0, false, err
	}
	for _, x := range s {
		if x.Metric.Equal(want) {
			return float64(x.Value), true, nil
		}
	}
	return 0, false, nil
}

// ParseSeries parses a series written as in the text exposition, e.g.
// `foo_total{outcome="duplicate"}`, into its name and labels.
func ParseSeries(series string) (model.Metric, error) {
	if strings.Contains(series, "\n") {
		return nil, fmt.Errorf("parse series %q: not a single series", series)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(series + " 0\n"))
	if err != nil {
		return nil, fmt.Errorf("parse series %q: %w", series, err)
	}
	for _, mf := range fams {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		out := model.Metric{model.MetricNameLabel: model.LabelValue(mf.GetName())}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			out[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
		}
		return out, nil
	}
	return nil, fmt.Errorf("parse series %q: no series", series)
}
