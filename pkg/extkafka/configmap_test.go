package extkafka

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

// noBroker is an address nothing listens on: clients are created and
// closed without ever reaching a broker.
const noBroker = "127.0.0.1:1"

func TestProducerConfig(t *testing.T) {
	c := Config{BootstrapServers: "kafka:9092", ClientID: "reader-1", StatsInterval: 15 * time.Second,
		Overrides: []string{"linger.ms=50", "debug=msg", "protocol"}}
	cm := ProducerConfig(c, kafka.ConfigMap{"compression.type": "zstd", "linger.ms": 1})
	require.Equal(t, kafka.ConfigMap{
		"bootstrap.servers":                     "kafka:9092",
		"client.id":                             "reader-1",
		"security.protocol":                     "plaintext",
		"go.logs.channel.enable":                true,
		"statistics.interval.ms":                15000,
		"socket.keepalive.enable":               true,
		"enable.idempotence":                    true,
		"acks":                                  "all",
		"max.in.flight.requests.per.connection": 5,
		"compression.type":                      "zstd", // extra over the default
		"linger.ms":                             "50",   // --kafka-config over extra
		"debug":                                 "msg,protocol",
		"queue.buffering.max.kbytes":            4096,
		"message.timeout.ms":                    120000,
		"go.produce.channel.size":               0, // no buffer for the unused ProduceChannel
	}, cm)
}

func TestTransactionalProducerConfig(t *testing.T) {
	cm := TransactionalProducerConfig(Config{BootstrapServers: noBroker}, "computer-0", kafka.ConfigMap{"transaction.timeout.ms": "5000"})
	require.Equal(t, "computer-0", cm["transactional.id"])
	require.Equal(t, "5000", cm["transaction.timeout.ms"])
	require.NotContains(t, cm, "message.timeout.ms", "librdkafka derives it from the transaction timeout")
	require.Equal(t, true, cm["enable.idempotence"])
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, host, cm["client.id"], "the host name by default")
}

func TestConsumerConfig(t *testing.T) {
	c := Config{BootstrapServers: noBroker, ClientID: "computer-1"}
	for _, tc := range []struct {
		protocol string
		want     map[string]any
		absent   []string
	}{
		{protocol: "", want: map[string]any{"partition.assignment.strategy": "cooperative-sticky", "heartbeat.interval.ms": 250}, absent: []string{"group.protocol"}},
		{protocol: "classic", want: map[string]any{"partition.assignment.strategy": "cooperative-sticky", "heartbeat.interval.ms": 250}, absent: []string{"group.protocol"}},
		{protocol: "consumer", want: map[string]any{"group.protocol": "consumer"},
			absent: []string{"partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "group.protocol.type"}},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			cm := ConsumerConfig(c, "computers", tc.protocol, nil)
			for k, v := range map[string]any{
				"group.id": "computers", "enable.auto.commit": false, "enable.auto.offset.store": false,
				"isolation.level": "read_committed", "auto.offset.reset": "earliest", "fetch.queue.backoff.ms": 50,
				"queued.max.messages.kbytes": 8192, "fetch.max.bytes": 8388608,
			} {
				require.Equal(t, v, cm[k], k)
			}
			for k, v := range tc.want {
				require.Equal(t, v, cm[k], k)
			}
			for _, k := range tc.absent {
				require.NotContains(t, cm, k)
			}
		})
	}
}

func TestSecurityConfig(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	require.NoError(t, os.WriteFile(pw, []byte("from-file\n"), 0o600))
	for _, tc := range []struct {
		name string
		cfg  Config
		want map[string]string
		not  []string
	}{
		{name: "plaintext ignores the rest", cfg: Config{SASLMechanism: "PLAIN", TLSCAFile: "/ca"},
			want: map[string]string{"security.protocol": "plaintext"},
			not:  []string{"sasl.mechanisms", "sasl.username", "sasl.password", "ssl.ca.location"}},
		{name: "ssl", cfg: Config{SecurityProtocol: "SSL", TLSCAFile: "/ca", TLSCertFile: "/crt", TLSKeyFile: "/key"},
			want: map[string]string{"security.protocol": "ssl", "ssl.ca.location": "/ca", "ssl.certificate.location": "/crt", "ssl.key.location": "/key"},
			not:  []string{"sasl.mechanisms"}},
		{name: "sasl_ssl with the system's CAs", cfg: Config{SecurityProtocol: "sasl_ssl", SASLMechanism: "SCRAM-SHA-512", SASLUsername: "u", SASLPassword: "p"},
			want: map[string]string{"security.protocol": "sasl_ssl", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p"},
			not:  []string{"ssl.ca.location", "ssl.certificate.location"}},
		{name: "sasl_plaintext password file", cfg: Config{SecurityProtocol: "sasl_plaintext", SASLMechanism: "PLAIN", SASLUsername: "u", SASLPasswordFile: pw},
			want: map[string]string{"security.protocol": "sasl_plaintext", "sasl.password": "from-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.BootstrapServers = noBroker
			for _, cm := range []kafka.ConfigMap{ProducerConfig(tc.cfg, nil), ConsumerConfig(tc.cfg, "g", "", nil), AdminConfig(tc.cfg)} {
				for k, v := range tc.want {
					require.Equal(t, v, cm[k], k)
				}
				for _, k := range tc.not {
					require.NotContains(t, cm, k)
				}
			}
		})
	}
}

// TestLibrdkafkaAccepts creates real clients (no broker needed) from every
// builder, so that a property librdkafka rejects fails here rather than at
// a service's start.
func TestLibrdkafkaAccepts(t *testing.T) {
	defer goleak.VerifyNone(t)
	log := zaptest.NewLogger(t)
	c := Config{BootstrapServers: noBroker, ClientID: "test", StatsInterval: time.Second}
	stats := NewStats(nil)
	for name, cm := range map[string]kafka.ConfigMap{
		"producer":      ProducerConfig(c, nil),
		"transactional": TransactionalProducerConfig(c, "txn", nil),
	} {
		p, err := NewProducer(cm, log, stats)
		require.NoError(t, err, name)
		p.Close()
	}
	for _, protocol := range []string{GroupProtocolClassic, GroupProtocolConsumer} {
		consumer, err := NewConsumer(ConsumerConfig(c, "g", protocol, nil), log, stats)
		require.NoError(t, err, protocol)
		require.NoError(t, consumer.Close())
	}
	a, err := NewAdmin(AdminConfig(c), log)
	require.NoError(t, err)
	a.Close()

	// Why the consumer protocol gets no classic properties.
	_, err = NewConsumer(ConsumerConfig(c, "g", GroupProtocolConsumer, kafka.ConfigMap{"partition.assignment.strategy": "cooperative-sticky"}), log, nil)
	require.ErrorContains(t, err, "partition.assignment.strategy")
	_, err = NewConsumer(ConsumerConfig(c, "g", "kip848", nil), log, nil)
	require.ErrorContains(t, err, "group.protocol")
}
