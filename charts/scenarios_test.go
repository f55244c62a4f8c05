package charts

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// as converts a rendered object into a Kubernetes type.
func as[T any](t testing.TB, o Object) T {
	t.Helper()
	b, err := yaml.Marshal(o)
	require.NoError(t, err)
	var v T
	require.NoError(t, yaml.UnmarshalStrict(b, &v), "%s %s does not fit %T", o.Kind(), o.Name(), v)
	return v
}

// scenario renders the umbrella chart (without files/: see bareUmbrella)
// with ci/<name>-values.yaml.
func scenario(t testing.TB, name string, sets ...string) []Object {
	t.Helper()
	out, err := render(t, bareUmbrella(t), []string{filepath.Join(Umbrella, "ci", name+"-values.yaml")}, sets...)
	require.NoError(t, err)
	return decode(t, out)
}

func deployment(t testing.TB, objs []Object, name string) appsv1.Deployment {
	return as[appsv1.Deployment](t, one(t, objs, "Deployment", name))
}

// env is a service's environment: its ConfigMap's data.
func env(t testing.TB, objs []Object, service string) map[string]string {
	return as[corev1.ConfigMap](t, one(t, objs, "ConfigMap", "ks-"+service)).Data
}

func volume(t testing.TB, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s in %v", name, spec.Volumes)
	return corev1.Volume{}
}

func mounts(spec corev1.PodSpec) map[string]string {
	m := map[string]string{}
	for _, vm := range spec.Containers[0].VolumeMounts {
		m[vm.Name] = vm.MountPath
	}
	return m
}

