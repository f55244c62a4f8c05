package charts

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current renders")

// TestGolden renders every ci/*-values.yaml scenario of the umbrella chart
// (without files/: see bareUmbrella) and compares it with
// testdata/golden/<scenario>.yaml (go test -update, or make charts-golden,
// rewrites them; review the diff).
func TestGolden(t *testing.T) {
	chart := bareUmbrella(t)
	files, err := filepath.Glob(filepath.Join(chartsDir(t), Umbrella, "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			out, err := render(t, chart, []string{f})
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden render: go test ./charts -run TestGolden -update")
			require.Equal(t, string(want), out, "%s changed: if that is meant, go test ./charts -run TestGolden -update", golden)
		})
	}
}
