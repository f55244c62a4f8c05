package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		wantErr   string
		wantState string
		wantGroup string
	}{
		{name: "defaults", wantState: "results-aggregator-state", wantGroup: "results-aggregator"},
		{name: "derived from the results topic", args: []string{"--results-topic", "r2"}, wantState: "r2-aggregator-state", wantGroup: "r2-aggregator"},
		{name: "explicit group", args: []string{"--group", "g"}, wantState: "results-aggregator-state", wantGroup: "g"},
		{name: "explicit state topic", args: []string{"--state-topic", "s"}, wantState: "s", wantGroup: "results-aggregator"},
		{name: "state is results", args: []string{"--state-topic", "results"}, wantErr: `--state-topic "results" is the results topic`},
		{name: "snapshot too often", args: []string{"--snapshot-interval", "1ms"}, wantErr: "--snapshot-interval 1ms: want at least 100ms"},
		{name: "transaction shorter than a call", args: []string{"--transaction-timeout", "10s"}, wantErr: "--transaction-timeout 10s: want at least --kafka-op-timeout (30s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(string) (string, bool) { return "", false })
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantState, c.StateTopic)
			require.Equal(t, tc.wantGroup, c.Group())
			require.Equal(t, c.ResultsTopic+"-aggregator", c.TransactionalID())
		})
	}
}
