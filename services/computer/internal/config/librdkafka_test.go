package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// TestLibrdkafkaGetsTheGroupSettings creates the computer's real consumer
// (no broker needed) with librdkafka's configuration dump on, and reads
// what librdkafka itself says it was configured with: the heartbeat
// interval for the classic protocol, and a consumer it accepts for KIP-848.
func TestLibrdkafkaGetsTheGroupSettings(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name string
		args []string
		want string // a line of librdkafka's configuration dump; "": none with heartbeat.interval.ms
	}{
		{name: "classic", want: "heartbeat.interval.ms = 250"},
		{name: "classic set", args: []string{"--heartbeat-interval", "2s"}, want: "heartbeat.interval.ms = 2000"},
		{name: "consumer", args: []string{"--group-protocol", "consumer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--bootstrap-servers", "127.0.0.1:1", "--kafka-config", "debug=conf"}, tc.args...)
			c, err := Parse(args, func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			core, logs := observer.New(zap.DebugLevel)
			consumer, err := extkafka.NewConsumer(c.ConsumerConfig(), zap.New(core), nil)
			require.NoError(t, err)
			// The dump is logged while the client is created; it has
			// reached the log once its last line (the topic defaults) has.
			require.Eventually(t, func() bool { return logs.FilterMessageSnippet("Default topic configuration").Len() > 0 },
				10*time.Second, 10*time.Millisecond)
			require.NoError(t, consumer.Close())
			var dump []string
			for _, e := range logs.All() {
				if strings.Contains(e.Message, "heartbeat.interval.ms") {
					dump = append(dump, strings.TrimSpace(e.Message))
				}
			}
			if tc.want == "" {
				require.Empty(t, dump)
				return
			}
			require.Len(t, dump, 1)
			require.Contains(t, dump[0], tc.want)
		})
	}
}
