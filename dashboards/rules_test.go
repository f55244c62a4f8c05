package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// promtool returns the path of promtool, failing the test when it is
// missing: these checks are part of the unit tests, not optional.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found in PATH: install the Debian package prometheus (scripts/install-deps.sh does): %v", err)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

// TestRules checks the rule files and runs their tests.
func TestRules(t *testing.T) {
	files, err := filepath.Glob("rules/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	runPromtool(t, append([]string{"check", "rules"}, files...)...)
	tests, err := filepath.Glob("rules/tests/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, tests)
	runPromtool(t, append([]string{"test", "rules"}, tests...)...)
}

// Values for Grafana's variables that make a panel query plain PromQL.
var variables = strings.NewReplacer(
	"$__rate_interval", "1m",
	"$__interval", "1m",
	"$__range", "1h",
	"$namespace", "kafka-scale",
	"$group", "computers",
)

// TestPanelQueriesParse has promtool parse every panel query, its
// variables replaced, as the expression of a recording rule.
func TestPanelQueriesParse(t *testing.T) {
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: panels\n    rules:\n")
	n := 0
	for i, f := range All() {
		b, err := Render(f.Dashboard)
		require.NoError(t, err)
		var d jsonDashboard
		require.NoError(t, json.Unmarshal(b, &d))
		for _, p := range flatten(d.Panels) {
			for _, tg := range p.Targets {
				expr, err := json.Marshal(variables.Replace(tg.Expr)) // a JSON string is a YAML string
				require.NoError(t, err)
				fmt.Fprintf(&rules, "      # %s: %s %s\n      - record: panel:%d_%d_%s\n        expr: %s\n", f.Name, p.Title, tg.RefID, i, p.ID, tg.RefID, expr)
				n++
			}
		}
	}
	path := filepath.Join(t.TempDir(), "panels.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rules.String()), 0o644))
	runPromtool(t, "check", "rules", path)
	t.Logf("%d panel queries parse", n)
}
