package config

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

// TestChartDefaults: the computer chart's values, which it passes as
// environment variables, are the flags' defaults, so that the chart
// states them without becoming a second source.
func TestChartDefaults(t *testing.T) {
	values := filepath.Join("..", "..", "..", "..", "charts", "computer", "values.yaml")
	lookup, err := flagenv.ChartEnv(values, map[string]string{
		"batchChunks":        "BATCH_CHUNKS",
		"batchAge":           "BATCH_AGE",
		"transactionTimeout": "TRANSACTION_TIMEOUT",
		"heartbeatInterval":  "HEARTBEAT_INTERVAL",
		"group":              "GROUP",
		"groupProtocol":      "GROUP_PROTOCOL",
	})
	require.NoError(t, err)
	want, err := Parse(nil, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	got, err := Parse(nil, lookup)
	require.NoError(t, err)
	require.Equal(t, want, got, "%s against the flags' defaults", values)
}
