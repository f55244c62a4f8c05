package scale

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		k    float64
		want Growth
	}{
		{"constant", 0, GrowthFlat},
		{"noise around flat", 0.1, GrowthFlat},
		{"noise below flat", -0.1, GrowthFlat},
		{"falls", -0.5, GrowthFalls},
		{"square root", 0.5, GrowthSub},
		{"linear", 1, GrowthLinear},
		{"noise around linear", 1.1, GrowthLinear},
		{"a third past linear", 1.3, GrowthWorse},
		{"quadratic", 2, GrowthWorse},
		{"a zero figure", math.NaN(), GrowthUnmeasure},
		{"from zero", math.Inf(1), GrowthUnmeasure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.k))
		})
	}
}

func TestExponent(t *testing.T) {
	for _, tc := range []struct {
		name           string
		x0, y0, x1, y1 float64
		want           float64
	}{
		{"flat", 3, 10, 36, 10, 0},
		{"linear", 3, 10, 36, 120, 1},
		{"quadratic", 3, 9, 36, 1296, 2},
		{"halved", 1, 8, 4, 4, -0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, Exponent(tc.x0, tc.y0, tc.x1, tc.y1), 1e-9)
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  string
		want    int64
		wantErr string
	}{
		{"status", "Name:\taggregator\nVmPeak:\t 1306324 kB\nVmHWM:\t   61428 kB\nVmRSS:\t   59000 kB\n", 61428 * 1024, ""},
		{"no mark", "Name:\tx\nVmRSS:\t 1 kB\n", 0, "no VmHWM"},
		{"bad number", "VmHWM:\t many kB\n", 0, `VmHWM "\t many kB"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVmHWM([]byte(tc.status))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestVmHWMOfThisProcess(t *testing.T) {
	v, err := VmHWM(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, v)
}

func TestDataEnsureGeneratesOnce(t *testing.T) {
	cache := t.TempDir()
	d := Data{FirstYear: 2020, Records: 1000, Seed: 7}
	ctx := context.Background()
	paths, generated, err := d.Ensure(ctx, cache, 13, 2)
	require.NoError(t, err)
	require.Equal(t, 13, generated)
	require.Equal(t, filepath.Join(d.Dir(cache), "jan20pub.dat.gz"), paths[0])
	require.Equal(t, filepath.Join(d.Dir(cache), "jan21pub.dat.gz"), paths[12])
	first, err := os.ReadFile(paths[5])
	require.NoError(t, err)

	again, generated, err := d.Ensure(ctx, cache, 13, 2)
	require.NoError(t, err)
	require.Zero(t, generated, "every month is in the cache already")
	require.Equal(t, paths, again)

	// Another seed is other data: a directory of its own.
	other := Data{FirstYear: 2020, Records: 1000, Seed: 8}
	require.NotEqual(t, d.Dir(cache), other.Dir(cache))
	// A month removed from the cache is generated again, the same.
	require.NoError(t, os.Remove(paths[5]))
	_, generated, err = d.Ensure(ctx, cache, 13, 1)
	require.NoError(t, err)
	require.Equal(t, 1, generated)
	regenerated, err := os.ReadFile(paths[5])
	require.NoError(t, err)
	require.Equal(t, first, regenerated)
}

// sample is a run of months months at rate records/s with fixed per-record
// CPU and memory that grows by rssPerMonth.
func sample(months int, rate float64, rssPerMonth int64) Sample {
	records := months * 150_000
	wall := time.Duration(float64(records) / rate * float64(time.Second))
	perRecord := time.Duration(float64(wall) / float64(records) / 3) // ×1.5 the floor on 2 cores
	return Sample{Months: months, Records: records, Wall: wall, Load: 3,
		CPU: map[string]time.Duration{
			"reader": perRecord * time.Duration(records) / 2, "computer": perRecord * time.Duration(records) / 2,
			"aggregator": perRecord * time.Duration(records) / 2, "broker": perRecord * time.Duration(records) / 2,
		},
		PeakRSS:      map[string]int64{"reader": 60e6, "computer": 90e6, "aggregator": 40e6 + int64(months)*rssPerMonth},
		BrokerDisk:   int64(records) * 60,
		ResultsBytes: int64(records) * 2,
		StateBytes:   int64(months) * 20_000,
		MachineCPU:   perRecord * time.Duration(records) * 3,
	}
}

func point(months int, samples ...Sample) Point {
	return Point{Cluster: "1 broker", Months: months, Records: months * 150_000, Samples: samples}
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		base    Point
		largest Point
		want    []bool // rate, floor base, floor largest, RSS reader, computer, aggregator
	}{
		{
			name:    "steady",
			base:    point(3, sample(3, 400_000, 0)),
			largest: point(36, sample(36, 390_000, 0)),
			want:    []bool{true, false, false, true, true, true},
		},
		{
			name:    "rate falls and the aggregator grows",
			base:    point(3, sample(3, 400_000, 1e6), sample(3, 420_000, 1e6), sample(3, 100_000, 1e6)),
			largest: point(36, sample(36, 300_000, 1e6)),
			want:    []bool{false, false, false, true, true, false},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []bool
			for _, tg := range Targets(tc.base, tc.largest) {
				got = append(got, tg.Met)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr string
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"busy states only", "cpu  100 5 50 1000 20 3 2 1 40 0\ncpu0 50 2 25 500 10 1 1 0 20 0\n", 161 * 10 * time.Millisecond, ""},
		{"not the cpu line", "intr 1 2 3\n", 0, "want cpu"},
		{"bad number", "cpu  1 x 3 4 5 6 7 8\n", 0, `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestIsPartition(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{"results-0", true},
		{"results-11", true},
		{"results-aggregator-state-0", false},
		{"results-3.6f1c0e0b54a04d5c9b7c9b1c2d3e4f5a-delete", false},
		{"results-", false},
		{"results", false},
		{"resultsx-0", false},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			require.Equal(t, tc.want, isPartition(tc.dir, "results"))
		})
	}
}

func TestFloorRatio(t *testing.T) {
	s := Sample{Wall: 2 * time.Second, CPU: map[string]time.Duration{"reader": time.Second, "broker": 2 * time.Second}}
	require.InDelta(t, 2.0/1.5, s.FloorRatio(2), 1e-9)
}

func TestReportGolden(t *testing.T) {
	cfg := &Config{Data: Data{FirstYear: 2020, Records: 150_000, Seed: 1}, Runs: 3, WarmUps: 2, Computers: 1, Partitions: 12}
	one := func(m int, rate float64) Point {
		return point(m, sample(m, rate, 0), sample(m, rate*1.1, 0), sample(m, rate*0.9, 0))
	}
	points := []Point{one(1, 200_000), one(3, 350_000), one(12, 380_000), one(36, 370_000)}
	cluster := point(12, sample(12, 250_000, 0))
	cluster.Cluster = "3 brokers"
	r := &Report{Title: "kafka-scale scale curve, 2026-01-02", Command: "make bench-scale",
		Machine: [][2]string{{"cores", "2"}}, Settings: Settings(cfg), Points: points,
		Cluster: &cluster, ClusterBase: &points[2], Plot: "scale-2026-01-02.png", Notes: []string{"A note."}}
	var b bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&b))
	golden := filepath.Join("testdata", "report.md")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scale.png")
	points := []Point{point(1, sample(1, 200_000, 0)), point(3, sample(3, 350_000, 0)), point(36, sample(36, 370_000, 0))}
	require.NoError(t, WritePNG(path, points))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")), "a PNG file")
}