func kinds(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Kind()+"/"+o.Name())
	}
	sort.Strings(out)
	return out
}

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		check    func(t *testing.T, objs []Object)
	}{
		{"default", func(t *testing.T, objs []Object) {
			require.Equal(t, []string{
				"ConfigMap/ks-aggregator", "ConfigMap/ks-computer", "ConfigMap/ks-reader",
				"Deployment/ks-aggregator", "Deployment/ks-computer",
				"Job/" + find(objs, "Job", "ks-reader-")[0].Name(),
				"KafkaTopic/compute", "KafkaTopic/results", "KafkaTopic/results-aggregator-state",
				"PodDisruptionBudget/ks-computer",
				"PodMonitor/ks-aggregator", "PodMonitor/ks-computer", "PodMonitor/ks-reader",
				"Service/ks-aggregator",
				"ServiceAccount/ks-aggregator", "ServiceAccount/ks-computer", "ServiceAccount/ks-reader",
			}, kinds(objs))

			computer := deployment(t, objs, "ks-computer")
			require.Equal(t, int32(3), *computer.Spec.Replicas)
			require.Equal(t, map[string]string{
				"app.kubernetes.io/name": "computer", "app.kubernetes.io/instance": "ks", "app.kubernetes.io/component": "computer",
			}, computer.Spec.Selector.MatchLabels, "selector labels carry no version")
			require.Equal(t, "kafka-scale", computer.Labels["app.kubernetes.io/part-of"])
			require.Equal(t, "computer-0.1.0", computer.Labels["helm.sh/chart"])
			pod := computer.Spec.Template.Spec
			require.Equal(t, int64(30), *pod.TerminationGracePeriodSeconds)
			require.False(t, *pod.AutomountServiceAccountToken)
			require.Equal(t, "ks-computer", pod.ServiceAccountName)
			require.True(t, *pod.SecurityContext.RunAsNonRoot)
			require.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser)
			require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
			c := pod.Containers[0]
			require.Equal(t, "ghcr.io/kafka-scale/computer:0.1.0", c.Image)
			require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			require.Equal(t, "admin", c.LivenessProbe.HTTPGet.Port.String())
			require.Equal(t, "/healthz", c.ReadinessProbe.HTTPGet.Path, "an idle computer is ready")
			require.Equal(t, int32(9090), c.Ports[0].ContainerPort)
			require.Equal(t, "ks-computer", c.EnvFrom[0].ConfigMapRef.Name)
			require.NotEmpty(t, c.Resources.Requests.Cpu().String())
			require.False(t, c.Resources.Limits.Memory().IsZero())
			require.Equal(t, map[string]string{"tmp": "/tmp"}, mounts(pod))
			require.Len(t, pod.TopologySpreadConstraints, 2)
			for i, key := range []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"} {
				tsc := pod.TopologySpreadConstraints[i]
				require.Equal(t, key, tsc.TopologyKey)
				require.Equal(t, corev1.ScheduleAnyway, tsc.WhenUnsatisfiable)
				require.Equal(t, computer.Spec.Selector.MatchLabels, tsc.LabelSelector.MatchLabels)
			}
			require.Len(t, computer.Spec.Template.Annotations["checksum/config"], 64)

			pdb := as[policyv1.PodDisruptionBudget](t, one(t, objs, "PodDisruptionBudget", "ks-computer"))
			require.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())
			require.Equal(t, computer.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)

			require.Equal(t, map[string]string{
				"BATCH_AGE": "500ms", "BATCH_CHUNKS": "400", "COMPUTE_TOPIC": "compute", "GROUP": "computer",
				"GROUP_PROTOCOL": "classic", "HEARTBEAT_INTERVAL": "250ms", "KAFKA_BOOTSTRAP_SERVERS": "my-cluster-kafka-bootstrap:9092",
				"KAFKA_CLIENT_ID": "ks-computer", "KAFKA_SECURITY_PROTOCOL": "plaintext", "KAFKA_STATS_INTERVAL": "15s",
				"LOG_FORMAT": "json", "LOG_LEVEL": "info", "METRICS_ADDR": ":9090", "REPLICATION_FACTOR": "3",
				"RESULTS_PARTITIONS": "6", "RESULTS_TOPIC": "results", "TRANSACTION_TIMEOUT": "15s",
			}, env(t, objs, "computer"))
			require.Subset(t, env(t, objs, "reader"), map[string]string{
				"YEARS": "2024", "MONTHS": "*", "COMPUTE_TOPIC": "compute", "PARTITIONS": "12", "REPLICATION_FACTOR": "3", "CHUNK_SIZE": "500",
			})
			require.Subset(t, env(t, objs, "aggregator"), map[string]string{
				"RESULTS_TOPIC": "results", "STATE_TOPIC": "results-aggregator-state", "LISTEN": ":8080", "SNAPSHOT_INTERVAL": "2s",
			})

			aggregator := deployment(t, objs, "ks-aggregator")
			require.Equal(t, int32(1), *aggregator.Spec.Replicas)
			require.Equal(t, appsv1.RecreateDeploymentStrategyType, aggregator.Spec.Strategy.Type)
			require.Equal(t, "/readyz", aggregator.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path)
			svc := as[corev1.Service](t, one(t, objs, "Service", "ks-aggregator"))
			require.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
			require.Equal(t, "http", svc.Spec.Ports[0].TargetPort.String())

			job := as[batchv1.Job](t, one(t, objs, "Job", "ks-reader-"))
			require.Equal(t, corev1.RestartPolicyNever, job.Spec.Template.Spec.RestartPolicy)
			require.Nil(t, job.Spec.TTLSecondsAfterFinished)

			state := one(t, objs, "KafkaTopic", "results-aggregator-state")
			require.Equal(t, "kafka.strimzi.io/v1", state["apiVersion"])
			require.Equal(t, "my-cluster", str(state, "metadata", "labels", "strimzi.io/cluster"))
			require.Equal(t, "compact", str(state, "spec", "config", "cleanup.policy"))
			require.Equal(t, "results-aggregator-state", str(state, "spec", "topicName"))
			compute := one(t, objs, "KafkaTopic", "compute")
			require.EqualValues(t, 12, get(compute, "spec", "partitions"))
			require.EqualValues(t, 3, get(compute, "spec", "replicas"))

			pm := one(t, objs, "PodMonitor", "ks-computer")
			require.Equal(t, "kube-prometheus-stack", str(pm, "metadata", "labels", "release"))
			require.Equal(t, "admin", str(pm, "spec", "podMetricsEndpoints", 0, "port"))
			require.Equal(t, "computer", str(pm, "spec", "selector", "matchLabels", "app.kubernetes.io/component"))
		}},
		{"keda", func(t *testing.T, objs []Object) {
			require.Nil(t, deployment(t, objs, "ks-computer").Spec.Replicas, "the ScaledObject owns the count")
			so := one(t, objs, "ScaledObject", "ks-computer")
			require.Equal(t, "keda.sh/v1alpha1", so["apiVersion"])
			require.Equal(t, "ks-computer", str(so, "spec", "scaleTargetRef", "name"))
			require.EqualValues(t, 2, get(so, "spec", "minReplicaCount"))
			require.EqualValues(t, 12, get(so, "spec", "maxReplicaCount"))
			require.EqualValues(t, 15, get(so, "spec", "pollingInterval"))
			require.EqualValues(t, 300, get(so, "spec", "cooldownPeriod"))
			require.EqualValues(t, 300, get(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds"))
			require.Equal(t, "kafka", str(so, "spec", "triggers", 0, "type"))
			require.Equal(t, map[string]any{
				"bootstrapServers": "my-cluster-kafka-bootstrap:9092", "consumerGroup": "computer", "topic": "compute",
				"lagThreshold": "50", "activationLagThreshold": "0", "offsetResetPolicy": "earliest",
				"allowIdleConsumers": "false", "version": "3.9.0",
			}, get(so, "spec", "triggers", 0, "metadata"))
			require.Nil(t, get(so, "spec", "triggers", 0, "authenticationRef"))
			require.Empty(t, find(objs, "TriggerAuthentication", ""))
			require.Empty(t, find(objs, "HorizontalPodAutoscaler", ""))
		}},
		{"keda-seconds", func(t *testing.T, objs []Object) {
			require.Nil(t, deployment(t, objs, "ks-computer").Spec.Replicas, "the ScaledObject owns the count")
			so := one(t, objs, "ScaledObject", "ks-computer")
			require.Len(t, get(so, "spec", "triggers"), 1, "the prometheus trigger alone")
			require.Equal(t, "prometheus", str(so, "spec", "triggers", 0, "type"))
			require.Equal(t, "Value", str(so, "spec", "triggers", 0, "metricType"), "an age does not divide among the computers")
			require.Equal(t, map[string]any{
				"serverAddress":       "http://kube-prometheus-stack-prometheus.monitoring:9090",
				"query":               `max(kafka_scale_consumer_lag_seconds{namespace="kafka-scale",group="computer",topic="compute"})`,
				"threshold":           "30",
				"activationThreshold": "0",
				"ignoreNullValues":    "true",
				"unsafeSsl":           "false",
			}, get(so, "spec", "triggers", 0, "metadata"))
			require.EqualValues(t, 300, get(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds"))
			require.Empty(t, find(objs, "TriggerAuthentication", ""))
		}},
		{"keda-both", func(t *testing.T, objs []Object) {
			so := one(t, objs, "ScaledObject", "ks-computer")
			require.Len(t, get(so, "spec", "triggers"), 2)
			require.Equal(t, "kafka", str(so, "spec", "triggers", 0, "type"))
			require.Equal(t, "5000", str(so, "spec", "triggers", 0, "metadata", "lagThreshold"))
			require.Equal(t, "ks-computer", str(so, "spec", "triggers", 0, "authenticationRef", "name"))
			require.Equal(t, "prometheus", str(so, "spec", "triggers", 1, "type"))
			require.Equal(t, "AverageValue", str(so, "spec", "triggers", 1, "metricType"))
			require.Equal(t, map[string]any{
				"serverAddress":       "https://prometheus.monitoring.svc:9091",
				"query":               `max(max_over_time(kafka_scale_consumer_lag_seconds{group="computer",topic="compute"}[1m]))`,
				"threshold":           "120",
				"activationThreshold": "5",
				"ignoreNullValues":    "false",
				"unsafeSsl":           "true",
			}, get(so, "spec", "triggers", 1, "metadata"))
			require.Nil(t, get(so, "spec", "triggers", 1, "authenticationRef"), "Prometheus gets no Kafka credentials")
			one(t, objs, "TriggerAuthentication", "ks-computer")
		}},
		{"hpa", func(t *testing.T, objs []Object) {
			require.Nil(t, deployment(t, objs, "ks-computer").Spec.Replicas, "the HPA owns the count")
			hpa := as[autoscalingv2.HorizontalPodAutoscaler](t, one(t, objs, "HorizontalPodAutoscaler", "ks-computer"))
			require.Equal(t, "ks-computer", hpa.Spec.ScaleTargetRef.Name)
			require.Equal(t, int32(2), *hpa.Spec.MinReplicas)
			require.Equal(t, int32(8), hpa.Spec.MaxReplicas)
			ext := hpa.Spec.Metrics[0].External
			require.Equal(t, "kafka_consumergroup_lag", ext.Metric.Name)
			require.Equal(t, map[string]string{"consumergroup": "computer", "topic": "compute"}, ext.Metric.Selector.MatchLabels)
			require.Equal(t, autoscalingv2.AverageValueMetricType, ext.Target.Type)
			require.Equal(t, "200", ext.Target.AverageValue.String())
			require.Equal(t, int32(600), *hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds)
			require.Equal(t, int32(120), hpa.Spec.Behavior.ScaleDown.Policies[0].PeriodSeconds)
			require.Equal(t, int32(0), *hpa.Spec.Behavior.ScaleUp.StabilizationWindowSeconds)
			require.Empty(t, find(objs, "ScaledObject", ""))
		}},
		{"tls-sasl", func(t *testing.T, objs []Object) {
			for _, tc := range []struct{ service, secret, user string }{
				{"reader", "kafka-scale-credentials", "kafka-scale"},
				{"computer", "kafka-scale-computer", "kafka-scale-computer"},
				{"aggregator", "kafka-scale-credentials", "kafka-scale"},
			} {
				require.Subset(t, env(t, objs, tc.service), map[string]string{
					"KAFKA_BOOTSTRAP_SERVERS":  "my-cluster-kafka-bootstrap:9093",
					"KAFKA_SECURITY_PROTOCOL":  "sasl_ssl",
					"KAFKA_SASL_MECHANISM":     "SCRAM-SHA-512",
					"KAFKA_SASL_USERNAME":      tc.user,
					"KAFKA_SASL_PASSWORD_FILE": "/etc/kafka-scale/kafka-credentials/password",
					"KAFKA_TLS_CA_FILE":        "/etc/kafka-scale/kafka-ca/ca.crt",
				}, tc.service)
				require.NotContains(t, env(t, objs, tc.service), "KAFKA_SASL_PASSWORD", "the password is a file, never in the environment")
				var pod corev1.PodSpec
				if tc.service == "reader" {
					pod = as[batchv1.Job](t, one(t, objs, "Job", "ks-reader-")).Spec.Template.Spec
				} else {
					pod = deployment(t, objs, "ks-"+tc.service).Spec.Template.Spec
				}
				creds := volume(t, pod, "kafka-credentials")
				require.Equal(t, tc.secret, creds.Secret.SecretName, tc.service)
				require.Equal(t, []corev1.KeyToPath{{Key: "password", Path: "password"}}, creds.Secret.Items)
				ca := volume(t, pod, "kafka-ca")
				require.Equal(t, "my-cluster-cluster-ca-cert", ca.Secret.SecretName)
				require.Equal(t, []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}, ca.Secret.Items)
				require.Equal(t, map[string]string{
					"tmp": "/tmp", "kafka-credentials": "/etc/kafka-scale/kafka-credentials", "kafka-ca": "/etc/kafka-scale/kafka-ca",
				}, mounts(pod))
			}
			so := one(t, objs, "ScaledObject", "ks-computer")
			require.Equal(t, "scram_sha512", str(so, "spec", "triggers", 0, "metadata", "sasl"))
			require.Equal(t, "enable", str(so, "spec", "triggers", 0, "metadata", "tls"))
			require.Equal(t, "ks-computer", str(so, "spec", "triggers", 0, "authenticationRef", "name"))
			ta := one(t, objs, "TriggerAuthentication", "ks-computer")
			require.Equal(t, []any{
				map[string]any{"parameter": "password", "name": "kafka-scale-computer", "key": "password"},
				map[string]any{"parameter": "ca", "name": "my-cluster-cluster-ca-cert", "key": "ca.crt"},
			}, get(ta, "spec", "secretTargetRef"))
			require.Equal(t, "KAFKA_SASL_USERNAME", str(ta, "spec", "env", 0, "name"))
			require.Empty(t, find(objs, "KafkaUser", ""))
		}},
		{"kafka-users", func(t *testing.T, objs []Object) {
			require.Len(t, find(objs, "KafkaUser", ""), 3)
			acls := func(user string) []string {
				var out []string
				for _, a := range get(one(t, objs, "KafkaUser", user), "spec", "authorization", "acls").([]any) {
					var ops []string
					for _, op := range get(a, "operations").([]any) {
						ops = append(ops, op.(string))
					}
					out = append(out, fmt.Sprintf("%s:%s:%s:%s", str(a, "resource", "type"), str(a, "resource", "name"),
						str(a, "resource", "patternType"), strings.Join(ops, ",")))
				}
				return out
			}
			require.Equal(t, []string{"topic:compute:literal:Create,Describe,Write", "cluster:::IdempotentWrite"}, acls("ks-reader"))
			require.Equal(t, []string{
				"topic:compute:literal:Read,Describe", "group:computer:literal:Read",
				"topic:results:literal:Create,Describe,Write", "transactionalId:computer-:prefix:Describe,Write",
				"cluster:::IdempotentWrite",
			}, acls("ks-computer"))
			require.Equal(t, []string{
				"topic:results:literal:Read,Describe", "topic:results-aggregator-state:literal:Create,Describe,Read,Write",
				"transactionalId:results-aggregator:literal:Describe,Write", "group:results-aggregator:prefix:Read",
				"cluster:::IdempotentWrite",
			}, acls("ks-aggregator"))
			u := one(t, objs, "KafkaUser", "ks-computer")
			require.Equal(t, "kafka.strimzi.io/v1", u["apiVersion"])
			require.Equal(t, "scram-sha-512", str(u, "spec", "authentication", "type"))
			require.Equal(t, "my-cluster", str(u, "metadata", "labels", "strimzi.io/cluster"))
			// The User Operator writes the credentials to a Secret named like the user.
			pod := deployment(t, objs, "ks-computer").Spec.Template.Spec
			require.Equal(t, "ks-computer", volume(t, pod, "kafka-credentials").Secret.SecretName)
			require.Equal(t, "ks-computer", env(t, objs, "computer")["KAFKA_SASL_USERNAME"])
		}},
		{"no-topics", func(t *testing.T, objs []Object) {
			require.Empty(t, find(objs, "KafkaTopic", ""))
			require.Subset(t, env(t, objs, "reader"), map[string]string{"PARTITIONS": "24", "REPLICATION_FACTOR": "1"})
			require.Equal(t, "1", env(t, objs, "computer")["REPLICATION_FACTOR"])
		}},
		{"no-monitoring", func(t *testing.T, objs []Object) {
			require.Empty(t, find(objs, "PodMonitor", ""))
			require.Empty(t, find(objs, "PrometheusRule", ""))
			require.NotEmpty(t, find(objs, "Deployment", ""))
		}},
		{"cronjob", func(t *testing.T, objs []Object) {
			require.Empty(t, find(objs, "Job", ""))
			cj := as[batchv1.CronJob](t, one(t, objs, "CronJob", "ks-reader"))
			require.Equal(t, "0 6 10 * *", cj.Spec.Schedule)
			require.Equal(t, "America/New_York", *cj.Spec.TimeZone)
			require.Equal(t, batchv1.ForbidConcurrent, cj.Spec.ConcurrencyPolicy)
			require.Equal(t, "reader", cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Name)
			require.Equal(t, "2025", env(t, objs, "reader")["YEARS"])
			svc := as[corev1.Service](t, one(t, objs, "Service", "ks-aggregator"))
			require.Equal(t, corev1.ServiceTypeNodePort, svc.Spec.Type)
			require.Equal(t, int32(30080), svc.Spec.Ports[0].NodePort)
			ing := as[networkingv1.Ingress](t, one(t, objs, "Ingress", "ks-aggregator"))
			require.Equal(t, "census.example.com", ing.Spec.Rules[0].Host)
			require.Equal(t, "ks-aggregator", ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)
			require.Equal(t, "nginx", *ing.Spec.IngressClassName)
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			tc.check(t, scenario(t, tc.scenario))
		})
	}
}

// Every scenario file is tested above.
func TestScenariosCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartsDir(t), Umbrella, "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 10, "a new ci/ scenario needs its case in TestScenarios")
}

