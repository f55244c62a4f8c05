//go:build kube

package charts

// The control-plane test: the umbrella chart against a real API server with
// the CRDs it uses (Strimzi, prometheus-operator, KEDA) and fake kwok nodes,
// as scripts/kube-local.sh runs them. make test-kube starts and stops it.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireCluster fails unless KUBECONFIG points at a cluster.
func requireCluster(t *testing.T) {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal(`KUBECONFIG is not set: run make test-kube, or scripts/kube-local.sh start and eval "$(scripts/kube-local.sh env)"`)
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatal(`kubectl is not on PATH: eval "$(scripts/kube-local.sh env)" puts the control plane's on it`)
	}
	out, err := kubectl(t, "", "version")
	require.NoError(t, err, "the cluster does not answer: %s", out)
}

// kubectl runs kubectl with stdin, returning its output (stderr too).
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), err
}

// helm runs helm in the charts directory, failing the test on error.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runHelm(t, args...)
	require.NoError(t, err)
	return out
}

// testNamespace creates a namespace of its own for the test and deletes it
// (and whatever is left in it) at the end.
func testNamespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	ns := "kafka-scale-test-" + hex.EncodeToString(b)
	out, err := kubectl(t, "", "create", "namespace", ns)
	require.NoError(t, err, out)
	t.Cleanup(func() {
		if out, err := kubectl(t, "", "delete", "namespace", ns, "--wait=true", "--timeout=3m"); err != nil {
			t.Errorf("delete namespace %s: %v: %s", ns, err, out)
		}
	})
	return ns
}

// eventually polls check every half second until it reports done, failing
// the test with check's last word once timeout has passed.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		done, last := check()
		if done {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%s: not after %v; last: %s", what, timeout, last)
		case <-tick.C:
		}
	}
}

// podPhases lists the phases of the computer pods of release ks in ns,
// counting a pod being deleted as Terminating.
func podPhases(t *testing.T, ns, component string) []string {
	t.Helper()
	out, err := kubectl(t, "", "get", "pods", "-n", ns,
		"-l", "app.kubernetes.io/instance=ks,app.kubernetes.io/component="+component,
		"-o", `jsonpath={range .items[*]}{.status.phase}{.metadata.deletionTimestamp}{"\n"}{end}`)
	require.NoError(t, err, out)
	var phases []string
	for _, l := range strings.Fields(out) {
		if l != "Running" && strings.HasPrefix(l, "Running") {
			l = "Terminating"
		}
		phases = append(phases, l)
	}
	return phases
}

func runningComputers(t *testing.T, ns string, want int) {
	t.Helper()
	eventually(t, 3*time.Minute, fmt.Sprintf("%d Running computer pods", want), func() (bool, string) {
		phases := podPhases(t, ns, "computer")
		running := 0
		for _, p := range phases {
			if p == "Running" {
				running++
			}
		}
		return running == want && len(phases) == want, strings.Join(phases, ",")
	})
	t.Logf("%d computer pods Running", want)
}

// manifestObjects are kind/name of every object in a release's manifest.
func manifestObjects(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for _, o := range decode(t, helm(t, "get", "manifest", "ks", "-n", ns)) {
		out = append(out, strings.ToLower(o.Kind())+"/"+o.Name())
	}
	require.NotEmpty(t, out)
	return out
}

// TestKubeServerDryRun: the API server, with the CRDs' schemas and
// admission, accepts every object of every ci/ scenario as it is.
func TestKubeServerDryRun(t *testing.T) {
	requireCluster(t)
	buildDeps(t)
	ns := testNamespace(t)
	files, err := filepath.Glob(filepath.Join(chartsDir(t), Umbrella, "ci", "*-values.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			manifest := helm(t, "template", "ks", Umbrella, "--namespace", ns, "-f", f)
			out, err := kubectl(t, manifest, "apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
			require.NoError(t, err, out)
			require.Equal(t, len(decode(t, manifest)), strings.Count(out, "(server dry run)"), out)
		})
	}
}

// TestKubeStrimziSchemaRejects: the KafkaTopic and KafkaUser schemas and the
// cluster-label policy that TestKubeServerDryRun relies on do reject what
// Strimzi's operators would not act on, so its passing means something. The
// cases are ones Strimzi's own CRDs (scripts/lib/strimzi-crds.sh) reject: a
// CRD that lost its schema, or a hand-written one, would let some through.
func TestKubeStrimziSchemaRejects(t *testing.T) {
	requireCluster(t)
	ns := testNamespace(t)
	for _, tc := range []struct {
		name, object, want string
	}{{
		name: "unknown field in a KafkaUser's spec",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
spec:
  authentication: {type: scram-sha-512}
  quota: {producerByteRate: 1024}
`,
		want: `unknown field "spec.quota"`,
	}, {
		name: "ACL rule with the old single operation",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
spec:
  authorization:
    type: simple
    acls:
      - resource: {type: topic, name: t}
        operation: Read
`,
		want: `unknown field "spec.authorization.acls[0].operation"`,
	}, {
		name: "KafkaTopic without the strimzi.io/cluster label",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: t}
spec: {partitions: 1, replicas: 1}
`,
		want: "the strimzi.io/cluster label must name the Kafka cluster",
	}, {
		name: "KafkaTopic without spec",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: t, labels: {strimzi.io/cluster: kafka}}
`,
		want: "spec: Required value",
	}, {
		name: "KafkaUser without spec",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
`,
		want: "spec: Required value",
	}, {
		name: "simple authorization without ACLs",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
spec:
  authorization: {type: simple}
`,
		want: "spec.authorization.acls: Required value",
	}, {
		name: "ACL rule with an unknown operation",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
spec:
  authorization:
    type: simple
    acls:
      - resource: {type: topic, name: t}
        operations: [Raed]
`,
		want: `spec.authorization.acls[0].operations[0]: Unsupported value: "Raed"`,
	}, {
		name: "negative producer quota",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata: {name: u, labels: {strimzi.io/cluster: kafka}}
spec:
  quotas: {producerByteRate: -1}
`,
		want: "spec.quotas.producerByteRate: Invalid value: -1: spec.quotas.producerByteRate in body should be greater than or equal to 0",
	}, {
		name: "KafkaTopic with -1 partitions",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: t, labels: {strimzi.io/cluster: kafka}}
spec: {partitions: -1, replicas: 1}
`,
		want: "spec.partitions: Invalid value: -1: spec.partitions in body should be greater than or equal to 1",
	}, {
		name: "KafkaTopic with more replicas than Kafka allows",
		object: `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: t, labels: {strimzi.io/cluster: kafka}}
