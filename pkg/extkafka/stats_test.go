package extkafka

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// The statistics in testdata/stats were recorded by TestIntegrationStats
// (librdkafka 2.11.1, Kafka 4.1.1), except consumer-rebalanced.json, which
// is consumer.json after a rebalance that moved partition 0 to another
// member and 40 more records of partition 1.

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stats", name))
	require.NoError(t, err)
	return string(b)
}

func statsRegistry(s *Stats) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	return reg
}

const fixtureTopic = "compute-TestIntegrationStats-8fc06db9"

func gatherAndCompare(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	want = strings.ReplaceAll(want, "TOPIC", fixtureTopic)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), names...))
}

const (
	helpLag = `# HELP kafka_scale_kafka_consumer_lag_records Records between a consumer's position and the end of an assigned partition (last stable offset).
# TYPE kafka_scale_kafka_consumer_lag_records gauge
`
	helpConsumed = `# HELP kafka_scale_kafka_consumed_messages_total Messages a consumer received from the brokers.
# TYPE kafka_scale_kafka_consumed_messages_total counter
`
)

func TestStatsConsumer(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := NewStats(reg)
	require.NoError(t, s.Update(fixture(t, "consumer.json")))
	gatherAndCompare(t, reg, helpLag+`
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="0",topic="TOPIC"} 500
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="1",topic="TOPIC"} 0
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="2",topic="TOPIC"} 0
# HELP kafka_scale_kafka_consumer_assigned_partitions Partitions assigned to a consumer.
# TYPE kafka_scale_kafka_consumer_assigned_partitions gauge
kafka_scale_kafka_consumer_assigned_partitions{client_id="computer-0"} 3
# HELP kafka_scale_kafka_consumer_rebalances_total Consumer group rebalances (assignments and revocations) a consumer took part in.
# TYPE kafka_scale_kafka_consumer_rebalances_total counter
kafka_scale_kafka_consumer_rebalances_total{client_id="computer-0"} 1
# HELP kafka_scale_kafka_consumer_fetch_queue_records Records fetched by a consumer and not yet handed to the program.
# TYPE kafka_scale_kafka_consumer_fetch_queue_records gauge
kafka_scale_kafka_consumer_fetch_queue_records{client_id="computer-0"} 0
`+helpConsumed+`kafka_scale_kafka_consumed_messages_total{client_id="computer-0"} 900
# HELP kafka_scale_kafka_received_bytes_total Bytes a client received from the brokers.
# TYPE kafka_scale_kafka_received_bytes_total counter
kafka_scale_kafka_received_bytes_total{client_id="computer-0",type="consumer"} 9739
# HELP kafka_scale_kafka_sent_bytes_total Bytes a client sent to the brokers.
# TYPE kafka_scale_kafka_sent_bytes_total counter
kafka_scale_kafka_sent_bytes_total{client_id="computer-0",type="consumer"} 2194
# HELP kafka_scale_kafka_broker_rtt_avg_seconds Mean round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).
# TYPE kafka_scale_kafka_broker_rtt_avg_seconds gauge
kafka_scale_kafka_broker_rtt_avg_seconds{broker="1",client_id="computer-0",type="consumer"} 0.254092
# HELP kafka_scale_kafka_broker_rtt_p99_seconds 99th percentile of the round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).
# TYPE kafka_scale_kafka_broker_rtt_p99_seconds gauge
kafka_scale_kafka_broker_rtt_p99_seconds{broker="1",client_id="computer-0",type="consumer"} 0.503807
`)
	n, err := testutil.GatherAndCount(reg, "kafka_scale_kafka_producer_queue_messages", "kafka_scale_kafka_produced_messages_total", "kafka_scale_kafka_producer_transaction_state")
	require.NoError(t, err)
	require.Zero(t, n, "no producer series for a consumer")
}

