// Package charts tests the Helm charts of kafka-scale: unit assertions on
// rendered objects, golden renders of the ci/ scenarios, helm lint, the
// values schemas, the generated READMEs and the copies of the dashboards.
// The cluster test (build tag kube) installs the umbrella chart on a real API
// server and node, whose pods run the services' images.
package charts

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// Umbrella is the umbrella chart; the service charts sit beside it.
const Umbrella = "kafka-scale"

// ServiceCharts are the charts that depend on the library chart.
var ServiceCharts = []string{"reader", "computer", "aggregator"}

// AllCharts is every chart, the library first.
var AllCharts = append(append([]string{"kafka-scale-lib"}, ServiceCharts...), Umbrella)

// scratch is a directory for the whole test process, removed at its end.
var scratch string

func TestMain(m *testing.M) {
	// Helm keeps its cache, config and repositories apart from the user's.
	home, err := os.MkdirTemp("", "kafka-scale-helm-")
	scratch = home
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		os.Setenv(v, filepath.Join(home, strings.ToLower(strings.TrimPrefix(v, "HELM_"))))
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// chartsDir is this module's directory, where the charts are.
func chartsDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	return dir
}

// helmPath finds helm on PATH or where scripts/install-deps.sh puts it.
func helmPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	cache := os.Getenv("KAFKA_SCALE_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			h, _ := os.UserHomeDir()
			base = filepath.Join(h, ".cache")
		}
		cache = filepath.Join(base, "kafka-scale")
	}
	p := filepath.Join(cache, "bin", "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm is not on PATH nor at %s: run scripts/install-deps.sh (and add $(scripts/install-deps.sh --bin) to PATH)", p)
	}
	return p
}

// runHelm runs helm with args in the charts directory and returns its
// stdout, or an error holding its stderr.
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmPath(t), args...)
	cmd.Dir = chartsDir(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

var (
	depsOnce sync.Once
	depsErr  error
)

// buildDeps packs each chart's dependencies into its charts/ directory
// (git ignores the .tgz files), service charts before the umbrella that
// packs them, once per test process. It fails when a Chart.lock is stale.
func buildDeps(t testing.TB) {
	t.Helper()
	depsOnce.Do(func() {
		for _, c := range append(append([]string{}, ServiceCharts...), Umbrella) {
			if _, err := runHelm(t, "dependency", "build", "--skip-refresh", c); err != nil {
				depsErr = err
				return
			}
		}
	})
	require.NoError(t, depsErr)
}

var (
	bareOnce sync.Once
	bare     string
)

// bareUmbrella is a copy of the umbrella chart without files/: the
// dashboards and rules belong to dashboards/, and are tested apart
// (TestChartCopiesInSync, TestDashboardsAndRules), so that a new dashboard
// changes no scenario's assertions nor golden render.
func bareUmbrella(t testing.TB) string {
	t.Helper()
	buildDeps(t)
	bareOnce.Do(func() {
		bare = filepath.Join(scratch, "bare", Umbrella)
		if err := os.CopyFS(bare, os.DirFS(Umbrella)); err != nil {
			t.Fatalf("copy %s: %v", Umbrella, err)
		}
		if err := os.RemoveAll(filepath.Join(bare, "files")); err != nil {
			t.Fatal(err)
		}
	})
	require.DirExists(t, bare)
	return bare
}

// render runs helm template on chart (a directory under charts/) with the
// release name ks in namespace kafka-scale, and the given values files and
// --set flags.
func render(t testing.TB, chart string, valuesFiles []string, sets ...string) (string, error) {
	t.Helper()
	buildDeps(t)
	args := []string{"template", "ks", chart, "--namespace", "kafka-scale"}
	for _, f := range valuesFiles {
		args = append(args, "-f", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return runHelm(t, args...)
}

// Object is one rendered Kubernetes object.
type Object map[string]any

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is the object's metadata.name.
func (o Object) Name() string { return str(o, "metadata", "name") }

// decode splits a multi-document render into objects.
func decode(t testing.TB, out string) []Object {
	t.Helper()
	var objs []Object
	for _, doc := range strings.Split(out, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var o Object
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o), "decode:\n%s", doc)
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// find returns the objects of kind whose name contains name ("" for all).
func find(objs []Object, kind, name string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Kind() == kind && strings.Contains(o.Name(), name) {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of kind whose name contains name.
func one(t testing.TB, objs []Object, kind, name string) Object {
	t.Helper()
	found := find(objs, kind, name)
	require.Len(t, found, 1, "want one %s named *%s*", kind, name)
	return found[0]
}

// get walks a path of map keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				if o, isObj := v.(Object); isObj {
					m, ok = o, true
				}
			}
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }
