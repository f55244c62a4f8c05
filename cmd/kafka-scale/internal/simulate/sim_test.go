package simulate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

func TestRunBurst(t *testing.T) {
	c := Defaults()
	c.Workload.Partitions = 6
	c.Workload.Loads = []Load{{At: 0, Messages: 1200}}
	c.Workload.Throughput = 5
	c.Autoscaler.MaxReplicas = 6
	c.Autoscaler.LagThreshold = 50
	res, err := Run(c)
	require.NoError(t, err)
	s := res.Summary
	require.True(t, s.Drained)
	require.True(t, s.Settled)
	// The chart's scale-up policies allow 1 -> 5 in the first minute (the
	// larger of +4 pods and +100 %); by the next minute the lag asks for
	// fewer.
	require.Equal(t, int32(5), s.PeakReplicas)
	require.Equal(t, 1, s.DirectionChanges, "one burst: up, then down")
	require.InDelta(t, 1200, s.PeakLag, 2)
	for _, x := range res.Samples {
		require.LessOrEqual(t, x.Replicas, int32(6))
		// Capped at partitions x lagThreshold, by KEDA's integer division:
		// up to a threshold more passes.
		require.Less(t, x.Metric, float64(7*50), "the metric is capped")
	}
	// 1200 messages at 5 x 5 a second take 48 s; the first sync, pod starts
	// and rebalances add to it; a single computer would take 240 s.
	require.Greater(t, s.Drain, 48*time.Second)
	require.Less(t, s.Drain, 120*time.Second)
	// Down one a minute after 5 minutes without a higher recommendation.
	require.Greater(t, s.Settle, s.Drain+300*time.Second)
}

func TestRunRecordedMetric(t *testing.T) {
	// The model has no work at all; the recording says KEDA served its cap,
	// 300, for the first minute and 0 after. The autoscaler follows the
	// recording: 1 -> 5 (the chart's policies) -> 6, then halved (the
	// chart's 50 % a minute) after the 5-minute window, until the
	// recording ends.
	c := Defaults()
	c.Workload.Partitions = 6
	c.Workload.Loads = nil
	c.Autoscaler.MaxReplicas = 6
	c.Autoscaler.LagThreshold = 50
	for s := 0; s <= 600; s++ {
		m := 0.0
		if s < 75 {
			m = 300
		}
		c.Recorded = append(c.Recorded, Sample{T: time.Duration(s) * time.Second, Metric: m})
	}
	res, err := Run(c)
	require.NoError(t, err)
	require.Equal(t, int32(6), res.Summary.PeakReplicas)
	require.Equal(t, int32(5), replicasAt(res, 30*time.Second), "the first sync: +4 pods")
	require.Equal(t, int32(6), replicasAt(res, 70*time.Second), "a minute later: the cap's 6")
	require.Equal(t, int32(6), replicasAt(res, 300*time.Second), "inside the scale-down window")
	require.Equal(t, int32(3), replicasAt(res, 400*time.Second), "halved after it")
	require.Equal(t, 600*time.Second, res.Samples[len(res.Samples)-1].T, "as long as the recording")

	// Where the recording has what the HPA itself read, that wins over
	// the metric sampled from the trigger: here the HPA read 300 only at
	// its first sync (shown in its status from 5 s on, until 20 s).
	for i := range c.Recorded {
		t := c.Recorded[i].T
		c.Recorded[i].HasHPAMetric = true
		if t >= 5*time.Second && t < 20*time.Second {
			c.Recorded[i].HPAMetric = 300
		}
	}
	c.Autoscaler.SyncOffset = 0
	res, err = Run(c)
	require.NoError(t, err)
	require.Equal(t, int32(5), res.Summary.PeakReplicas, "the first sync's 300 only")
	require.Equal(t, int32(5), replicasAt(res, 70*time.Second), "no sixth: the HPA read 0 from the second sync on")

	// Without the recording, the same settings do nothing.
	c.Recorded = nil
	res, err = Run(c)
	require.NoError(t, err)
	require.Equal(t, int32(1), res.Summary.PeakReplicas)
}

func replicasAt(res *Result, at time.Duration) int32 {
	var r int32
	for _, x := range res.Samples {
		if x.T <= at {
			r = x.Replicas
		}
	}
	return r
}