func TestChecksumFollowsConfig(t *testing.T) {
	checksum := func(sets ...string) string {
		objs := scenario(t, "default", sets...)
		return deployment(t, objs, "ks-computer").Spec.Template.Annotations["checksum/config"]
	}
	base := checksum()
	require.Equal(t, base, checksum("computer.replicaCount=2"), "the count is no config")
	require.NotEqual(t, base, checksum("computer.batchChunks=50"))
	require.NotEqual(t, base, checksum("global.kafka.bootstrapServers=other:9092"))
}

func TestReaderJobNamedBySpec(t *testing.T) {
	name := func(sets ...string) string { return one(t, scenario(t, "default", sets...), "Job", "").Name() }
	base := name()
	require.Equal(t, base, name("computer.replicaCount=5"), "an upgrade that leaves the reader alone keeps its Job")
	require.NotEqual(t, base, name("reader.years=2023"), "another load is another Job")
	require.LessOrEqual(t, len(name("reader.fullnameOverride="+strings.Repeat("r", 80))), 63)
}

func TestAutoscalingOffKeepsReplicas(t *testing.T) {
	for _, typ := range []string{"keda", "hpa"} {
		objs := scenario(t, "default", "computer.autoscaling.type="+typ, "computer.replicaCount=4")
		require.Equal(t, int32(4), *deployment(t, objs, "ks-computer").Spec.Replicas)
		require.Empty(t, find(objs, "ScaledObject", ""))
		require.Empty(t, find(objs, "HorizontalPodAutoscaler", ""))
	}
}

