//go:build integration

// The pipeline against a broker that enforces ACLs
// (scripts/kafka-local.sh with KAFKA_SECURITY=sasl_ssl), each service as
// its own SCRAM user with exactly the ACLs its chart's KafkaUser declares.

package security

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"sigs.k8s.io/yaml"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// securePortEnv names the port the test's secure broker listens on (and
// the next one, its controller's); make test-integration sets it.
const securePortEnv = "KAFKA_SECURE_PORT"

// TestACLE2E: the chart's KafkaUsers, rendered by helm and applied as they
// are to a broker with allow.everyone.if.no.acl.found=false, let the
// pipeline run end to end with exact results, and refuse each service what
// it does not need, which the service then says in its log.
func TestACLE2E(t *testing.T) {
	b := startSecureBroker(t)
	chart := renderChart(t, b.addr)
	require.Len(t, chart.users, 3, "KafkaUsers rendered")

	admin := b.adminClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	creds := createUsers(ctx, t, admin, chart.users, t.TempDir())
	applyACLs(ctx, t, admin, chart.users)
	createTopics(ctx, t, admin, chart.topics)

	// The pipeline, each service with its chart's settings and its user.
	dir := t.TempDir()
	want, _ := harness.Generate(t, dir, 2020, []int{1, 2, 3}, 20_000, 1)
	svc := func(name string) []string { return chart.env(t, name, b, creds[chart.user(t, name)]) }
	agg := harness.Start(t, "aggregator", harness.Bin(t, "aggregator"), nil, svc("aggregator")...)
	api := agg.Addr("api", time.Minute)
	c1 := harness.Start(t, "computer-1", harness.Bin(t, "computer"), nil, svc("computer")...)
	c2 := harness.Start(t, "computer-2", harness.Bin(t, "computer"), nil, svc("computer")...)
	c1.WaitReady(time.Minute)
	c2.WaitReady(time.Minute)
	files, _ := filepath.Glob(filepath.Join(dir, "*.dat.gz"))
	var readerArgs []string
	for _, f := range files {
		readerArgs = append(readerArgs, "--from-file", f)
	}
	reader := harness.Start(t, "reader", harness.Bin(t, "reader"), readerArgs, svc("reader")...)
	require.Equal(t, 0, reader.Wait(3*time.Minute), "reader exit code")
	harness.WaitSources(t, api, 3*time.Minute, harness.AllComplete(3))
	harness.CheckAPI(t, api, want)
	c1.Stop(time.Minute)
	c2.Stop(time.Minute)
	agg.Stop(time.Minute) // the misconfigured aggregator below would fence it

	cfg := chart.configs
	// Each user, with a plain client, is refused what its service does
	// not need.
	t.Run("reader may not read results", func(t *testing.T) {
		// Without Describe the reader's user cannot even learn where the
		// topic's partitions are: a consumer stops at the metadata.
		c := consumer(t, b.config(creds[chart.user(t, "reader")]), "")
		topic := cfg["computer"]["RESULTS_TOPIC"]
		md, err := c.GetMetadata(&topic, false, 30_000)
		require.NoError(t, err)
		require.Equal(t, kafka.ErrTopicAuthorizationFailed, md.Topics[topic].Error.Code(), "metadata of %s: %v", topic, md.Topics[topic].Error)
		t.Logf("refused: metadata of %s: %v", topic, md.Topics[topic].Error)
	})
	t.Run("computer may not write compute", func(t *testing.T) {
		p, err := extkafka.NewProducer(extkafka.ProducerConfig(b.config(creds[chart.user(t, "computer")]),
			kafka.ConfigMap{"message.timeout.ms": 30_000}), zap.NewNop(), nil)
		require.NoError(t, err)
		defer p.Close()
		topic := cfg["computer"]["COMPUTE_TOPIC"]
		require.NoError(t, p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: []byte("x")}, nil))
		waitError(t, func() kafka.Event {
			select {
			case ev := <-p.Events():
				return ev
			case <-time.After(100 * time.Millisecond):
				return nil
			}
		}, kafka.ErrTopicAuthorizationFailed)
	})
	t.Run("aggregator may not use another group", func(t *testing.T) {
		c := consumer(t, b.config(creds[chart.user(t, "aggregator")]), cfg["computer"]["GROUP"])
		require.NoError(t, c.SubscribeTopics([]string{cfg["aggregator"]["RESULTS_TOPIC"]}, nil))
		waitError(t, func() kafka.Event { return c.Poll(100) }, kafka.ErrGroupAuthorizationFailed)
	})

	// The services themselves, told to do what their users may not, stop
	// and say which ACL they lack.
	results, compute, group := cfg["computer"]["RESULTS_TOPIC"], cfg["computer"]["COMPUTE_TOPIC"], cfg["computer"]["GROUP"]
	for _, tc := range []struct {
		name, service string
		env           []string
		want          string
	}{
		{name: "reader producing to results", service: "reader", env: []string{"COMPUTE_TOPIC=" + results},
			want: fmt.Sprintf(`not authorized on topic %q (TOPIC_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Describe on topic %q`, results, results)},
		// A computer cannot be told to write the topic it reads; with the
		// topics swapped it is refused reading results before it could
		// write compute.
		{name: "computer with its topics swapped", service: "computer", env: []string{"COMPUTE_TOPIC=" + results, "RESULTS_TOPIC=" + compute},
			want: fmt.Sprintf(`not authorized on topic %q (TOPIC_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Read, Describe on topic %q`, results, results)},
		{name: "aggregator in the computers' group", service: "aggregator", env: []string{"GROUP=" + group},
			want: fmt.Sprintf(`not authorized on group %q (GROUP_AUTHORIZATION_FAILED): the Kafka user needs an ACL allowing Read on group %q`, group, group)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(chart.env(t, tc.service, b, creds[chart.user(t, tc.service)]), tc.env...)
			var args []string
			if tc.service == "reader" {
				args = readerArgs[:2]
			}
			p := harness.Start(t, tc.service, harness.Bin(t, tc.service), args, env...)
			require.Equal(t, 1, p.Wait(2*time.Minute), "exit code")
			line := failureLine(t, p.Log(), tc.service)
			require.Contains(t, line, tc.want, "the service's last error")
			t.Logf("%s logged: %s", tc.service, line)
		})
	}
}

