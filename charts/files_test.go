package charts

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// chartCopies are the files make charts-sync copies into the umbrella chart,
// which Helm can only read inside the chart: source directory and pattern
// (relative to the repository root) -> the copies' directory.
var chartCopies = []struct{ src, pattern, dst string }{
	{"dashboards", "*.json", "kafka-scale/files/dashboards"},
	{"dashboards/rules", "*.yaml", "kafka-scale/files/rules"},
}

// drift lists how the files matching pattern in dst differ from those in
// src: missing, changed or stale copies.
func drift(t testing.TB, src, pattern, dst string) []string {
	t.Helper()
	read := func(dir string) map[string][]byte {
		files, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(t, err)
		out := map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			out[filepath.Base(f)] = b
		}
		return out
	}
	srcFiles, dstFiles := read(src), read(dst)
	var problems []string
	for name, b := range srcFiles {
		switch copied, ok := dstFiles[name]; {
		case !ok:
			problems = append(problems, "missing copy of "+filepath.Join(src, name))
		case !bytes.Equal(b, copied):
			problems = append(problems, "changed "+filepath.Join(src, name))
		}
	}
	for name := range dstFiles {
		if _, ok := srcFiles[name]; !ok {
			problems = append(problems, "stale copy "+filepath.Join(dst, name))
		}
	}
	sort.Strings(problems)
	return problems
}

func TestDrift(t *testing.T) {
	write := func(dir, name, content string) {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	for _, tc := range []struct {
		name     string
		src, dst map[string]string
		want     []string
	}{
		{"both empty", nil, nil, nil},
		{"in sync", map[string]string{"a.json": "{}", "b.json": "[]"}, map[string]string{"a.json": "{}", "b.json": "[]"}, nil},
		{"missing copy", map[string]string{"a.json": "{}"}, nil, []string{"missing copy of SRC/a.json"}},
		{"changed", map[string]string{"a.json": `{"v":2}`}, map[string]string{"a.json": `{"v":1}`}, []string{"changed SRC/a.json"}},
		{"stale copy", nil, map[string]string{"old.json": "{}"}, []string{"stale copy DST/old.json"}},
		{"other files ignored", map[string]string{"notes.txt": "x"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
			for n, c := range tc.src {
				write(src, n, c)
			}
			for n, c := range tc.dst {
				write(dst, n, c)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, filepath.Join(map[bool]string{true: src, false: dst}[w[:5] != "stale"], filepath.Base(w)))
			}
			got := drift(t, src, "*.json", dst)
			require.Len(t, got, len(tc.want))
			for i := range got {
				require.Contains(t, got[i], want[i])
			}
		})
	}
}

// TestChartCopiesInSync fails when the dashboards or rules in the
// repository's dashboards/ differ from their copies in the umbrella chart.
func TestChartCopiesInSync(t *testing.T) {
	for _, c := range chartCopies {
		problems := drift(t, filepath.Join("..", c.src), c.pattern, c.dst)
		require.Empty(t, problems, "the umbrella chart's copies of %s/%s drifted: run make charts-sync", c.src, c.pattern)
	}
}

// copyDir copies a directory tree.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
}

// TestDashboardsAndRules renders a copy of the umbrella chart with fixture
// dashboards and rule files: a ConfigMap per dashboard for Grafana's
// sidecar, one PrometheusRule with every file's groups.
func TestDashboardsAndRules(t *testing.T) {
	buildDeps(t)
	chart := filepath.Join(t.TempDir(), Umbrella)
	copyDir(t, Umbrella, chart)
	require.NoError(t, os.RemoveAll(filepath.Join(chart, "files")))

	// Nothing to deliver: nothing rendered.
	out, err := render(t, chart, nil)
	require.NoError(t, err)
	objs := decode(t, out)
	require.Empty(t, find(objs, "PrometheusRule", ""))
	for _, cm := range find(objs, "ConfigMap", "") {
		require.Empty(t, str(cm, "metadata", "labels", "grafana_dashboard"))
	}

	dash := `{"title": "Computers", "panels": [{"type": "timeseries"}]}` + "\n"
	files := map[string]string{
		"dashboards/Computers_Overview.json": dash,
		"dashboards/pipeline.json":           `{"title": "Pipeline"}`,
		"rules/computer.yaml": `groups:
  - name: kafka-scale.computer
    rules:
      - alert: ComputerLagGrowing
        expr: sum(kafka_consumergroup_lag{consumergroup="computer"}) > 1000
        for: 10m
        annotations:
          summary: "lag {{ $value }} on {{ $labels.topic }}"
`,
		"rules/aggregator.yaml": `groups:
  - name: kafka-scale.aggregator
    rules:
      - record: kafka_scale:results_rate5m
        expr: sum(rate(aggregator_results_total[5m]))
`,
	}
	for name, content := range files {
		p := filepath.Join(chart, "files", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}

	out, err = render(t, chart, nil)
	require.NoError(t, err)
	objs = decode(t, out)
	cm := one(t, objs, "ConfigMap", "ks-kafka-scale-dashboard-computers-overview")
	require.Equal(t, "1", str(cm, "metadata", "labels", "grafana_dashboard"))
	require.Equal(t, dash[:len(dash)-1], str(cm, "data", "Computers_Overview.json"))
	require.Len(t, find(objs, "ConfigMap", "-dashboard-"), 2)
	rule := one(t, objs, "PrometheusRule", "ks-kafka-scale")
	require.Equal(t, "kube-prometheus-stack", str(rule, "metadata", "labels", "release"))
	require.Equal(t, "kafka-scale.aggregator", str(rule, "spec", "groups", 0, "name"))
	require.Equal(t, "kafka-scale.computer", str(rule, "spec", "groups", 1, "name"))
	require.Equal(t, "lag {{ $value }} on {{ $labels.topic }}", str(rule, "spec", "groups", 1, "rules", 0, "annotations", "summary"),
		"rule templates reach Prometheus untouched")

	out, err = render(t, chart, nil, "dashboards.enabled=false", "prometheusRule.enabled=false")
	require.NoError(t, err)
	require.Empty(t, find(decode(t, out), "PrometheusRule", ""))
	require.Empty(t, find(decode(t, out), "ConfigMap", "-dashboard-"))

	out, err = render(t, chart, nil, "global.monitoring.enabled=false")
	require.NoError(t, err)
	require.Empty(t, find(decode(t, out), "PrometheusRule", ""))
	require.Empty(t, find(decode(t, out), "ConfigMap", "-dashboard-"))
}