spec: {partitions: 1, replicas: 32768}
`,
		want: "spec.replicas: Invalid value: 32768: spec.replicas in body should be less than or equal to 32767",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := kubectl(t, tc.object, "apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-")
			require.Error(t, err, out)
			require.Contains(t, out, tc.want)
		})
	}
}

// TestKubeInstallScaleUninstall: helm install, scale by hand, turn on
// either autoscaler, uninstall.
func TestKubeInstallScaleUninstall(t *testing.T) {
	requireCluster(t)
	buildDeps(t)
	ns := testNamespace(t)
	installed := false
	t.Cleanup(func() {
		if installed {
			if out, err := runHelm(t, "uninstall", "ks", "-n", ns, "--wait", "--timeout", "3m"); err != nil {
				t.Logf("helm uninstall: %v: %s", err, out)
			}
		}
	})

	out := helm(t, "install", "ks", Umbrella, "-n", ns, "--wait", "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=kafka-0.kafka:9092",
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "reader.years=2023",
		"--set", "computer.replicaCount=3",
	)
	installed = true
	require.Contains(t, out, "kubectl port-forward -n "+ns+" svc/ks-aggregator 8080:8080", "NOTES tell how to reach the API")
	require.Contains(t, out, "grafana_dashboard", "NOTES tell where the dashboards are")

	// Every object of the release is there.
	objs := manifestObjects(t, ns)
	for _, obj := range objs {
		out, err := kubectl(t, "", "get", "-n", ns, obj, "-o", "name")
		require.NoError(t, err, out)
	}
	t.Logf("installed: %s", strings.Join(objs, " "))
	topic, err := kubectl(t, "", "get", "-n", ns, "kafkatopic/results-aggregator-state", "-o", "jsonpath={.spec.config.cleanup\\.policy}")
	require.NoError(t, err, topic)
	require.Equal(t, "compact", topic)
	runningComputers(t, ns, 3)

	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set", "computer.replicaCount=5")
	runningComputers(t, ns, 5)

	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--timeout", "5m",
		"--set", "computer.autoscaling.enabled=true",
		"--set", "computer.autoscaling.type=keda",
		"--set", "computer.autoscaling.minReplicas=2",
		"--set", "computer.autoscaling.maxReplicas=6",
		"--set", "computer.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=120",
	)
	so, err := kubectl(t, "", "get", "-n", ns, "scaledobject/ks-computer", "-o",
		`jsonpath={.spec.minReplicaCount} {.spec.maxReplicaCount} {.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds} {.spec.triggers[0].metadata.consumerGroup} {.spec.triggers[0].metadata.topic}`)
	require.NoError(t, err, so)
	require.Equal(t, "2 6 120 computer compute", so)
	t.Logf("ScaledObject: min max scaleDown-window group topic = %s", so)

	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--timeout", "5m",
		"--set", "computer.autoscaling.type=hpa")
	hpa, err := kubectl(t, "", "get", "-n", ns, "hpa/ks-computer", "-o",
		`jsonpath={.spec.minReplicas} {.spec.maxReplicas} {.spec.behavior.scaleDown.stabilizationWindowSeconds} {.spec.behavior.scaleUp.policies[0].value} {.spec.metrics[0].external.metric.name}`)
	require.NoError(t, err, hpa)
	require.Equal(t, "2 6 120 4 kafka_consumergroup_lag", hpa)
	t.Logf("HPA: min max scaleDown-window scaleUp-pods metric = %s", hpa)
	out, err = kubectl(t, "", "get", "-n", ns, "scaledobjects", "-o", "name")
	require.NoError(t, err, out)
	require.Empty(t, strings.TrimSpace(out), "the ScaledObject went with type keda")

	// Uninstall removes every object of the release, and the pods.
	objs = manifestObjects(t, ns)
	helm(t, "uninstall", "ks", "-n", ns, "--wait", "--timeout", "3m")
	installed = false
	for _, obj := range objs {
		out, err := kubectl(t, "", "get", "-n", ns, obj, "--ignore-not-found", "-o", "name")
		require.NoError(t, err, out)
		require.Empty(t, strings.TrimSpace(out), "%s outlived helm uninstall", obj)
	}
	eventually(t, 3*time.Minute, "no pods left", func() (bool, string) {
		out, err := kubectl(t, "", "get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=ks", "-o", "name")
		return err == nil && strings.TrimSpace(out) == "", out
	})
	t.Logf("uninstalled: none of the %d objects nor any pod left", len(objs))
}
