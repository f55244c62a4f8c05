{{/*
Names and labels. A service chart's component is its chart name (reader,
computer, aggregator): it never changes with nameOverride, so the selector
labels it is part of stay the same for the life of a release.
*/}}

{{/* kafka-scale-lib.name: the chart's name, or nameOverride. */}}
{{- define "kafka-scale-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
kafka-scale-lib.fullname: <release>-<name> (just <release> when it already
holds the name), or fullnameOverride; at most 63 characters.
*/}}
{{- define "kafka-scale-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* kafka-scale-lib.chart: <chart>-<version>, for the helm.sh/chart label. */}}
{{- define "kafka-scale-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
kafka-scale-lib.selectorLabels: what Deployments, PodDisruptionBudgets,
Services and PodMonitors select on. Stable forever: a Deployment's selector
cannot change, so nothing here may depend on a version.
*/}}
{{- define "kafka-scale-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kafka-scale-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .Chart.Name }}
{{- end -}}

{{/* kafka-scale-lib.labels: every object's labels. */}}
{{- define "kafka-scale-lib.labels" -}}
helm.sh/chart: {{ include "kafka-scale-lib.chart" . }}
{{ include "kafka-scale-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kafka-scale-lib.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: kafka-scale
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* kafka-scale-lib.serviceAccountName: the pods' ServiceAccount. */}}
{{- define "kafka-scale-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kafka-scale-lib.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
kafka-scale-lib.stateTopic: the aggregator's compacted state topic,
<results-topic>-aggregator-state unless named.
*/}}
{{- define "kafka-scale-lib.stateTopic" -}}
{{- $t := .Values.global.topics -}}
{{- default (printf "%s-aggregator-state" $t.results.name) $t.state.name -}}
{{- end -}}
