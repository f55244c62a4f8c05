package extkafka

import (
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		syslog int
		want   zapcore.Level
	}{
		{0, zapcore.ErrorLevel}, {2, zapcore.ErrorLevel}, {3, zapcore.ErrorLevel},
		{4, zapcore.WarnLevel}, {5, zapcore.InfoLevel}, {6, zapcore.InfoLevel}, {7, zapcore.DebugLevel},
	} {
		require.Equal(t, tc.want, logLevel(tc.syslog), "syslog level %d", tc.syslog)
	}
}

func TestForward(t *testing.T) {
	defer goleak.VerifyNone(t)
	core, logs := observer.New(zapcore.InfoLevel)
	stats := NewStats(nil)
	require.NoError(t, stats.Update(`{"name":"svc#consumer-1","client_id":"svc","type":"consumer","rxmsgs":3}`))

	ch := make(chan kafka.LogEvent, 3)
	done := forward("svc#consumer-1", ch, nil, zap.New(core), stats)
	ch <- kafka.LogEvent{Name: "svc#consumer-1", Tag: "FAIL", Message: "connection refused", Level: 3}
	ch <- kafka.LogEvent{Name: "svc#consumer-1", Tag: "PROTOERR", Message: "debug detail", Level: 7}
	ch <- kafka.LogEvent{Name: "svc#consumer-1", Tag: "CGRPSTATE", Message: "joined", Level: 6}
	close(ch) // what the client does in Close
	<-done

	entries := logs.AllUntimed()
	require.Len(t, entries, 2, "debug is below the logger's level")
	require.Equal(t, zapcore.ErrorLevel, entries[0].Level)
	require.Equal(t, "connection refused", entries[0].Message)
	require.Equal(t, map[string]any{"client": "svc#consumer-1", "librdkafka_tag": "FAIL", "syslog_level": int64(3)}, entries[0].ContextMap())
	require.Equal(t, zapcore.InfoLevel, entries[1].Level)

	n, err := testutil.GatherAndCount(statsRegistry(stats), "kafka_scale_kafka_consumed_messages_total")
	require.NoError(t, err)
	require.Equal(t, 1, n, "a closed client's counters stay")
	require.NoError(t, stats.Update(`{"name":"svc#consumer-1","client_id":"svc","type":"consumer","rxmsgs":5}`))
	require.NoError(t, testutil.GatherAndCompare(statsRegistry(stats), strings.NewReader(`
# HELP kafka_scale_kafka_consumed_messages_total Messages a consumer received from the brokers.
# TYPE kafka_scale_kafka_consumed_messages_total counter
kafka_scale_kafka_consumed_messages_total{client_id="svc"} 3
`), "kafka_scale_kafka_consumed_messages_total"), "late statistics of a closed client are ignored")
}

// TestClientLogsGoToZap has a real client fail to connect and finds
// librdkafka's complaint in the zap log.
func TestClientLogsGoToZap(t *testing.T) {
	defer goleak.VerifyNone(t)
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := NewProducer(ProducerConfig(Config{BootstrapServers: noBroker, ClientID: "logtest"}, nil), zap.New(core), nil)
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterFieldKey("librdkafka_tag").Len() == 0 {
		require.True(t, time.Now().Before(deadline), "no librdkafka log within 10s")
		time.Sleep(10 * time.Millisecond)
	}
	p.Close()
	e := logs.FilterFieldKey("librdkafka_tag").All()[0]
	require.Regexp(t, "^logtest#producer-", e.ContextMap()["client"])
	require.Contains(t, e.Message, "127.0.0.1:1")
}

func TestNewAdminClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, err := NewAdmin(AdminConfig(Config{BootstrapServers: noBroker}), zap.NewNop())
	require.NoError(t, err)
	require.NotNil(t, a.Logger())
	a.Close()
}

func TestOwnLogsChannelRefused(t *testing.T) {
	_, err := NewProducer(kafka.ConfigMap{"go.logs.channel": make(chan kafka.LogEvent)}, zap.NewNop(), nil)
	require.ErrorContains(t, err, "go.logs.channel: set by extkafka")
}

func TestLibraryVersion(t *testing.T) {
	require.Regexp(t, `^\d+\.\d+\.\d+`, LibraryVersion())
	core, logs := observer.New(zapcore.InfoLevel)
	LogLinkInfo(zap.New(core))
	require.Equal(t, 1, logs.FilterMessage("librdkafka").FilterFieldKey("link_info").Len())
}
