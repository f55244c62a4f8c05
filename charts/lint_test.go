package charts

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLint runs helm lint --strict on every chart, on the umbrella chart
// with each ci/ scenario, and on each chart with each values-*.yaml it
// ships for users (values-kind.yaml).
func TestLint(t *testing.T) {
	buildDeps(t)
	for _, c := range AllCharts {
		t.Run(c, func(t *testing.T) {
			out, err := runHelm(t, "lint", "--strict", c)
			require.NoError(t, err, out)
		})
	}
	files, err := filepath.Glob(filepath.Join(chartsDir(t), Umbrella, "ci", "*-values.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		t.Run(Umbrella+"/"+filepath.Base(f), func(t *testing.T) {
			out, err := runHelm(t, "lint", "--strict", Umbrella, "-f", f)
			require.NoError(t, err, out)
		})
	}
	var shipped int
	for _, c := range AllCharts {
		files, err := filepath.Glob(filepath.Join(chartsDir(t), c, "values-*.yaml"))
		require.NoError(t, err)
		for _, f := range files {
			shipped++
			t.Run(c+"/"+filepath.Base(f), func(t *testing.T) {
				out, err := runHelm(t, "lint", "--strict", c, "-f", f)
				require.NoError(t, err, out)
			})
		}
	}
	require.NotZero(t, shipped, "no chart ships a values-*.yaml (charts/kafka-scale/values-kind.yaml)")
}

// TestSchemaRejects: values.schema.json turns away unknown keys and wrong
// types before anything renders.
func TestSchemaRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"misspelt key", "computer.replicaCont=3", "additional properties 'replicaCont' not allowed"},
		{"misspelt nested key", "computer.autoscaling.maxReplica=3", "additional properties 'maxReplica' not allowed"},
		{"misspelt global key", "global.kafka.bootstrapServer=x:9092", "additional properties 'bootstrapServer' not allowed"},
		{"misspelt umbrella key", "dashboard.enabled=false", "additional properties 'dashboard' not allowed"},
		{"string for an integer", "computer.replicaCount=three", "got string, want integer"},
		{"string for a boolean", "computer.autoscaling.enabled=yes", "got string, want boolean"},
		{"unknown autoscaler", "computer.autoscaling.type=vpa", "autoscaling/type"},
		{"unknown security protocol", "global.kafka.securityProtocol=tls", "securityProtocol"},
		{"bad duration", "computer.batchAge=half-a-second", "batchAge"},
		{"bad heartbeat interval", "computer.heartbeatInterval=250", "heartbeatInterval"},
		{"bad KEDA kafka version", "computer.autoscaling.keda.version=4", "keda/version"},
		{"unknown KEDA signal", "computer.autoscaling.keda.signal=records", "keda/signal"},
		{"Prometheus address without a scheme", "computer.autoscaling.keda.prometheus.serverAddress=prometheus:9090", "prometheus/serverAddress"},
		{"zero lag-in-seconds threshold", "computer.autoscaling.keda.prometheus.threshold=0", "prometheus/threshold"},
		{"Utilization for the prometheus trigger", "computer.autoscaling.keda.prometheus.metricType=Utilization", "prometheus/metricType"},
		{"negative partitions", "global.topics.compute.partitions=-1", "partitions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, Umbrella, nil, tc.set)
			require.Error(t, err)
			require.Contains(t, err.Error(), "don't meet the specifications of the schema")
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestRefuses: values the schema cannot judge alone, which the templates
// turn away with a message that names the values to change.
func TestRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"maxReplicas over partitions",
			[]string{"computer.autoscaling.enabled=true", "computer.autoscaling.maxReplicas=13"},
			"computer.autoscaling.maxReplicas is 13, more than the 12 partitions of the compute topic (global.topics.compute.partitions)"},
		{"maxReplicas over fewer partitions",
			[]string{"computer.autoscaling.enabled=true", "global.topics.compute.partitions=6", "computer.autoscaling.maxReplicas=8"},
			"computer.autoscaling.maxReplicas is 8, more than the 6 partitions"},
		{"minReplicas zero",
			[]string{"computer.autoscaling.enabled=true", "computer.autoscaling.minReplicas=0"},
			"computer.autoscaling.minReplicas is 0: it must be at least 1"},
		{"min over max",
			[]string{"computer.autoscaling.enabled=true", "computer.autoscaling.minReplicas=6", "computer.autoscaling.maxReplicas=4"},
			"computer.autoscaling.minReplicas 6 is more than computer.autoscaling.maxReplicas 4"},
		{"lag in seconds without a Prometheus server",
			[]string{"computer.autoscaling.enabled=true", "computer.autoscaling.keda.signal=seconds"},
			"computer.autoscaling.keda.signal is seconds: set computer.autoscaling.keda.prometheus.serverAddress"},
		{"both signals without a Prometheus server",
			[]string{"computer.autoscaling.enabled=true", "computer.autoscaling.keda.signal=both"},
			"computer.autoscaling.keda.signal is both: set computer.autoscaling.keda.prometheus.serverAddress"},
		{"replicaCount over partitions",
			[]string{"computer.replicaCount=13"},
			"computer.replicaCount is 13, more than the 12 partitions"},
		{"grace period within the transaction timeout",
			[]string{"computer.terminationGracePeriodSeconds=15"},
			"computer.terminationGracePeriodSeconds 15 must exceed computer.transactionTimeout 15s (15 s)"},
		{"grace period within a longer transaction timeout",
			[]string{"computer.transactionTimeout=1m30s"},
			"computer.terminationGracePeriodSeconds 30 must exceed computer.transactionTimeout 1m30s (90 s)"},
		{"SASL without credentials",
			[]string{"global.kafka.securityProtocol=sasl_ssl"},
			"global.kafka.securityProtocol sasl_ssl needs credentials: set global.kafka.auth.type to kafkaUser or existingSecret"},
		{"existing Secret without a name",
			[]string{"global.kafka.securityProtocol=sasl_ssl", "global.kafka.auth.type=existingSecret", "global.kafka.auth.existingSecret.username=u"},
			"set global.kafka.auth.existingSecret.name"},
		{"existing Secret without a username",
			[]string{"global.kafka.securityProtocol=sasl_ssl", "global.kafka.auth.type=existingSecret", "global.kafka.auth.existingSecret.name=s"},
			"set global.kafka.auth.existingSecret.username"},
		{"SCRAM KafkaUser over plaintext",
			[]string{"global.kafka.auth.type=kafkaUser"},
			"global.kafka.auth.kafkaUser.authentication scram-sha-512 needs global.kafka.securityProtocol sasl_ssl or sasl_plaintext"},
		{"SCRAM KafkaUser with PLAIN",
			[]string{"global.kafka.auth.type=kafkaUser", "global.kafka.securityProtocol=sasl_ssl", "global.kafka.sasl.mechanism=PLAIN"},
			"needs global.kafka.sasl.mechanism SCRAM-SHA-512"},
		{"TLS KafkaUser over SASL",
			[]string{"global.kafka.auth.type=kafkaUser", "global.kafka.auth.kafkaUser.authentication=tls", "global.kafka.securityProtocol=sasl_ssl"},
			"global.kafka.auth.kafkaUser.authentication tls needs global.kafka.securityProtocol ssl"},
		{"reader with nothing to load",
			[]string{"reader.years="},
			"reader: set years"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, Umbrella, nil, tc.sets...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
