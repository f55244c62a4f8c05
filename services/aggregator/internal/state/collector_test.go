package state

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestCollector(t *testing.T) {
	s := New()
	s.Apply(chunkResult("a", "f", 0, 10, false), 1)
	s.Apply(chunkResult("b", "f", 0, 5, false), 1)
	s.Apply(chunkResult("b", "f", 1, 5, true), 1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(s))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP kafka_scale_aggregator_source_chunks Distinct chunks of the source counted.
# TYPE kafka_scale_aggregator_source_chunks gauge
kafka_scale_aggregator_source_chunks{source="a"} 1
kafka_scale_aggregator_source_chunks{source="b"} 2
# HELP kafka_scale_aggregator_source_expected_chunks Chunks the source has, known once its last chunk has been counted.
# TYPE kafka_scale_aggregator_source_expected_chunks gauge
kafka_scale_aggregator_source_expected_chunks{source="b"} 2
# HELP kafka_scale_aggregator_source_complete 1 once every chunk of the source has been counted and it was read to its end.
# TYPE kafka_scale_aggregator_source_complete gauge
kafka_scale_aggregator_source_complete{source="a"} 0
kafka_scale_aggregator_source_complete{source="b"} 1
`), "kafka_scale_aggregator_source_chunks", "kafka_scale_aggregator_source_expected_chunks", "kafka_scale_aggregator_source_complete"))
}