// TestKedaSecondsWithoutKafkaCredentials: a ScaledObject with the prometheus
// trigger alone never connects to Kafka, so it gets no TriggerAuthentication
// even where the computers need credentials.
func TestKedaSecondsWithoutKafkaCredentials(t *testing.T) {
	objs := scenario(t, "tls-sasl", "computer.autoscaling.keda.signal=seconds",
		"computer.autoscaling.keda.prometheus.serverAddress=http://prometheus:9090")
	so := one(t, objs, "ScaledObject", "ks-computer")
	require.Len(t, get(so, "spec", "triggers"), 1)
	require.Equal(t, "prometheus", str(so, "spec", "triggers", 0, "type"))
	require.Nil(t, get(so, "spec", "triggers", 0, "authenticationRef"))
	require.Empty(t, find(objs, "TriggerAuthentication", ""))
}

func TestKafkaConfig(t *testing.T) {
	objs := scenario(t, "default",
		"global.kafka.config.socket\\.keepalive\\.enable=true",
		"global.kafka.config.message\\.max\\.bytes=1048576",
		"computer.kafka.config.message\\.max\\.bytes=2097152",
		"global.topics.compute.config.retention\\.ms=604800000",
	)
	require.Equal(t, "message.max.bytes=2097152,socket.keepalive.enable=true", env(t, objs, "computer")["KAFKA_CONFIG"])
	require.Equal(t, "message.max.bytes=1048576,socket.keepalive.enable=true", env(t, objs, "reader")["KAFKA_CONFIG"])
	require.Equal(t, "retention.ms=604800000", env(t, objs, "reader")["TOPIC_CONFIG"])
	require.Equal(t, "604800000", str(one(t, objs, "KafkaTopic", "compute"), "spec", "config", "retention.ms"))
}

