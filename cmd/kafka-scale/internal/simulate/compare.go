package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns WriteCSV writes. ReadCSV needs t_seconds and
// replicas and reads whichever of the others are there, ignoring columns it
// does not know: a recorded run carries more.
var CSVHeader = []string{"t_seconds", "replicas", "members", "lag_messages", "lag_seconds", "metric", "messages_per_second"}

// HPAMetricColumn is a recorded run's column of the metric the HPA itself
// read at its last sync, as its status has it; a simulation has none.
const HPAMetricColumn = "hpa_metric"

// WriteCSV writes samples with CSVHeader.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, s := range samples {
		if err := cw.Write([]string{f(s.T.Seconds()), strconv.Itoa(int(s.Replicas)), strconv.Itoa(int(s.Members)),
			f(math.Round(s.Lag*10) / 10), f(math.Round(s.LagSeconds*10) / 10), f(math.Round(s.Metric*10) / 10),
			f(math.Round(s.Rate*10) / 10)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads samples written by WriteCSV or recorded from a real run.
func ReadCSV(r io.Reader) ([]Sample, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"t_seconds", "replicas"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("no %s column in %q", need, header)
		}
	}
	var out []Sample
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		num := func(name string) (float64, error) {
			i, ok := col[name]
			if !ok || i >= len(rec) || rec[i] == "" {
				return 0, nil
			}
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: %s %q: %w", line, name, rec[i], err)
			}
			return v, nil
		}
		var s Sample
		var v [7]float64
		for i, name := range CSVHeader {
			if v[i], err = num(name); err != nil {
				return nil, err
			}
		}
		s.T = time.Duration(v[0] * float64(time.Second))
		s.Replicas, s.Members = int32(v[1]), int32(v[2])
		s.Lag, s.LagSeconds, s.Metric, s.Rate = v[3], v[4], v[5], v[6]
		if _, ok := col[HPAMetricColumn]; ok {
			if s.HPAMetric, err = num(HPAMetricColumn); err != nil {
				return nil, err
			}
			s.HasHPAMetric = true
		}
		out = append(out, s)
	}
}

// Agreement says how closely a simulation's replicas follow a recorded
// run's.
type Agreement struct {
	// Samples is the recorded samples compared; Within the share of them
	// whose replicas the simulation matches within Tolerance; MaxDiff the
	// largest difference.
	Samples   int
	Tolerance int32
	Within    float64
	MaxDiff   int32
	// Peak replicas, first scale-up, drain (the lag back at 0 after it
	// rose), and return to the minimum, of the recorded run and of the
	// simulation (-1: never).
	PeakRecorded, PeakSimulated   int32
	UpRecorded, UpSimulated       time.Duration
	DrainRecorded, DrainSimulated time.Duration
	BackRecorded, BackSimulated   time.Duration
}

// Compare lines up the samples of a recorded run and of a simulation by
// time; min is the replicas the runs return to.
func Compare(recorded, simulated []Sample, tolerance, min int32) Agreement {
	ag := Agreement{Tolerance: tolerance}
	at := func(s []Sample, t time.Duration) (Sample, bool) {
		// The last sample at or before t.
		lo, hi := 0, len(s)
		for lo < hi {
			m := (lo + hi) / 2
			if s[m].T <= t {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == 0 {
			return Sample{}, false
		}
		return s[lo-1], true
	}
	within := 0
	for _, r := range recorded {
		s, ok := at(simulated, r.T)
		if !ok {
			continue
		}
		ag.Samples++
		d := r.Replicas - s.Replicas
		if d < 0 {
			d = -d
		}
		ag.MaxDiff = max(ag.MaxDiff, d)
		if d <= tolerance {
			within++
		}
	}
	if ag.Samples > 0 {
		ag.Within = float64(within) / float64(ag.Samples)
	}
	ag.PeakRecorded, ag.UpRecorded, ag.DrainRecorded, ag.BackRecorded = shape(recorded, min)
	ag.PeakSimulated, ag.UpSimulated, ag.DrainSimulated, ag.BackSimulated = shape(simulated, min)
	return ag
}

// shape is a run's peak replicas, first scale-up, first drain and last
// return to min.
func shape(s []Sample, min int32) (peak int32, up, drain, back time.Duration) {
	up, drain, back = -1, -1, -1
	lagged := false
	for i, x := range s {
		peak = max(peak, x.Replicas)
		if i > 0 && x.Replicas > s[i-1].Replicas && up < 0 {
			up = x.T
		}
		// A simulation's lag is fractional; a recording's whole messages.
		if x.Lag >= 0.5 {
			lagged = true
		} else if lagged && drain < 0 {
			drain = x.T
		}
		if i > 0 && x.Replicas == min && s[i-1].Replicas > min {
			back = x.T
		}
	}
	return peak, up, drain, back
}

func (a Agreement) String() string {
	d := func(t time.Duration) string {
		if t < 0 {
			return "never"
		}
		return t.String()
	}
	return fmt.Sprintf("replicas within %d of the recorded run's at %.0f%% of %d samples (largest difference %d)\n"+
		"peak replicas: recorded %d, simulated %d\n"+
		"first scale-up: recorded %s, simulated %s\n"+
		"lag drained: recorded %s, simulated %s\n"+
		"back at the minimum: recorded %s, simulated %s\n",
		a.Tolerance, 100*a.Within, a.Samples, a.MaxDiff, a.PeakRecorded, a.PeakSimulated,
		d(a.UpRecorded), d(a.UpSimulated), d(a.DrainRecorded), d(a.DrainSimulated), d(a.BackRecorded), d(a.BackSimulated))
}
