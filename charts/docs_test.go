package charts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// TestValuesDocumented: every value has a helm-docs "# --" comment, on
// itself or on an enclosing map documented as a whole.
func TestValuesDocumented(t *testing.T) {
	for _, c := range AllCharts {
		t.Run(c, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(c, "values.yaml"))
			require.NoError(t, err)
			var doc yamlv3.Node
			require.NoError(t, yamlv3.Unmarshal(b, &doc))
			if len(doc.Content) == 0 {
				return // the library chart has no values
			}
			var undocumented []string
			var walk func(n *yamlv3.Node, path string)
			walk = func(n *yamlv3.Node, path string) {
				for i := 0; i+1 < len(n.Content); i += 2 {
					key, value := n.Content[i], n.Content[i+1]
					p := strings.TrimPrefix(path+"."+key.Value, ".")
					switch {
					case strings.Contains(key.HeadComment, "# --"):
					case value.Kind == yamlv3.MappingNode && len(value.Content) > 0:
						walk(value, p)
					default:
						undocumented = append(undocumented, p)
					}
				}
			}
			walk(doc.Content[0], "")
			require.Empty(t, undocumented, "values without a # -- comment in %s/values.yaml", c)
		})
	}
}

func readYAML(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v))
}

// TestGlobalsShared: every chart carries the same global defaults, so that
// a service chart installed on its own behaves as under the umbrella chart.
// (Their schema has one source, written into each chart by make
// charts-schema and checked by make lint.)
func TestGlobalsShared(t *testing.T) {
	var want map[string]any
	readYAML(t, filepath.Join(Umbrella, "values.yaml"), &want)
	for _, c := range ServiceCharts {
		var got map[string]any
		readYAML(t, filepath.Join(c, "values.yaml"), &got)
		require.Equal(t, want["global"], got["global"], "global in %s/values.yaml differs from the umbrella chart's", c)
	}
}

// TestSchemasStrict: every object a schema defines properties for also
// sets additionalProperties (false, or a type for free-form maps).
func TestSchemasStrict(t *testing.T) {
	for _, c := range append(append([]string{}, ServiceCharts...), Umbrella) {
		var schema map[string]any
		b, err := os.ReadFile(filepath.Join(c, "values.schema.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &schema))
		var loose []string
		var walk func(s map[string]any, path string)
		walk = func(s map[string]any, path string) {
			props, hasProps := s["properties"].(map[string]any)
			if _, set := s["additionalProperties"]; hasProps && !set && path != ".reader" && path != ".computer" && path != ".aggregator" {
				loose = append(loose, path)
			}
			for k, v := range props {
				if m, ok := v.(map[string]any); ok {
					walk(m, path+"."+k)
				}
			}
			if items, ok := s["items"].(map[string]any); ok {
				walk(items, path+"[]")
			}
		}
		walk(schema, "")
		require.Empty(t, loose, "%s/values.schema.json: objects without additionalProperties", c)
	}
}

// TestReadmesCurrent: each chart's README.md is what helm-docs makes of its
// Chart.yaml, values.yaml and README.md.gotmpl (make charts-docs).
func TestReadmesCurrent(t *testing.T) {
	tmp := t.TempDir()
	for _, c := range AllCharts {
		for _, f := range []string{"Chart.yaml", "values.yaml", "README.md.gotmpl"} {
			b, err := os.ReadFile(filepath.Join(c, f))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(tmp, c), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(tmp, c, f), b, 0o644))
		}
	}
	cmd := exec.Command("go", append([]string{"tool"}, helmDocsArgs(tmp)...)...)
	cmd.Dir = chartsDir(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go tool helm-docs: %s", out)
	for _, c := range AllCharts {
		want, err := os.ReadFile(filepath.Join(tmp, c, "README.md"))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(c, "README.md"))
		require.NoError(t, err, "run make charts-docs")
		require.Equal(t, string(want), string(got), "%s/README.md is stale: run make charts-docs", c)
	}
}

// helmDocsArgs is how make charts-docs runs helm-docs (the version is
// pinned by the tool directive in go.mod).
func helmDocsArgs(root string) []string {
	return []string{"helm-docs", "--chart-search-root", root, "--skip-version-footer", "--log-level", "warning"}
}