func TestRunUnevenPartitions(t *testing.T) {
	// 4 computers on 6 partitions drain no faster than 3: two of them
	// carry two partitions each.
	drain := func(n int32) time.Duration {
		c := Defaults()
		c.Workload.Partitions = 6
		c.Workload.Loads = []Load{{At: 0, Messages: 600}}
		c.Workload.Throughput = 1
		c.Autoscaler.MinReplicas, c.Autoscaler.MaxReplicas, c.Autoscaler.InitialReplicas = n, n, n
		res, err := Run(c)
		require.NoError(t, err)
		require.True(t, res.Summary.Drained)
		return res.Summary.Drain
	}
	require.InDelta(t, drain(3).Seconds(), drain(4).Seconds(), 1)
	require.Less(t, drain(6), drain(4))
}

func TestRunSteadyLoadThrashesWithoutWindow(t *testing.T) {
	// Waves of load, 50 messages a second for 40 s every 90 s: while the
	// computers keep up the lag is near 0 and asks for the minimum, so the
	// replicas follow every wave unless a scale-down window remembers the
	// last one.
	run := func(window time.Duration) Summary {
		c := Defaults()
		c.Workload.Partitions = 12
		c.Workload.Throughput = 10
		c.Autoscaler.LagThreshold = 100
		c.Workload.Loads = nil
		for i := 0; i < 20; i++ {
			c.Workload.Loads = append(c.Workload.Loads, Load{At: time.Duration(i) * 90 * time.Second, Messages: 2000, Rate: 50})
		}
		c.Autoscaler.Behavior.ScaleDown.Window = window
		c.Autoscaler.Behavior.ScaleDown.Policies = []Policy{{Pods, 4, 15 * time.Second}}
		c.Autoscaler.Behavior.ScaleDown.Select = SelectMax
		res, err := Run(c)
		require.NoError(t, err)
		return res.Summary
	}
	none, long := run(0), run(600*time.Second)
	require.Greater(t, none.DirectionChanges, 20)
	require.Less(t, long.DirectionChanges, 10)
}

func TestRunSecondsSignal(t *testing.T) {
	c := Defaults()
	c.Workload.Partitions = 6
	c.Workload.Loads = []Load{{At: 0, Messages: 1200}}
	c.Workload.Throughput = 5
	c.Autoscaler.MaxReplicas = 6
	c.Autoscaler.Signal = Seconds
	c.Autoscaler.TargetSeconds = 30
	c.Autoscaler.MetricDelay = 30 * time.Second
	res, err := Run(c)
	require.NoError(t, err)
	// The lag in seconds of a burst grows however fast it drains, so the
	// replicas only grow once the oldest message is older than the target
	// and the metric has reached the HPA.
	require.True(t, res.Summary.Drained)
	for _, x := range res.Samples {
		if x.T < 45*time.Second {
			require.Equal(t, int32(1), x.Replicas, "at %v", x.T)
		}
	}
	require.Greater(t, res.Summary.PeakReplicas, int32(1))
}

func TestRunScaleFromZero(t *testing.T) {
	c := Defaults()
	c.Workload.Partitions = 6
	c.Workload.Loads = []Load{{At: 30 * time.Second, Messages: 300}}
	c.Workload.Throughput = 5
	c.Autoscaler.MinReplicas, c.Autoscaler.InitialReplicas, c.Autoscaler.MaxReplicas = 0, 0, 6
	c.Autoscaler.ActivationLagThreshold = 50
	c.Autoscaler.CooldownPeriod = 60 * time.Second
	res, err := Run(c)
	require.NoError(t, err)
	require.True(t, res.Summary.Drained)
	require.True(t, res.Summary.Settled)
	require.Equal(t, int32(0), res.Samples[len(res.Samples)-1].Replicas)
	for _, x := range res.Samples {
		if x.T < 30*time.Second {
			require.Zero(t, x.Replicas)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"partitions", func(c *Config) { c.Workload.Partitions = 0 }, "partitions 0"},
		{"throughput", func(c *Config) { c.Workload.Throughput = 0 }, "throughput 0"},
		{"signal", func(c *Config) { c.Autoscaler.Signal = "cpu" }, `signal "cpu"`},
		{"bounds", func(c *Config) { c.Autoscaler.MinReplicas = 7; c.Autoscaler.MaxReplicas = 6 }, "replicas min 7 max 6"},
		{"lag threshold", func(c *Config) { c.Autoscaler.LagThreshold = 0 }, "lag threshold 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.change(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
		})
	}
}

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

