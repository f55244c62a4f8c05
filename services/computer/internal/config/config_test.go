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
