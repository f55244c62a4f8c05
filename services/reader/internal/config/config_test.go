package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		periods []Period
		wantErr string
	}{
		{name: "files", args: []string{"--from-file", "a.gz", "--from-file", "b.gz"}},
		{name: "years and months", args: []string{"--years", "2019,2020", "--months", "jan,12"},
			periods: []Period{{2019, 1}, {2019, 12}, {2020, 1}, {2020, 12}}},
		{name: "all months from env", env: map[string]string{"YEARS": "2020", "MONTHS": "*"},
			periods: []Period{{2020, 1}, {2020, 2}, {2020, 3}, {2020, 4}, {2020, 5}, {2020, 6}, {2020, 7}, {2020, 8}, {2020, 9}, {2020, 10}, {2020, 11}, {2020, 12}}},
		{name: "no source", wantErr: "no sources: give --from-file, or --years with --months"},
		{name: "years without months", args: []string{"--years", "2020"}, wantErr: "--years needs --months"},
		{name: "bad month", args: []string{"--years", "2020", "--months", "jun,smarch"}, wantErr: `--months: month "smarch": want jan..dec or 1..12`},
		{name: "bad year", args: []string{"--years", "1890", "--months", "1"}, wantErr: `--years: "1890" is not a year of the basic monthly files (1994 on)`},
		{name: "chunk too big", args: []string{"--from-file", "a", "--chunk-size", "5000"}, wantErr: "--chunk-size 5000: want 1 to 900 records"},
		{name: "bad partitions", args: []string{"--from-file", "a", "--partitions", "0"}, wantErr: "--partitions 0: want at least 1"},
		{name: "bad topic config", args: []string{"--from-file", "a", "--topic-config", "retention.ms"}, wantErr: `--topic-config "retention.ms": want key=value`},
		{name: "bad env", env: map[string]string{"PARALLEL": "two"}, wantErr: `environment variable PARALLEL="two"`},
		{name: "stray argument", args: []string{"a.gz"}, wantErr: "unexpected arguments"},
		{name: "replication factor -2", args: []string{"--from-file", "a", "--replication-factor", "-2"}, wantErr: "--replication-factor -2: want at least 1, or -1 for the broker's default"},
		{name: "empty user agent", args: []string{"--from-file", "a", "--user-agent", ""}, wantErr: "--user-agent is empty"},
		{name: "1994, the first year", args: []string{"--years", "1994", "--months", "jan"}, periods: []Period{{1994, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, env(tc.env))
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			p, err := c.Periods()
			require.NoError(t, err)
			require.Equal(t, tc.periods, p)
		})
	}
}

// TestReplicationFactorDefault: topics the reader creates take the broker's
// default.replication.factor unless told otherwise.
func TestReplicationFactorDefault(t *testing.T) {
	c, err := Parse([]string{"--from-file", "a"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, -1, c.ReplicationFactor)
	c, err = Parse([]string{"--from-file", "a", "--replication-factor", "3"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, 3, c.ReplicationFactor)
}

func TestUserAgent(t *testing.T) {
	c, err := Parse([]string{"--from-file", "a"}, env(nil))
	require.NoError(t, err)
	require.Regexp(t, `^kafka-scale-reader/\S+ \(\+https://github.com/kafka-scale/kafka-scale\)$`, c.UserAgent)
	c, err = Parse(nil, env(map[string]string{"USER_AGENT": "me/1"}))
	require.NoError(t, err)
	require.Equal(t, "me/1", c.UserAgent)
}
