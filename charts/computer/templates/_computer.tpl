{{/* computer.config: the computer's own environment (see kafka-scale-lib.configData). */}}
{{- define "computer.config" -}}
{{- $t := .Values.global.topics -}}
COMPUTE_TOPIC: {{ $t.compute.name | quote }}
RESULTS_TOPIC: {{ $t.results.name | quote }}
RESULTS_PARTITIONS: {{ $t.results.partitions | int | quote }}
REPLICATION_FACTOR: {{ $t.results.replicas | int | quote }}
GROUP: {{ .Values.group | quote }}
GROUP_PROTOCOL: {{ .Values.groupProtocol | quote }}
BATCH_CHUNKS: {{ .Values.batchChunks | int | quote }}
BATCH_AGE: {{ .Values.batchAge | quote }}
TRANSACTION_TIMEOUT: {{ .Values.transactionTimeout | quote }}
HEARTBEAT_INTERVAL: {{ .Values.heartbeatInterval | quote }}
{{- end -}}

{{/*
computer.seconds: a Go duration (1m30s, 90s, 1500ms, 1h) in whole seconds,
rounded up.
*/}}
{{- define "computer.seconds" -}}
{{- $ms := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|h|m|s)" . -1 -}}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . | float64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+(\\.[0-9]+)?" .) . -}}
{{- $ms = addf $ms (mulf $n (get (dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0) $unit)) -}}
{{- end -}}
{{- ceil (divf $ms 1000.0) | int -}}
{{- end -}}

{{/*
computer.validate: refuses values that would deploy computers that cannot
work: more computers than partitions, bounds that cross, a lag-in-seconds
trigger without the Prometheus server to ask, a grace period too short for
the open transaction.
*/}}
{{- define "computer.validate" -}}
{{- $partitions := .Values.global.topics.compute.partitions | int -}}
{{- $a := .Values.autoscaling -}}
{{- if $a.enabled -}}
  {{- if lt ($a.minReplicas | int) 1 -}}
    {{- fail (printf "computer.autoscaling.minReplicas is %d: it must be at least 1 (the computers are never scaled to zero)" ($a.minReplicas | int)) -}}
  {{- end -}}
  {{- if gt ($a.maxReplicas | int) $partitions -}}
    {{- fail (printf "computer.autoscaling.maxReplicas is %d, more than the %d partitions of the compute topic (global.topics.compute.partitions): a computer beyond the partition count has nothing to consume" ($a.maxReplicas | int) $partitions) -}}
  {{- end -}}
  {{- if gt ($a.minReplicas | int) ($a.maxReplicas | int) -}}
    {{- fail (printf "computer.autoscaling.minReplicas %d is more than computer.autoscaling.maxReplicas %d" ($a.minReplicas | int) ($a.maxReplicas | int)) -}}
  {{- end -}}
  {{- if and (eq $a.type "keda") (ne $a.keda.signal "messages") (not $a.keda.prometheus.serverAddress) -}}
    {{- fail (printf "computer.autoscaling.keda.signal is %s: set computer.autoscaling.keda.prometheus.serverAddress to the Prometheus server that scrapes the computers (e.g. http://kube-prometheus-stack-prometheus.monitoring:9090)" $a.keda.signal) -}}
  {{- end -}}
{{- else if gt (.Values.replicaCount | int) $partitions -}}
  {{- fail (printf "computer.replicaCount is %d, more than the %d partitions of the compute topic (global.topics.compute.partitions): a computer beyond the partition count has nothing to consume" (.Values.replicaCount | int) $partitions) -}}
{{- end -}}
{{- $txn := include "computer.seconds" .Values.transactionTimeout | int -}}
{{- if le (.Values.terminationGracePeriodSeconds | int) $txn -}}
  {{- fail (printf "computer.terminationGracePeriodSeconds %d must exceed computer.transactionTimeout %s (%d s): a stopping computer commits or aborts its open transaction first" (.Values.terminationGracePeriodSeconds | int) .Values.transactionTimeout $txn) -}}
{{- end -}}
{{- end -}}