// failureLine is the error of the "<service> failed" line the service
// logs on its way out.
func failureLine(t *testing.T, log, service string) string {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		var e struct {
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == service+" failed" {
			return e.Error
		}
	}
	t.Fatalf("no %q line in the log:\n%s", service+" failed", log)
	return ""
}

// broker is the test's secure broker.
type broker struct {
	addr          string
	caFile        string
	adminPassword string
}

func startSecureBroker(t *testing.T) *broker {
	t.Helper()
	port := os.Getenv(securePortEnv)
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("%s=%q: set it to a free port for the test's secure broker (make test-integration does)", securePortEnv, port)
	}
	dir := filepath.Join(t.TempDir(), "kafka")
	script := filepath.Join(harness.RepoRoot(t), "scripts", "kafka-local.sh")
	run := func(cmd string) (string, error) {
		c := exec.Command(script, cmd)
		// TLS and SCRAM make a start slower, the more so on a busy machine.
		c.Env = append(os.Environ(), "KAFKA_SECURITY=sasl_ssl", "KAFKA_PORT="+port, "KAFKA_LOCAL_DIR="+dir, "KAFKA_START_TIMEOUT=180")
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		if err != nil {
			err = fmt.Errorf("kafka-local.sh %s: %w\n%s", cmd, err, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), err
	}
	t.Cleanup(func() {
		if _, err := run("clean"); err != nil {
			t.Error(err)
		}
	})
	out, err := run("start")
	require.NoError(t, err)
	pw, err := os.ReadFile(filepath.Join(dir, "admin.password"))
	require.NoError(t, err)
	lines := strings.Split(out, "\n")
	return &broker{addr: lines[len(lines)-1], caFile: filepath.Join(dir, "tls", "ca.crt"), adminPassword: strings.TrimSpace(string(pw))}
}

// user is a SCRAM user and its password file.
type user struct{ name, password, passwordFile string }

func (b *broker) config(u user) extkafka.Config {
	return extkafka.Config{BootstrapServers: b.addr, SecurityProtocol: extkafka.ProtocolSASLSSL, SASLMechanism: "SCRAM-SHA-512",
		SASLUsername: u.name, SASLPassword: u.password, TLSCAFile: b.caFile}
}

func (b *broker) adminClient(t *testing.T) *extkafka.Admin {
	t.Helper()
	a, err := extkafka.NewAdmin(extkafka.AdminConfig(b.config(user{name: "admin", password: b.adminPassword})), zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return a
}

// rendered is what the test takes from `helm template`.
type rendered struct {
	users   []KafkaUser
	topics  []kafkaTopic
	configs map[string]map[string]string // ConfigMap data by service
}

type kafkaTopic struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		TopicName  string         `json:"topicName"`
		Partitions int            `json:"partitions"`
		Config     map[string]any `json:"config"`
	} `json:"spec"`
}

// user is the KafkaUser's name for the service.
func (r *rendered) user(t *testing.T, service string) string {
	t.Helper()
	for _, u := range r.users {
		if u.Metadata.Labels["app.kubernetes.io/component"] == service {
			return u.Metadata.Name
		}
	}
	t.Fatalf("no KafkaUser for %s", service)
	return ""
}

