package extkafka

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

// Security protocols, as librdkafka's security.protocol spells them.
const (
	ProtocolPlaintext     = "plaintext"
	ProtocolSSL           = "ssl"
	ProtocolSASLPlaintext = "sasl_plaintext"
	ProtocolSASLSSL       = "sasl_ssl"
)

// Config is how a service reaches the Kafka cluster. The zero value with
// BootstrapServers set is a valid plaintext configuration.
type Config struct {
	// BootstrapServers is a comma-separated list of host:port.
	BootstrapServers string
	// ClientID is librdkafka's client.id; empty means the host name, which
	// in Kubernetes is the pod's name.
	ClientID string
	// SecurityProtocol is plaintext, ssl, sasl_plaintext or sasl_ssl;
	// empty means plaintext.
	SecurityProtocol string
	// SASLMechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; it is used
	// with the sasl_* protocols only.
	SASLMechanism    string
	SASLUsername     string
	SASLPassword     string
	SASLPasswordFile string
	// TLS files, used with the ssl and sasl_ssl protocols.
	TLSCAFile   string
	TLSCertFile string
	TLSKeyFile  string
	// Overrides are raw librdkafka properties, key=value, applied after
	// everything else.
	Overrides flagenv.StringList
	// StatsInterval is librdkafka's statistics.interval.ms; 0 disables
	// statistics.
	StatsInterval time.Duration
}

// DefaultStatsInterval is the default of --kafka-stats-interval: often
// enough for lag alerts, rare enough that the JSON (a few kB per partition)
// costs nothing.
const DefaultStatsInterval = 15 * time.Second

// RegisterFlags adds the --bootstrap-servers and --kafka-* flags to fs and
// binds each to its KAFKA_* environment variable on b (which may be nil),
// whatever b's prefix: the variables are the same in every service.
func (c *Config) RegisterFlags(fs *flag.FlagSet, b *flagenv.Binder) {
	for _, f := range []struct {
		p          *string
		name, env  string
		def, usage string
	}{
		{&c.BootstrapServers, "bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "Kafka bootstrap servers, comma-separated host:port"},
		{&c.ClientID, "kafka-client-id", "KAFKA_CLIENT_ID", "", "Kafka client.id (default: the host name, in Kubernetes the pod's name)"},
		{&c.SecurityProtocol, "kafka-security-protocol", "KAFKA_SECURITY_PROTOCOL", ProtocolPlaintext, "Kafka security protocol: plaintext, ssl, sasl_plaintext or sasl_ssl"},
		{&c.SASLMechanism, "kafka-sasl-mechanism", "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "SASL mechanism with the sasl_* protocols: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{&c.SASLUsername, "kafka-sasl-username", "KAFKA_SASL_USERNAME", "", "SASL user name"},
		{&c.SASLPassword, "kafka-sasl-password", "KAFKA_SASL_PASSWORD", "", "SASL password (prefer --kafka-sasl-password-file)"},
		{&c.SASLPasswordFile, "kafka-sasl-password-file", "KAFKA_SASL_PASSWORD_FILE", "", "file holding the SASL password, e.g. a mounted Kubernetes secret"},
		{&c.TLSCAFile, "kafka-tls-ca-file", "KAFKA_TLS_CA_FILE", "", "PEM file of the CA certificates that sign the brokers' certificates (default: the system's)"},
		{&c.TLSCertFile, "kafka-tls-cert-file", "KAFKA_TLS_CERT_FILE", "", "PEM client certificate for mutual TLS"},
		{&c.TLSKeyFile, "kafka-tls-key-file", "KAFKA_TLS_KEY_FILE", "", "PEM private key of --kafka-tls-cert-file"},
	} {
		fs.StringVar(f.p, f.name, f.def, f.usage)
		if b != nil {
			b.Bind(f.name, f.env)
		}
	}
	fs.Var(&c.Overrides, "kafka-config", "raw librdkafka property key=value, applied last; repeatable or comma-separated")
	fs.DurationVar(&c.StatsInterval, "kafka-stats-interval", DefaultStatsInterval, "interval of librdkafka statistics turned into metrics; 0 disables them")
	if b != nil {
		b.Bind("kafka-config", "KAFKA_CONFIG")
		b.Bind("kafka-stats-interval", "KAFKA_STATS_INTERVAL")
	}
}

// Validate checks c, naming each bad value, and checks that the files it
// names can be read.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.BootstrapServers) == "" {
		errs = append(errs, errors.New("--bootstrap-servers is empty"))
	}
	for _, s := range strings.Split(c.BootstrapServers, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("--bootstrap-servers: %q is not host:port", s))
		}
	}
	proto := c.protocol()
	switch proto {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
	default:
		errs = append(errs, fmt.Errorf("--kafka-security-protocol %q: want plaintext, ssl, sasl_plaintext or sasl_ssl", c.SecurityProtocol))
	}
	if isSASL(proto) {
		switch c.SASLMechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			errs = append(errs, fmt.Errorf("--kafka-sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism))
		}
		if c.SASLUsername == "" {
			errs = append(errs, fmt.Errorf("--kafka-security-protocol %s needs --kafka-sasl-username", proto))
		}
		switch {
		case c.SASLPassword != "" && c.SASLPasswordFile != "":
			errs = append(errs, errors.New("--kafka-sasl-password and --kafka-sasl-password-file are both set: give one"))
		case c.SASLPasswordFile != "":
			if err := checkFile("--kafka-sasl-password-file", c.SASLPasswordFile); err != nil {
				errs = append(errs, err)
			} else if p, err := readPassword(c.SASLPasswordFile); err != nil || p == "" {
				errs = append(errs, fmt.Errorf("--kafka-sasl-password-file %s: empty", c.SASLPasswordFile))
			}
		case c.SASLPassword == "":
			errs = append(errs, fmt.Errorf("--kafka-security-protocol %s needs --kafka-sasl-password or --kafka-sasl-password-file", proto))
		}
	} else if c.SASLUsername != "" || c.SASLPassword != "" || c.SASLPasswordFile != "" {
		errs = append(errs, fmt.Errorf("SASL credentials are given but --kafka-security-protocol is %s: want sasl_plaintext or sasl_ssl", proto))
	}
	tlsFiles := []struct{ flag, path string }{
		{"--kafka-tls-ca-file", c.TLSCAFile}, {"--kafka-tls-cert-file", c.TLSCertFile}, {"--kafka-tls-key-file", c.TLSKeyFile},
	}
	for _, f := range tlsFiles {
		if f.path == "" {
			continue
		}
		if !isTLS(proto) {
			errs = append(errs, fmt.Errorf("%s is given but --kafka-security-protocol is %s: want ssl or sasl_ssl", f.flag, proto))
			continue
		}
		if err := checkFile(f.flag, f.path); err != nil {
			errs = append(errs, err)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("--kafka-tls-cert-file and --kafka-tls-key-file go together: give both or neither"))
	}
	if _, err := parseOverrides(c.Overrides); err != nil {
		errs = append(errs, err)
	}
	if c.StatsInterval < 0 {
		errs = append(errs, fmt.Errorf("--kafka-stats-interval %v: want 0 (off) or more", c.StatsInterval))
	} else if c.StatsInterval > 0 && c.StatsInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("--kafka-stats-interval %v: want at least 1ms", c.StatsInterval))
	}
	return errors.Join(errs...)
}

