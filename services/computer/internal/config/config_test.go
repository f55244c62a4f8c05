package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{name: "defaults", check: func(t *testing.T, c *Config) {
			require.Equal(t, "compute", c.ComputeTopic)
			require.Equal(t, "results", c.ResultsTopic)
			require.True(t, strings.HasPrefix(c.TransactionalID, "computer-"), c.TransactionalID)
			require.Empty(t, c.ProcessingLog, "off by default")
			require.Equal(t, 400, c.BatchChunks)
			require.Equal(t, 500*time.Millisecond, c.BatchAge)
			require.Equal(t, 250*time.Millisecond, c.HeartbeatInterval)
		}},
		{name: "heartbeat interval", env: map[string]string{"HEARTBEAT_INTERVAL": "1s"}, check: func(t *testing.T, c *Config) {
			require.Equal(t, time.Second, c.HeartbeatInterval)
		}},
		{name: "env twins", env: map[string]string{"GROUP": "g", "GROUP_PROTOCOL": "consumer", "TRANSACTIONAL_ID": "g-0"}, check: func(t *testing.T, c *Config) {
			require.Equal(t, "g", c.Group)
			require.Equal(t, "consumer", c.GroupProtocol)
			require.Equal(t, "g-0", c.TransactionalID)
		}},
		{name: "processing log", env: map[string]string{"PROCESSING_LOG": "/tmp/chunks.log"}, check: func(t *testing.T, c *Config) {
			require.Equal(t, "/tmp/chunks.log", c.ProcessingLog)
		}},
		{name: "same topics", args: []string{"--results-topic", "compute"}, wantErr: `--compute-topic and --results-topic are both "compute"`},
		{name: "bad topic", args: []string{"--compute-topic", "a b"}, wantErr: `--compute-topic "a b": not a valid topic name`},
		{name: "bad protocol", args: []string{"--group-protocol", "eager"}, wantErr: `--group-protocol "eager": want classic or consumer`},
		{name: "bad batch", args: []string{"--batch-chunks", "0"}, wantErr: "--batch-chunks 0: want at least 1"},
		{name: "heartbeat too short", args: []string{"--heartbeat-interval", "1ms"}, wantErr: "--heartbeat-interval 1ms: want 10ms to 15s"},
		{name: "heartbeat too long", args: []string{"--heartbeat-interval", "30s"}, wantErr: "--heartbeat-interval 30s: want 10ms to 15s"},
		{name: "bad timeout", args: []string{"--transaction-timeout", "10ms"}, wantErr: "--transaction-timeout 10ms: want at least 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

// TestConsumerConfig: the heartbeat interval goes to a classic consumer,
// and never to a KIP-848 one, whose broker owns it.
func TestConsumerConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want any // heartbeat.interval.ms; nil: absent
	}{
		{name: "classic default", want: 250},
		{name: "classic set", args: []string{"--heartbeat-interval", "1s"}, want: 1000},
		{name: "consumer", args: []string{"--group-protocol", "consumer"}},
		{name: "consumer ignores it", args: []string{"--group-protocol", "consumer", "--heartbeat-interval", "1s"}},
		{name: "--kafka-config wins", args: []string{"--kafka-config", "heartbeat.interval.ms=700"}, want: "700"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			require.NoError(t, c.Validate())
			cm := c.ConsumerConfig()
			if tc.want == nil {
				require.NotContains(t, cm, "heartbeat.interval.ms")
				return
			}
			require.Equal(t, tc.want, cm["heartbeat.interval.ms"])
		})
	}
}