// env is the service's environment: its chart ConfigMap, with the
// broker's address, the user's password file and the CA of this machine,
// servers on free loopback ports, one replica, and no sources of the
// Census site.
func (r *rendered) env(t *testing.T, service string, b *broker, u user) []string {
	t.Helper()
	data, ok := r.configs[service]
	require.True(t, ok, "no ConfigMap for %s", service)
	require.Equal(t, u.name, data["KAFKA_SASL_USERNAME"], "the chart's user for %s", service)
	var env []string
	for k, v := range data {
		switch k {
		case "YEARS", "MONTHS", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SASL_PASSWORD_FILE", "KAFKA_TLS_CA_FILE",
			"METRICS_ADDR", "LISTEN", "REPLICATION_FACTOR", "EXIT_DELAY":
			continue
		}
		env = append(env, k+"="+v)
	}
	env = append(env, "KAFKA_BOOTSTRAP_SERVERS="+b.addr, "KAFKA_SASL_PASSWORD_FILE="+u.passwordFile,
		"KAFKA_TLS_CA_FILE="+b.caFile, "METRICS_ADDR=127.0.0.1:0", "REPLICATION_FACTOR=1", "LOG_FORMAT=json")
	if service == "aggregator" {
		env = append(env, "LISTEN=127.0.0.1:0")
	}
	return env
}

// renderChart runs helm template on a copy of the charts (helm writes the
// dependencies' archives into them) with Strimzi KafkaUsers authenticated
// by SCRAM-SHA-512 over TLS.
func renderChart(t *testing.T, bootstrap string) *rendered {
	t.Helper()
	helm := helmPath(t)
	work := t.TempDir()
	src := filepath.Join(harness.RepoRoot(t), "charts")
	for _, c := range []string{"kafka-scale-lib", "reader", "computer", "aggregator", "kafka-scale"} {
		require.NoError(t, os.CopyFS(filepath.Join(work, c), os.DirFS(filepath.Join(src, c))))
		require.NoError(t, os.RemoveAll(filepath.Join(work, c, "charts")))
	}
	helmEnv := append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(work, ".helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(work, ".helm", "config"), "HELM_DATA_HOME="+filepath.Join(work, ".helm", "data"))
	runHelm := func(args ...string) string {
		cmd := exec.Command(helm, args...)
		cmd.Dir, cmd.Env = work, helmEnv
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "helm %s: %s", strings.Join(args, " "), stderr.String())
		return stdout.String()
	}
	for _, c := range []string{"reader", "computer", "aggregator", "kafka-scale"} {
		runHelm("dependency", "build", "--skip-refresh", c)
	}
	out := runHelm("template", "ks", "kafka-scale", "--namespace", "kafka-scale",
		"--set", "global.kafka.bootstrapServers="+bootstrap,
		"--set", "global.kafka.securityProtocol=sasl_ssl",
		"--set", "global.kafka.sasl.mechanism=SCRAM-SHA-512",
		"--set", "global.kafka.auth.type=kafkaUser",
		"--set", "global.kafka.auth.kafkaUser.authentication=scram-sha-512",
		"--set", "global.kafka.tls.caSecret.name=local-cluster-ca-cert")

	r := &rendered{configs: map[string]map[string]string{}}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &head))
		switch head.Kind {
		case "KafkaUser":
			var u KafkaUser
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &u), "KafkaUser:\n%s", doc)
			require.Equal(t, "scram-sha-512", u.Spec.Authentication.Type)
			require.Equal(t, "simple", u.Spec.Authorization.Type)
			r.users = append(r.users, u)
		case "KafkaTopic":
			var k kafkaTopic
			require.NoError(t, yaml.Unmarshal([]byte(doc), &k))
			r.topics = append(r.topics, k)
		case "ConfigMap":
			if c := head.Metadata.Labels["app.kubernetes.io/component"]; c == "reader" || c == "computer" || c == "aggregator" {
				r.configs[c] = head.Data
			}
		}
	}
	return r
}

// helmPath finds helm on PATH or where scripts/install-deps.sh puts it.
func helmPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	out, err := exec.Command(filepath.Join(harness.RepoRoot(t), "scripts", "install-deps.sh"), "--bin").Output()
	require.NoError(t, err)
	p := filepath.Join(strings.TrimSpace(string(out)), "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm is not on PATH nor at %s: run scripts/install-deps.sh", p)
	}
	return p
}