// TestDefaultsAreTheCharts: the simulation's defaults are the computer
// chart's, so that "kafka-scale simulate" without flags shows what the
// chart does.
func TestDefaultsAreTheCharts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "charts", "computer", "values.yaml"))
	require.NoError(t, err)
	var values struct {
		Autoscaling struct {
			MinReplicas int32 `yaml:"minReplicas"`
			MaxReplicas int32 `yaml:"maxReplicas"`
			RawBehavior map[string]struct {
				StabilizationWindowSeconds int    `yaml:"stabilizationWindowSeconds"`
				SelectPolicy               string `yaml:"selectPolicy"`
				Policies                   []struct {
					Type          string `yaml:"type"`
					Value         int32  `yaml:"value"`
					PeriodSeconds int    `yaml:"periodSeconds"`
				} `yaml:"policies"`
			} `yaml:"behavior"`
			Keda struct {
				LagThreshold           int64 `yaml:"lagThreshold"`
				ActivationLagThreshold int64 `yaml:"activationLagThreshold"`
				AllowIdleConsumers     bool  `yaml:"allowIdleConsumers"`
				PollingInterval        int   `yaml:"pollingInterval"`
				CooldownPeriod         int   `yaml:"cooldownPeriod"`
			} `yaml:"keda"`
		} `yaml:"autoscaling"`
		Global struct {
			Topics struct {
				Compute struct {
					Partitions int `yaml:"partitions"`
				} `yaml:"compute"`
			} `yaml:"topics"`
		} `yaml:"global"`
	}
	require.NoError(t, yaml.Unmarshal(b, &values))
	a, d := values.Autoscaling, Defaults()
	require.Equal(t, a.MinReplicas, d.Autoscaler.MinReplicas)
	require.Equal(t, a.MaxReplicas, d.Autoscaler.MaxReplicas)
	require.Equal(t, values.Global.Topics.Compute.Partitions, d.Workload.Partitions)
	require.Equal(t, a.Keda.LagThreshold, d.Autoscaler.LagThreshold)
	require.Equal(t, a.Keda.ActivationLagThreshold, d.Autoscaler.ActivationLagThreshold)
	require.Equal(t, a.Keda.AllowIdleConsumers, d.Autoscaler.AllowIdleConsumers)
	require.Equal(t, time.Duration(a.Keda.PollingInterval)*time.Second, d.Autoscaler.PollingInterval)
	require.Equal(t, time.Duration(a.Keda.CooldownPeriod)*time.Second, d.Autoscaler.CooldownPeriod)
	for dir, want := range map[string]Rules{"scaleUp": d.Autoscaler.Behavior.ScaleUp, "scaleDown": d.Autoscaler.Behavior.ScaleDown} {
		got := a.RawBehavior[dir]
		require.Equal(t, want.Window, time.Duration(got.StabilizationWindowSeconds)*time.Second, dir)
		require.Equal(t, string(want.Select), got.SelectPolicy, dir)
		require.Len(t, got.Policies, len(want.Policies), dir)
		for i, p := range got.Policies {
			require.Equal(t, want.Policies[i], Policy{Type: PolicyType(p.Type), Value: p.Value, Period: time.Duration(p.PeriodSeconds) * time.Second}, dir)
		}
	}
}

// simulate runs "kafka-scale simulate args..." in-process.
func simulate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }}
	code = cli.Run(context.Background(), env, []cli.Command{Command()}, append([]string{"simulate"}, args...))
	return code, out.String(), errOut.String()
}

func TestCommand(t *testing.T) {
	code, out, errOut := simulate(t, "--partitions", "6", "--max-replicas", "6", "--load", "0s:1200", "--throughput", "5",
		"--lag-threshold", "50", "--every", "30s")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "workload: 1200 messages at 0s; 6 partitions; 5 messages/s per computer")
	require.Regexp(t, `TIME +REPLICAS +MEMBERS +LAG +LAG-SECONDS +METRIC +MESSAGES/S`, out)
	require.Regexp(t, `lag: drained after [0-9.ms]+, peak 1200 messages`, out)
	require.Contains(t, out, "replicas: peak 5, back at 1 at ")
	require.Contains(t, out, "1 direction changes")
}

func TestCommandSweep(t *testing.T) {
	code, out, errOut := simulate(t, "--partitions", "6", "--max-replicas", "6", "--load", "0s:1200", "--throughput", "5",
		"--sweep-lag-threshold", "50,200", "--sweep-scale-down-window", "0s,300s")
	require.Zero(t, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4+1+4, out) // description, header, 4 rows
	require.Regexp(t, `^50 +0s +`, lines[5])
	require.Regexp(t, `^200 +5m0s +`, lines[8])
}

func TestCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--load", "soon:5"}, `--load: load "soon:5": time "soon"`},
		{[]string{"--signal", "cpu"}, `--signal "cpu": want records or seconds`},
		{[]string{"--scale-up-policies", "pods:4"}, "--scale-up-policies: policy \"pods:4\""},
		{[]string{"--scale-down-select", "most"}, `--scale-down-select: select policy "most"`},
		{[]string{"--initial-replicas", "13"}, "--initial-replicas 13: want from --min-replicas 1 to --max-replicas 12"},
		{[]string{"--throughput", "0"}, "throughput 0"},
		{[]string{"--sweep-lag-threshold", "0"}, `"0": want whole numbers above 0`},
		{[]string{"--recorded-metric"}, "--recorded-metric: needs --compare or --replay"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := simulate(t, tc.args...)
			require.Equal(t, 2, code)
			require.Contains(t, errOut, tc.want)
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	samples := []Sample{{T: 0, Replicas: 1, Members: 1, Lag: 1200, Metric: 300}, {T: time.Second, Replicas: 5, Members: 1, Lag: 1195.5, LagSeconds: 1, Metric: 300, Rate: 4.5}}
	var b bytes.Buffer
	require.NoError(t, WriteCSV(&b, samples))
	require.True(t, strings.HasPrefix(b.String(), strings.Join(CSVHeader, ",")+"\n"))
	got, err := ReadCSV(strings.NewReader("# a comment\n" + b.String()))
	require.NoError(t, err)
	require.Equal(t, samples, got)
	got, err = ReadCSV(strings.NewReader("t_seconds,replicas,metric,hpa_metric\n1,2,300,250\n"))
	require.NoError(t, err)
	require.Equal(t, []Sample{{T: time.Second, Replicas: 2, Metric: 300, HPAMetric: 250, HasHPAMetric: true}}, got)
	_, err = ReadCSV(strings.NewReader("t,replicas\n"))
	require.ErrorContains(t, err, "no t_seconds column")
	_, err = ReadCSV(strings.NewReader("t_seconds,replicas\n1,x\n"))
	require.ErrorContains(t, err, `line 2: replicas "x"`)
}

func TestCompare(t *testing.T) {
	mk := func(rs ...int32) []Sample {
		var s []Sample
		for i, r := range rs {
			s = append(s, Sample{T: time.Duration(i) * 15 * time.Second, Replicas: r})
		}
		return s
	}
	ag := Compare(mk(1, 5, 6, 6, 3, 1, 1), mk(1, 5, 6, 5, 2, 1, 1), 1, 1)
	require.Equal(t, 7, ag.Samples)
	require.Equal(t, 1.0, ag.Within)
	require.Equal(t, int32(1), ag.MaxDiff)
	require.Equal(t, int32(6), ag.PeakRecorded)
	require.Equal(t, 15*time.Second, ag.UpRecorded)
	require.Equal(t, 75*time.Second, ag.BackSimulated)
	require.Contains(t, ag.String(), "replicas within 1 of the recorded run's at 100% of 7 samples")
	ag = Compare(mk(1, 6, 6, 6), mk(1, 1, 1, 6), 1, 1)
	require.InDelta(t, 0.5, ag.Within, 1e-9)
	require.Equal(t, int32(5), ag.MaxDiff)

	// The drain: the lag back at 0 once it rose; a simulation's fraction
	// of a message left is 0.
	lag := func(ls ...float64) []Sample {
		s := mk(1, 1, 1, 1, 1)
		for i, l := range ls {
			s[i].Lag = l
		}
		return s
	}
	ag = Compare(lag(0, 300, 100, 0, 0), lag(0, 300, 0.4, 0, 0), 1, 1)
	require.Equal(t, 45*time.Second, ag.DrainRecorded)
	require.Equal(t, 30*time.Second, ag.DrainSimulated)
	require.Contains(t, ag.String(), "lag drained: recorded 45s, simulated 30s")
	ag = Compare(lag(0, 0, 0, 0, 0), lag(0, 300, 300, 300, 300), 1, 1)
	require.Equal(t, time.Duration(-1), ag.DrainRecorded, "no lag: never drained")
	require.Contains(t, ag.String(), "lag drained: recorded never, simulated never")
}
