package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplice(t *testing.T) {
	const global = "{\n  \"type\": \"object\",\n  \"additionalProperties\": false\n}\n"
	for _, tc := range []struct {
		name, schema, want, err string
	}{
		{
			name: "replaces top-level global only, keeps the rest as written",
			schema: `{
  "properties": {
    "a": {"enum": ["x", "y"]},
    "global": {
      "type": "object"
    },
    "lib": {
      "properties": {
        "global": {
          "type": "object"
        }
      }
    }
  }
}
`,
			want: `{
  "properties": {
    "a": {"enum": ["x", "y"]},
    "global": {
      "type": "object",
      "additionalProperties": false
    },
    "lib": {
      "properties": {
        "global": {
          "type": "object"
        }
      }
    }
  }
}
`,
		},
		{name: "no global", schema: `{"properties": {"a": {}}}`, err: "no properties.global"},
		{name: "global on one line with others", schema: `{"properties": {"global": {}}}`, err: "want one line"},
		{name: "not JSON", schema: `{`, err: "unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Splice([]byte(tc.schema), []byte(global))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

// TestChartsCurrent: the committed charts carry the source's schema of
// global (what make lint checks too).
func TestChartsCurrent(t *testing.T) {
	require.NoError(t, run(filepath.Join("..", ".."), true))
}

func TestCheckReportsDrift(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{Source, "reader/values.schema.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, Source), []byte(`{"type": "object"}`), 0o644))
	require.ErrorContains(t, run(dir, true), "reader/values.schema.json")
	require.NoError(t, run(dir, false))
	require.NoError(t, run(dir, true))
}