// createUsers gives each KafkaUser a SCRAM-SHA-512 credential with a new
// password, written to a file as the User Operator's Secret would be.
func createUsers(ctx context.Context, t *testing.T, admin *extkafka.Admin, users []KafkaUser, dir string) map[string]user {
	t.Helper()
	out := map[string]user{}
	var ups []kafka.UserScramCredentialUpsertion
	for i, u := range users {
		pw := fmt.Sprintf("%s-%d-%d", u.Metadata.Name, i, time.Now().UnixNano())
		file := filepath.Join(dir, u.Metadata.Name+".password")
		require.NoError(t, os.WriteFile(file, []byte(pw+"\n"), 0o600))
		out[u.Metadata.Name] = user{name: u.Metadata.Name, password: pw, passwordFile: file}
		ups = append(ups, kafka.UserScramCredentialUpsertion{User: u.Metadata.Name, Password: []byte(pw),
			ScramCredentialInfo: kafka.ScramCredentialInfo{Mechanism: kafka.ScramMechanismSHA512, Iterations: 4096}})
	}
	res, err := admin.AlterUserScramCredentials(ctx, ups, nil)
	require.NoError(t, err)
	for name, e := range res.Errors {
		require.Equal(t, kafka.ErrNoError, e.Code(), "SCRAM credential of %s: %v", name, e)
	}
	return out
}

// applyACLs creates every user's bindings and waits until the broker
// describes them all.
func applyACLs(ctx context.Context, t *testing.T, admin *extkafka.Admin, users []KafkaUser) {
	t.Helper()
	for _, u := range users {
		bindings, err := Bindings(u)
		require.NoError(t, err)
		res, err := admin.CreateACLs(ctx, bindings)
		require.NoError(t, err)
		for i, r := range res {
			require.Equal(t, kafka.ErrNoError, r.Error.Code(), "%s: %+v: %v", u.Metadata.Name, bindings[i], r.Error)
		}
		t.Logf("%s: %d ACL bindings from %d KafkaUser rules", u.Metadata.Name, len(bindings), len(u.Spec.Authorization.ACLs))
		harness.Eventually(t, time.Minute, func() (bool, string) {
			d, err := admin.DescribeACLs(ctx, kafka.ACLBindingFilter{Type: kafka.ResourceAny, ResourcePatternType: kafka.ResourcePatternTypeAny,
				Principal: "User:" + u.Metadata.Name, Operation: kafka.ACLOperationAny, PermissionType: kafka.ACLPermissionTypeAny})
			if err != nil {
				return false, err.Error()
			}
			return len(d.ACLBindings) == len(bindings), fmt.Sprintf("%s: %d of %d bindings described", u.Metadata.Name, len(d.ACLBindings), len(bindings))
		})
	}
}

// createTopics creates the chart's KafkaTopics as Strimzi's Topic Operator
// would, with one replica.
func createTopics(ctx context.Context, t *testing.T, admin *extkafka.Admin, topics []kafkaTopic) {
	t.Helper()
	require.NotEmpty(t, topics)
	for _, k := range topics {
		spec := extkafka.TopicSpec{Name: k.Spec.TopicName, Partitions: k.Spec.Partitions, ReplicationFactor: 1, Config: map[string]string{}}
		if spec.Name == "" {
			spec.Name = k.Metadata.Name
		}
		for key, v := range k.Spec.Config {
			spec.Config[key] = fmt.Sprint(v)
		}
		_, err := extkafka.EnsureTopic(ctx, admin, spec)
		require.NoError(t, err)
	}
}

// consumer is a consumer with cfg's user, in group (when empty, a group
// of its own that it never joins: it is only assigned partitions).
func consumer(t *testing.T, cfg extkafka.Config, group string) *kafka.Consumer {
	t.Helper()
	if group == "" {
		group = "unused-" + strconv.Itoa(os.Getpid())
	}
	c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg, group, extkafka.GroupProtocolClassic, nil), zap.NewNop(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitError polls until an event is the error want (an error event or a
// failed delivery), failing the test when a message gets through or a
// minute passes without it.
func waitError(t *testing.T, poll func() kafka.Event, want kafka.ErrorCode) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var seen []string
	for time.Now().Before(deadline) {
		var err error
		switch e := poll().(type) {
		case kafka.Error:
			err = e
		case *kafka.Message:
			if e.TopicPartition.Error == nil {
				t.Fatalf("a message went through: %v", e.TopicPartition)
			}
			err = e.TopicPartition.Error
		}
		if err == nil {
			continue
		}
		var ke kafka.Error
		if errors.As(err, &ke) && ke.Code() == want {
			t.Logf("refused: %v", err)
			return
		}
		seen = append(seen, err.Error())
	}
	t.Fatalf("no %v within a minute; errors seen: %q", want, seen)
}
