package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestNewRegistry(t *testing.T) {
	reg := NewRegistry("reader")
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kafka_scale_build_info Build of the running service; always 1.
# TYPE kafka_scale_build_info gauge
kafka_scale_build_info{commit="unknown",service="reader",version="dev"} 1
`), "kafka_scale_build_info"))
	n, err := testutil.GatherAndCount(reg, "go_goroutines", "process_cpu_seconds_total")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