func TestStatsTransactionalProducer(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := NewStats(reg)
	require.NoError(t, s.Update(fixture(t, "producer-transactional.json")))
	gatherAndCompare(t, reg, `
# HELP kafka_scale_kafka_producer_queue_messages Messages in a producer's queues, waiting to be sent or acknowledged.
# TYPE kafka_scale_kafka_producer_queue_messages gauge
kafka_scale_kafka_producer_queue_messages{client_id="computer-0"} 0
# HELP kafka_scale_kafka_producer_queue_bytes Bytes of the messages in a producer's queues.
# TYPE kafka_scale_kafka_producer_queue_bytes gauge
kafka_scale_kafka_producer_queue_bytes{client_id="computer-0"} 0
# HELP kafka_scale_kafka_produced_messages_total Messages a producer sent to the brokers.
# TYPE kafka_scale_kafka_produced_messages_total counter
kafka_scale_kafka_produced_messages_total{client_id="computer-0"} 20
# HELP kafka_scale_kafka_producer_transaction_state State of a transactional producer's transaction manager: 1 for the current state (FatalError means the producer must be recreated).
# TYPE kafka_scale_kafka_producer_transaction_state gauge
kafka_scale_kafka_producer_transaction_state{client_id="computer-0",state="Ready"} 1
# HELP kafka_scale_kafka_sent_bytes_total Bytes a client sent to the brokers.
# TYPE kafka_scale_kafka_sent_bytes_total counter
kafka_scale_kafka_sent_bytes_total{client_id="computer-0",type="producer"} 939
# HELP kafka_scale_kafka_received_bytes_total Bytes a client received from the brokers.
# TYPE kafka_scale_kafka_received_bytes_total counter
kafka_scale_kafka_received_bytes_total{client_id="computer-0",type="producer"} 1906
# HELP kafka_scale_kafka_broker_rtt_avg_seconds Mean round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).
# TYPE kafka_scale_kafka_broker_rtt_avg_seconds gauge
kafka_scale_kafka_broker_rtt_avg_seconds{broker="1",client_id="computer-0",type="producer"} 0.001939
# HELP kafka_scale_kafka_broker_rtt_p99_seconds 99th percentile of the round-trip time of a client's requests to a broker over the last statistics interval; a consumer's include the brokers' wait for data to fetch (fetch.wait.max.ms).
# TYPE kafka_scale_kafka_broker_rtt_p99_seconds gauge
kafka_scale_kafka_broker_rtt_p99_seconds{broker="1",client_id="computer-0",type="producer"} 0.004479
`)
	n, err := testutil.GatherAndCount(reg, "kafka_scale_kafka_consumer_lag_records", "kafka_scale_kafka_consumed_messages_total", "kafka_scale_kafka_consumer_rebalances_total")
	require.NoError(t, err)
	require.Zero(t, n, "no consumer series for a producer")
}

// TestStatsRebalance: a partition revoked in a rebalance loses its series.
func TestStatsRebalance(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := NewStats(reg)
	require.NoError(t, s.Update(fixture(t, "consumer.json")))
	require.NoError(t, s.Update(fixture(t, "consumer-rebalanced.json")))
	gatherAndCompare(t, reg, helpLag+`
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="1",topic="TOPIC"} 10
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="2",topic="TOPIC"} 0
# HELP kafka_scale_kafka_consumer_assigned_partitions Partitions assigned to a consumer.
# TYPE kafka_scale_kafka_consumer_assigned_partitions gauge
kafka_scale_kafka_consumer_assigned_partitions{client_id="computer-0"} 2
# HELP kafka_scale_kafka_consumer_rebalances_total Consumer group rebalances (assignments and revocations) a consumer took part in.
# TYPE kafka_scale_kafka_consumer_rebalances_total counter
kafka_scale_kafka_consumer_rebalances_total{client_id="computer-0"} 3
# HELP kafka_scale_kafka_consumer_fetch_queue_records Records fetched by a consumer and not yet handed to the program.
# TYPE kafka_scale_kafka_consumer_fetch_queue_records gauge
kafka_scale_kafka_consumer_fetch_queue_records{client_id="computer-0"} 10
`, "kafka_scale_kafka_consumer_lag_records", "kafka_scale_kafka_consumer_assigned_partitions",
		"kafka_scale_kafka_consumer_rebalances_total", "kafka_scale_kafka_consumer_fetch_queue_records")
}

