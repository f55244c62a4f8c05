package flagenv

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		topic   string
		servers string
		wait    time.Duration
		list    []string
		wantErr string
	}{
		{name: "defaults", topic: "compute", servers: "127.0.0.1:9092", wait: time.Second},
		{name: "env fills", env: map[string]string{"COMPUTE_TOPIC": "c2", "KAFKA_BOOTSTRAP_SERVERS": "k:1", "WAIT": "3s"}, topic: "c2", servers: "k:1", wait: 3 * time.Second},
		{name: "flag beats env", args: []string{"--compute-topic", "c3"}, env: map[string]string{"COMPUTE_TOPIC": "c2"}, topic: "c3", servers: "127.0.0.1:9092", wait: time.Second},
		{name: "list from env and flag", args: []string{"--item", "a", "--item", "b,c"}, topic: "compute", servers: "127.0.0.1:9092", wait: time.Second, list: []string{"a", "b", "c"}},
		{name: "list from env", env: map[string]string{"ITEM": "x, y"}, topic: "compute", servers: "127.0.0.1:9092", wait: time.Second, list: []string{"x", "y"}},
		{name: "bad env value names variable", env: map[string]string{"WAIT": "soon"}, wantErr: `environment variable WAIT="soon" (flag --wait)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			topic := fs.String("compute-topic", "compute", "topic")
			servers := fs.String("bootstrap-servers", "127.0.0.1:9092", "servers")
			wait := fs.Duration("wait", time.Second, "wait")
			var list StringList
			fs.Var(&list, "item", "items")
			b := New(fs, "").Bind("bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS")
			err := b.Parse(tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.topic, *topic)
			require.Equal(t, tc.servers, *servers)
			require.Equal(t, tc.wait, *wait)
			require.Equal(t, tc.list, []string(list))
		})
	}
}

func TestEnvNameAndUsage(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("metrics-addr", "", "admin address")
	b := New(fs, "READER_")
	require.Equal(t, "READER_METRICS_ADDR", b.EnvName("metrics-addr"))
	require.NoError(t, b.Parse(nil, func(string) (string, bool) { return "", false }))
	require.NoError(t, b.Parse(nil, func(string) (string, bool) { return "", false }))
	require.Equal(t, "admin address [$READER_METRICS_ADDR]", fs.Lookup("metrics-addr").Usage)
}
