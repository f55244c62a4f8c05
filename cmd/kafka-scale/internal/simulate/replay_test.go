package simulate

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

// TestReplayRecordedRun: the simulation of the workload of the committed
// end-to-end run (docs/autoscaling-run.csv, written by make
// test-autoscaling AUTOSCALING_DOCS=docs; its "# flag=value" lines are the
// settings and what the run measured: throughput, pod start, the reader's
// rate, the HPA's sync phase) follows the real replicas: within one
// replica at least 90 % of the seconds, the same peak, the first scale-up
// within one HPA sync (15 s) and the return to one computer within two
// (the real drain has stalls the model averages out, which can move the
// scale-down by a sync).
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
	require.GreaterOrEqual(t, ag.Within, 0.9)
	require.Equal(t, ag.PeakRecorded, ag.PeakSimulated)
	within := func(a, b, d time.Duration) bool { return a >= 0 && b >= 0 && (a-b).Abs() <= d }
	require.True(t, within(ag.UpRecorded, ag.UpSimulated, DefaultSyncPeriod), "first scale-up")
	require.True(t, within(ag.BackRecorded, ag.BackSimulated, 2*DefaultSyncPeriod), "back at the minimum")
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
