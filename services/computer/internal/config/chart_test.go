package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChartDefaults: the computer chart's values, which it passes as
// environment variables, are the flags' defaults, so that the chart
// states them without becoming a second source.
func TestChartDefaults(t *testing.T) {
	values, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "charts", "computer", "values.yaml"))
	require.NoError(t, err)
	env := map[string]string{}
	for _, v := range []struct{ key, env string }{
		{"batchChunks", "BATCH_CHUNKS"},
		{"batchAge", "BATCH_AGE"},
		{"transactionTimeout", "TRANSACTION_TIMEOUT"},
		{"group", "GROUP"},
		{"groupProtocol", "GROUP_PROTOCOL"},
	} {
		m := regexp.MustCompile(`(?m)^` + v.key + `: "?([^"\n]*)"?$`).FindSubmatch(values)
		require.NotNil(t, m, "top-level %s in charts/computer/values.yaml", v.key)
		env[v.env] = string(m[1])
	}
	want, err := Parse(nil, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	got, err := Parse(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, want, got, "charts/computer/values.yaml against the flags' defaults")
}
