{{/* aggregator.config: the aggregator's own environment (see kafka-scale-lib.configData). */}}
{{- define "aggregator.config" -}}
{{- $t := .Values.global.topics -}}
RESULTS_TOPIC: {{ $t.results.name | quote }}
STATE_TOPIC: {{ include "kafka-scale-lib.stateTopic" . | quote }}
REPLICATION_FACTOR: {{ $t.state.replicas | int | quote }}
LISTEN: {{ printf ":%d" (.Values.apiPort | int) | quote }}
SNAPSHOT_INTERVAL: {{ .Values.snapshotInterval | quote }}
{{- end -}}
