//go:build kube

package charts

// The cluster test: the umbrella chart against a real API server with the
// CRDs it uses (Strimzi, prometheus-operator, KEDA) and a real node whose pods
// run the services' images, as scripts/kube-local.sh runs them, and a broker
// on the host that pods reach at KAFKA_EXTRA_LISTENER. make test-kube starts
// and stops both, and imports the images (TEST_KUBE_IMAGES) first.

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
	"sigs.k8s.io/yaml"
)

// services are the charts whose pods run the services' images.
var services = []string{"reader", "computer", "aggregator"}

// podBroker is the broker's address as pods reach it: the listener that
// scripts/kafka-local.sh adds on the pod bridge (KAFKA_EXTRA_LISTENER).
func podBroker(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("KAFKA_EXTRA_LISTENER")
	if addr == "" {
		t.Fatal("KAFKA_EXTRA_LISTENER is not set: run make test-kube, or start a broker with KAFKA_EXTRA_LISTENER=10.244.0.1:PORT scripts/kafka-local.sh start and export it")
	}
	return addr
}

// imageTag is the tag of the images the node has: KUBE_TEST_IMAGE_TAG, else
// the umbrella chart's appVersion, which the charts default to.
func imageTag(t *testing.T) string {
	t.Helper()
	if tag := os.Getenv("KUBE_TEST_IMAGE_TAG"); tag != "" {
		return tag
	}
	b, err := os.ReadFile(filepath.Join(chartsDir(t), Umbrella, "Chart.yaml"))
	require.NoError(t, err)
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	require.NoError(t, yaml.Unmarshal(b, &chart))
	require.NotEmpty(t, chart.AppVersion, "%s/Chart.yaml has no appVersion", Umbrella)
	return chart.AppVersion
}

// requireImages fails unless the node has every service's image, which the
// kubelet reports in the Node's status (some seconds after an import), so
// that a missing import fails at once rather than as pods that never start.
func requireImages(t *testing.T) {
	t.Helper()
	tag := imageTag(t)
	eventually(t, 30*time.Second, "the services' images on the node", func() (bool, string) {
		out, err := kubectl(t, "", "get", "nodes", "-o", `jsonpath={range .items[*].status.images[*]}{.names}{"\n"}{end}`)
		if err != nil {
			return false, out
		}
		var missing []string
		for _, s := range services {
			if image := "ghcr.io/kafka-scale/" + s + ":" + tag; !strings.Contains(out, `"`+image+`"`) {
				missing = append(missing, image)
			}
		}
		return len(missing) == 0, fmt.Sprintf("%s not on the node: import them with scripts/kube-local.sh import FILE... "+
			"(make test-kube TEST_KUBE_IMAGES=...), or set KUBE_TEST_IMAGE_TAG to the tag they have", strings.Join(missing, ", "))
	})
}

// imageValues make every pod run ghcr.io/kafka-scale/<service>:<tag> as the
// node has it: nothing may be pulled, there is no registry to pull from.
func imageValues(t *testing.T) []string {
	t.Helper()
	requireImages(t)
	args := []string{"--set", "global.image.registry=ghcr.io", "--set", "global.image.tag=" + imageTag(t)}
	for _, s := range services {
		args = append(args, "--set", s+".image.repository=kafka-scale/"+s, "--set", s+".image.pullPolicy=Never")
	}
	return args
}

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

// podStates describes each pod of release ks's component in ns on one line:
// name, phase (Terminating once deleted), Ready, image, and the reason a
// container waits or last terminated, if any.
func podStates(t *testing.T, ns, component string) []podState {
	t.Helper()
	out, err := kubectl(t, "", "get", "pods", "-n", ns,
		"-l", "app.kubernetes.io/instance=ks,app.kubernetes.io/component="+component,
		"-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\t"}{.metadata.deletionTimestamp}{"\t"}`+
			`{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.status.containerStatuses[0].started}{"\t"}`+
			`{.spec.containers[0].image}{"\t"}{.status.containerStatuses[0].state.waiting.reason}`+
			`{.status.containerStatuses[0].lastState.terminated.reason}{"\n"}{end}`)
	require.NoError(t, err, out)
	var pods []podState
	for _, l := range strings.Split(out, "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		require.Len(t, f, 7, "pod line %q", l)
		p := podState{name: f[0], phase: f[1], ready: f[3] == "True", started: f[4] == "true", image: f[5], reason: f[6]}
		if f[2] != "" {
			p.phase = "Terminating"
		}
		pods = append(pods, p)
	}
	return pods
}

type podState struct {
	name, phase, image, reason string
	ready, started             bool
}

func (p podState) String() string {
	return fmt.Sprintf("%s %s ready=%t started=%t %s %s", p.name, p.phase, p.ready, p.started, p.image, p.reason)
}

// readyPods waits until release ks's component has exactly want pods, every
// one Running, its container started and the pod Ready, running image.
func readyPods(t *testing.T, ns, component, image string, want int) {
	t.Helper()
	var pods []podState
	eventually(t, 3*time.Minute, fmt.Sprintf("%d Ready %s pods", want, component), func() (bool, string) {
		pods = podStates(t, ns, component)
		ready := 0
		var last []string
		for _, p := range pods {
			if p.phase == "Running" && p.started && p.ready && p.image == image {
				ready++
			}
			last = append(last, p.String())
		}
		return ready == want && len(pods) == want, strings.Join(last, "; ")
	})
	for _, p := range pods {
		t.Logf("ready: %s", p)
	}
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
	installed := uninstallAtCleanup(t, ns)

	tag := imageTag(t)
	computer, aggregator := "ghcr.io/kafka-scale/computer:"+tag, "ghcr.io/kafka-scale/aggregator:"+tag
	// The reader's Job would fetch from the Census Bureau's site, which pods
	// cannot reach (and must not): it stays out of this release.
	out := helm(t, append([]string{"install", "ks", Umbrella, "-n", ns, "--wait", "--timeout", "5m",
		"--set", "global.kafka.bootstrapServers=" + podBroker(t),
		"--set", "global.topics.compute.replicas=1",
		"--set", "global.topics.results.replicas=1",
		"--set", "global.topics.state.replicas=1",
		"--set", "reader.enabled=false",
		"--set", "computer.replicaCount=3",
	}, imageValues(t)...)...)
	*installed = true
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
	readyPods(t, ns, "computer", computer, 3)
	readyPods(t, ns, "aggregator", aggregator, 1)

	helm(t, "upgrade", "ks", Umbrella, "-n", ns, "--reuse-values", "--wait", "--timeout", "5m",
		"--set", "computer.replicaCount=5")
	readyPods(t, ns, "computer", computer, 5)

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
	*installed = false
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

// uninstallAtCleanup uninstalls the release ks from ns when the test ends,
// if the flag it returns says the release is installed: a test sets it once
// helm install has succeeded and clears it once it has uninstalled.
func uninstallAtCleanup(t *testing.T, ns string) *bool {
	t.Helper()
	installed := new(bool)
	t.Cleanup(func() {
		if *installed {
			if out, err := runHelm(t, "uninstall", "ks", "-n", ns, "--wait", "--timeout", "3m"); err != nil {
				t.Logf("helm uninstall: %v: %s", err, out)
			}
		}
	})
	return installed
}