// TestStatsClientsSharingAnID: two consumers of one process with the same
// client.id (the default, the host name) make one series each, not a
// gathering error; a closed client's counters stay in the totals.
func TestStatsClientsSharingAnID(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := NewStats(reg)
	first := fixture(t, "consumer.json")
	second := strings.Replace(fixture(t, "consumer-rebalanced.json"), `"name":"computer-0#consumer-4"`, `"name":"computer-0#consumer-9"`, 1)
	require.NoError(t, s.Update(first))
	require.NoError(t, s.Update(second))
	gatherAndCompare(t, reg, helpLag+`
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="0",topic="TOPIC"} 500
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="1",topic="TOPIC"} 10
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="2",topic="TOPIC"} 0
`+helpConsumed+`kafka_scale_kafka_consumed_messages_total{client_id="computer-0"} 1840
`, "kafka_scale_kafka_consumer_lag_records", "kafka_scale_kafka_consumed_messages_total")

	s.forget("computer-0#consumer-4")
	require.NoError(t, s.Update(first), "ignored: the client is closed")
	gatherAndCompare(t, reg, helpLag+`
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="1",topic="TOPIC"} 10
kafka_scale_kafka_consumer_lag_records{client_id="computer-0",partition="2",topic="TOPIC"} 0
`+helpConsumed+`kafka_scale_kafka_consumed_messages_total{client_id="computer-0"} 1840
`, "kafka_scale_kafka_consumer_lag_records", "kafka_scale_kafka_consumed_messages_total")

	s.forget("computer-0#consumer-9")
	n, err := testutil.GatherAndCount(reg, "kafka_scale_kafka_consumer_lag_records", "kafka_scale_kafka_consumer_assigned_partitions")
	require.NoError(t, err)
	require.Zero(t, n, "no gauges without clients")
	gatherAndCompare(t, reg, helpConsumed+`kafka_scale_kafka_consumed_messages_total{client_id="computer-0"} 1840
`, "kafka_scale_kafka_consumed_messages_total")
}

func TestStatsLint(t *testing.T) {
	s := NewStats(nil)
	for _, f := range []string{"consumer.json", "producer-transactional.json"} {
		require.NoError(t, s.Update(fixture(t, f)))
	}
	problems, err := testutil.CollectAndLint(s)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestStatsUpdateErrors(t *testing.T) {
	s := NewStats(nil)
	for _, tc := range []struct{ in, wantErr string }{
		{`{"name": "x", "type": `, "librdkafka statistics: unexpected end of JSON input"},
		{`{"type": "consumer"}`, "librdkafka statistics: no client name"},
		{`{"name": "x", "topics": []}`, "librdkafka statistics: json: cannot unmarshal array"},
	} {
		require.ErrorContains(t, s.Update(tc.in), tc.wantErr, tc.in)
	}
}

func TestPartitionLag(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    rdPartition
		want int64
		ok   bool
	}{
		{"position to last stable offset", rdPartition{AppOffset: 100, CommittedOffset: 90, HiOffset: 650, LsOffset: 600}, 500, true},
		{"committed before the first record", rdPartition{AppOffset: -1001, CommittedOffset: 90, HiOffset: 600, LsOffset: 600}, 510, true},
		{"fetcher less its queue without a commit", rdPartition{AppOffset: -1001, CommittedOffset: -1001, NextOffset: 40, FetchqCnt: 30, HiOffset: 600, LsOffset: 600}, 590, true},
		{"high watermark without a last stable offset", rdPartition{AppOffset: 10, CommittedOffset: -1001, HiOffset: 15, LsOffset: -1001}, 5, true},
		{"never negative", rdPartition{AppOffset: 20, HiOffset: 15, LsOffset: 15}, 0, true},
		{"end unknown", rdPartition{AppOffset: 20, HiOffset: -1001, LsOffset: -1001}, 0, false},
		{"position unknown", rdPartition{AppOffset: -1001, CommittedOffset: -1001, NextOffset: -1001, HiOffset: 15, LsOffset: 15}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lag, ok := tc.p.lag()
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, lag)
		})
	}
}

// FuzzStatsUpdate: whatever the JSON, Update does not panic and the
// metrics stay gatherable.
func FuzzStatsUpdate(f *testing.F) {
	for _, name := range []string{"consumer.json", "producer-transactional.json", "consumer-rebalanced.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := NewStats(nil)
		_ = s.Update(in)
		if _, err := statsRegistry(s).Gather(); err != nil {
			t.Fatalf("gather after Update(%q): %v", in, err)
		}
	})
}