func TestKafkaUserTLS(t *testing.T) {
	objs := scenario(t, "default",
		"global.kafka.securityProtocol=ssl", "global.kafka.auth.type=kafkaUser",
		"global.kafka.auth.kafkaUser.authentication=tls", "global.kafka.tls.caSecret.name=my-cluster-cluster-ca-cert",
		"computer.autoscaling.enabled=true")
	require.Equal(t, "tls", str(one(t, objs, "KafkaUser", "ks-aggregator"), "spec", "authentication", "type"))
	require.Subset(t, env(t, objs, "aggregator"), map[string]string{
		"KAFKA_TLS_CERT_FILE": "/etc/kafka-scale/kafka-credentials/user.crt",
		"KAFKA_TLS_KEY_FILE":  "/etc/kafka-scale/kafka-credentials/user.key",
		"KAFKA_TLS_CA_FILE":   "/etc/kafka-scale/kafka-ca/ca.crt",
	})
	require.NotContains(t, env(t, objs, "aggregator"), "KAFKA_SASL_USERNAME")
	creds := volume(t, deployment(t, objs, "ks-aggregator").Spec.Template.Spec, "kafka-credentials")
	require.Equal(t, []corev1.KeyToPath{{Key: "user.crt", Path: "user.crt"}, {Key: "user.key", Path: "user.key"}}, creds.Secret.Items)
	ta := one(t, objs, "TriggerAuthentication", "ks-computer")
	require.Nil(t, get(ta, "spec", "env"))
	require.Equal(t, "cert", str(ta, "spec", "secretTargetRef", 0, "parameter"))
}

func TestServiceChartsStandalone(t *testing.T) {
	for _, c := range ServiceCharts {
		t.Run(c, func(t *testing.T) {
			out, err := render(t, c, nil)
			require.NoError(t, err)
			objs := decode(t, out)
			require.NotEmpty(t, find(objs, "ConfigMap", "ks-"+c))
			require.NotEmpty(t, find(objs, "PodMonitor", "ks-"+c))
			require.Empty(t, find(objs, "KafkaTopic", ""), "topics belong to the umbrella chart")
		})
	}
}
