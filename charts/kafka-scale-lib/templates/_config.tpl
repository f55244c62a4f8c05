{{/*
The service's configuration is its environment: every flag has an env twin.
Plain settings go into one ConfigMap the container reads with envFrom; the
pod template carries its checksum, so a changed setting rolls the pods.

Each service chart defines "<chart>.config": its own variables as a YAML map
(e.g. "computer.config" gives GROUP, BATCH_CHUNKS, ...).
*/}}

{{/*
kafka-scale-lib.configData: the whole environment as a YAML map of strings:
the admin and log settings, KAFKA_*, the chart's own "<chart>.config", then
the env value, each later one winning over the earlier.
*/}}
{{- define "kafka-scale-lib.configData" -}}
{{- $v := .Values -}}
{{- $env := dict
  "METRICS_ADDR" (printf ":%d" (int $v.metricsPort))
  "LOG_LEVEL" $v.log.level
  "LOG_FORMAT" $v.log.format
-}}
{{- $env = mergeOverwrite $env (include "kafka-scale-lib.kafkaEnv" . | fromYaml) -}}
{{- $env = mergeOverwrite $env (include (printf "%s.config" .Chart.Name) . | fromYaml) -}}
{{- $env = mergeOverwrite $env (deepCopy $v.env) -}}
{{- $out := dict -}}
{{- range $key, $value := $env -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $out $key (include "kafka-scale-lib.scalar" $value) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* kafka-scale-lib.configMap: the ConfigMap holding configData. */}}
{{- define "kafka-scale-lib.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "kafka-scale-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "kafka-scale-lib.labels" . | nindent 4 }}
data:
  {{- include "kafka-scale-lib.configData" . | nindent 2 }}
{{- end -}}

{{/* kafka-scale-lib.checksum: what the checksum/config annotation holds. */}}
{{- define "kafka-scale-lib.checksum" -}}
{{- include "kafka-scale-lib.configData" . | sha256sum -}}
{{- end -}}

{{/* kafka-scale-lib.serviceAccount: the pods' ServiceAccount, when created. */}}
{{- define "kafka-scale-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "kafka-scale-lib.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "kafka-scale-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end -}}
{{- end -}}
