package simulate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

// TestReplayRecordedRun holds the committed end-to-end run
// (docs/autoscaling-run.csv, written by make test-autoscaling
// AUTOSCALING_DOCS=docs; its "# flag=value" lines are the settings and what
// the run measured: throughput, pod start, the reader's rate, the HPA's
// sync phase) to what that test asserts of every run. The whole model
// reaches the same peak and drains the load within 30 % of the run's time
// (the run's computers, throttled to 10 millicores, stall for seconds in a
// rebalance, which varies from run to run). The autoscaler model alone, on
// the metric KEDA served in the run, makes the real HPA's decisions: the
// same replicas at least 90 % of the seconds, what differs being the second
// between a sync and the sample that sees it.
func TestReplayRecordedRun(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docs", "autoscaling-run.csv")
	o, err := parse(cli.Env{LookupEnv: func(string) (string, bool) { return "", false }}, []string{"--replay", path})
	require.NoError(t, err)
	require.Equal(t, path, o.comparePath)
	require.Equal(t, 6, o.cfg.Workload.Partitions, "the run's settings are read")
	res, err := Run(o.cfg)
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recorded, err := ReadCSV(f)
	require.NoError(t, err)
	require.NotEmpty(t, recorded)

	ag := Compare(recorded, res.Samples, 1, o.cfg.Autoscaler.MinReplicas)
	t.Logf("simulated against the recorded run:\n%s", ag)
	require.Greater(t, ag.Samples, 100)
	require.Equal(t, ag.PeakRecorded, ag.PeakSimulated)
	require.Positive(t, ag.DrainRecorded)
	require.InEpsilon(t, ag.DrainRecorded.Seconds(), ag.DrainSimulated.Seconds(), 0.3, "drained")
	require.InDelta(t, ag.UpRecorded.Seconds(), ag.UpSimulated.Seconds(), DefaultSyncPeriod.Seconds(), "first scale-up")

	o.cfg.Recorded = recorded
	res, err = Run(o.cfg)
	require.NoError(t, err)
	ag = Compare(recorded, res.Samples, 0, o.cfg.Autoscaler.MinReplicas)
	t.Logf("the autoscaler alone, on the recorded metric:\n%s", ag)
	require.GreaterOrEqual(t, ag.Within, 0.9, "the same replicas")
	require.Equal(t, ag.PeakRecorded, ag.PeakSimulated)
}

func TestReplaySettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.csv")
	require.NoError(t, os.WriteFile(path, []byte("# a run\n# partitions=6\n# lag-threshold=50\n# load=0s:600\nt_seconds,replicas\n0,1\n"), 0o644))
	params, err := ReadParams(path)
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"partitions", "6"}, {"lag-threshold", "50"}, {"load", "0s:600"}}, params)

	// The command line wins over the file, which wins over the environment.
	env := cli.Env{LookupEnv: func(k string) (string, bool) {
		v, ok := map[string]string{"KAFKA_SCALE_SIMULATE_PARTITIONS": "3", "KAFKA_SCALE_SIMULATE_THROUGHPUT": "7"}[k]
		return v, ok
	}}
	o, err := parse(env, []string{"--replay", path, "--lag-threshold", "80", "--max-replicas", "6"})
	require.NoError(t, err)
	require.Equal(t, 6, o.cfg.Workload.Partitions)
	require.Equal(t, int64(80), o.cfg.Autoscaler.LagThreshold)
	require.Equal(t, 7.0, o.cfg.Workload.Throughput)
	require.Equal(t, []Load{{Messages: 600}}, o.cfg.Workload.Loads)

	require.NoError(t, os.WriteFile(path, []byte("# colour=blue\nt_seconds,replicas\n"), 0o644))
	_, err = parse(env, []string{"--replay", path})
	require.ErrorContains(t, err, `unknown setting "colour"`)
	require.NoError(t, os.WriteFile(path, []byte("t_seconds,replicas\n"), 0o644))
	_, err = parse(env, []string{"--replay", path})
	require.ErrorContains(t, err, `no "# flag=value" lines`)
}
