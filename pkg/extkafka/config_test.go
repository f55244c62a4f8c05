package extkafka

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

func parse(t *testing.T, prefix string, args []string, env map[string]string) (Config, error) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	b := flagenv.New(fs, prefix)
	c.RegisterFlags(fs, b)
	err := b.Parse(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return c, err
}

func TestRegisterFlags(t *testing.T) {
	c, err := parse(t, "", nil, nil)
	require.NoError(t, err)
	require.Equal(t, Config{BootstrapServers: "127.0.0.1:9092", SecurityProtocol: "plaintext", SASLMechanism: "SCRAM-SHA-512",
		StatsInterval: 15 * time.Second}, c, "defaults")
	require.NoError(t, c.Validate())

	// The KAFKA_* names hold whatever the service's prefix.
	c, err = parse(t, "READER_", []string{"--kafka-config", "linger.ms=50", "--kafka-sasl-username", "flag-wins"}, map[string]string{
		"KAFKA_BOOTSTRAP_SERVERS":  "kafka-0:9092,kafka-1:9092",
		"KAFKA_CLIENT_ID":          "reader-7c9f",
		"KAFKA_SECURITY_PROTOCOL":  "sasl_ssl",
		"KAFKA_SASL_MECHANISM":     "SCRAM-SHA-256",
		"KAFKA_SASL_USERNAME":      "env-loses",
		"KAFKA_SASL_PASSWORD_FILE": "/var/run/secrets/kafka/password",
		"KAFKA_TLS_CA_FILE":        "/ca.crt",
		"KAFKA_TLS_CERT_FILE":      "/user.crt",
		"KAFKA_TLS_KEY_FILE":       "/user.key",
		"KAFKA_CONFIG":             "ignored=because the flag is given",
		"KAFKA_STATS_INTERVAL":     "0s",
	})
	require.NoError(t, err)
	require.Equal(t, Config{
		BootstrapServers: "kafka-0:9092,kafka-1:9092", ClientID: "reader-7c9f", SecurityProtocol: "sasl_ssl",
		SASLMechanism: "SCRAM-SHA-256", SASLUsername: "flag-wins", SASLPasswordFile: "/var/run/secrets/kafka/password",
		TLSCAFile: "/ca.crt", TLSCertFile: "/user.crt", TLSKeyFile: "/user.key",
		Overrides: flagenv.StringList{"linger.ms=50"},
	}, c)

	_, err = parse(t, "", nil, map[string]string{"KAFKA_STATS_INTERVAL": "soon"})
	require.ErrorContains(t, err, `KAFKA_STATS_INTERVAL="soon"`)
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	password, empty := file("password", "s3cret\n"), file("empty", "")
	ca, cert, key := file("ca.crt", "pem"), file("user.crt", "pem"), file("user.key", "pem")
	missing := filepath.Join(dir, "missing")
	ok := Config{BootstrapServers: "127.0.0.1:9092"}

	for _, tc := range []struct {
		name    string
		edit    func(c *Config)
		wantErr []string
	}{
		{name: "plaintext", edit: func(*Config) {}},
		{name: "upper-case protocol", edit: func(c *Config) { c.SecurityProtocol = "PLAINTEXT" }},
		{name: "ssl with mutual TLS", edit: func(c *Config) {
			c.SecurityProtocol, c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = "ssl", ca, cert, key
		}},
		{name: "sasl_ssl with password file", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile, c.TLSCAFile = "sasl_ssl", "SCRAM-SHA-512", "u", password, ca
		}},
		{name: "sasl_plaintext with password", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPassword = "sasl_plaintext", "PLAIN", "u", "p"
		}},
		{name: "overrides with commas in a value", edit: func(c *Config) { c.Overrides = []string{"debug=broker", "topic", "linger.ms=5"} }},
		{name: "empty bootstrap", edit: func(c *Config) { c.BootstrapServers = " " }, wantErr: []string{"--bootstrap-servers is empty"}},
		{name: "bootstrap without port", edit: func(c *Config) { c.BootstrapServers = "kafka:9092,kafka-1" },
			wantErr: []string{`--bootstrap-servers: "kafka-1" is not host:port`}},
		{name: "unknown protocol", edit: func(c *Config) { c.SecurityProtocol = "tls" },
			wantErr: []string{`--kafka-security-protocol "tls": want plaintext, ssl, sasl_plaintext or sasl_ssl`}},
		{name: "sasl without username or password", edit: func(c *Config) { c.SecurityProtocol, c.SASLMechanism = "sasl_ssl", "PLAIN" },
			wantErr: []string{"--kafka-security-protocol sasl_ssl needs --kafka-sasl-username", "needs --kafka-sasl-password or --kafka-sasl-password-file"}},
		{name: "bad mechanism", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPassword = "sasl_plaintext", "GSSAPI", "u", "p"
		}, wantErr: []string{`--kafka-sasl-mechanism "GSSAPI": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`}},
		{name: "password and file", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPassword, c.SASLPasswordFile = "sasl_plaintext", "PLAIN", "u", "p", password
		}, wantErr: []string{"--kafka-sasl-password and --kafka-sasl-password-file are both set"}},
		{name: "missing password file", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "sasl_plaintext", "PLAIN", "u", missing
		}, wantErr: []string{"--kafka-sasl-password-file " + missing + ": open"}},
		{name: "empty password file", edit: func(c *Config) {
			c.SecurityProtocol, c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "sasl_plaintext", "PLAIN", "u", empty
		}, wantErr: []string{"--kafka-sasl-password-file " + empty + ": empty"}},
		{name: "credentials without sasl", edit: func(c *Config) { c.SASLUsername = "u" },
			wantErr: []string{"SASL credentials are given but --kafka-security-protocol is plaintext"}},
		{name: "TLS files without TLS", edit: func(c *Config) { c.TLSCAFile = ca },
			wantErr: []string{"--kafka-tls-ca-file is given but --kafka-security-protocol is plaintext"}},
		{name: "missing CA file", edit: func(c *Config) { c.SecurityProtocol, c.TLSCAFile = "ssl", missing },
			wantErr: []string{"--kafka-tls-ca-file " + missing}},
		{name: "CA file is a directory", edit: func(c *Config) { c.SecurityProtocol, c.TLSCAFile = "ssl", dir },
			wantErr: []string{"--kafka-tls-ca-file " + dir + ": is a directory"}},
		{name: "cert without key", edit: func(c *Config) { c.SecurityProtocol, c.TLSCertFile = "ssl", cert },
			wantErr: []string{"--kafka-tls-cert-file and --kafka-tls-key-file go together"}},
		{name: "override without =", edit: func(c *Config) { c.Overrides = []string{"linger.ms"} },
			wantErr: []string{`--kafka-config "linger.ms": want key=value`}},
		{name: "override with empty key", edit: func(c *Config) { c.Overrides = []string{"=5"} },
			wantErr: []string{`--kafka-config "=5": empty key`}},
		{name: "override of a go.* property", edit: func(c *Config) { c.Overrides = []string{"go.logs.channel.enable=false"} },
			wantErr: []string{`--kafka-config "go.logs.channel.enable=false": go.* properties belong to the Go client`}},
		{name: "negative stats interval", edit: func(c *Config) { c.StatsInterval = -time.Second },
			wantErr: []string{"--kafka-stats-interval -1s: want 0 (off) or more"}},
		{name: "sub-millisecond stats interval", edit: func(c *Config) { c.StatsInterval = time.Microsecond },
			wantErr: []string{"--kafka-stats-interval 1µs: want at least 1ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			for _, want := range tc.wantErr {
				require.ErrorContains(t, err, want)
			}
		})
	}
}

func TestParseOverrides(t *testing.T) {
	kvs, err := parseOverrides([]string{"debug=broker", "topic", "fetch.wait.max.ms = 100", "sasl.oauthbearer.config=a=b"})
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"debug", "broker,topic"}, {"fetch.wait.max.ms", "100"}, {"sasl.oauthbearer.config", "a=b"}}, kvs)
}