func (c *Config) protocol() string {
	if c.SecurityProtocol == "" {
		return ProtocolPlaintext
	}
	return strings.ToLower(c.SecurityProtocol)
}

func isSASL(proto string) bool { return proto == ProtocolSASLPlaintext || proto == ProtocolSASLSSL }
func isTLS(proto string) bool  { return proto == ProtocolSSL || proto == ProtocolSASLSSL }

func checkFile(flagName, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s %s: is a directory", flagName, path)
	}
	return nil
}

// readPassword reads a secret file as Kubernetes mounts it: the whole file,
// without a trailing line end that an editor or `echo` may have added.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// password is the SASL password, read from the file each time a config map
// is built, so that a client created after a secret's rotation uses the new
// one. Validate has checked the file; a read error here leaves the password
// empty and librdkafka reports the failed authentication.
func (c *Config) password() string {
	if c.SASLPasswordFile == "" {
		return c.SASLPassword
	}
	p, _ := readPassword(c.SASLPasswordFile)
	return p
}

// clientID is c.ClientID or, when empty, the host name.
func (c *Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "kafka-scale"
}

// parseOverrides turns key=value items into a map. librdkafka values may
// hold commas (debug=broker,topic), which the flag splits into separate
// items; an item without "=" therefore continues the previous value.
func parseOverrides(items []string) ([][2]string, error) {
	var kvs [][2]string
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			if len(kvs) == 0 {
				return nil, fmt.Errorf("--kafka-config %q: want key=value", item)
			}
			kvs[len(kvs)-1][1] += "," + item
			continue
		}
		k = strings.TrimSpace(k)
		switch {
		case k == "":
			return nil, fmt.Errorf("--kafka-config %q: empty key", item)
		case strings.HasPrefix(k, "go."):
			return nil, fmt.Errorf("--kafka-config %q: go.* properties belong to the Go client and are set by the program", item)
		}
		kvs = append(kvs, [2]string{k, strings.TrimSpace(v)})
	}
	return kvs, nil
}
