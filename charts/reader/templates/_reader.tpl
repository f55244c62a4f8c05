{{/* reader.config: the reader's own environment (see kafka-scale-lib.configData). */}}
{{- define "reader.config" -}}
{{- $t := .Values.global.topics.compute -}}
{{- if and (not .Values.years) (not .Values.fromFile) -}}
{{- fail "reader: set years (e.g. \"2024\") or fromFile" -}}
{{- end -}}
{{- with .Values.years }}
YEARS: {{ . | toString | quote }}
MONTHS: {{ $.Values.months | toString | quote }}
{{- end }}
{{- with .Values.censusBaseUrl }}
CENSUS_BASE_URL: {{ . | quote }}
{{- end }}
{{- with .Values.fromFile }}
FROM_FILE: {{ . | quote }}
{{- end }}
COMPUTE_TOPIC: {{ $t.name | quote }}
PARTITIONS: {{ $t.partitions | int | quote }}
REPLICATION_FACTOR: {{ $t.replicas | int | quote }}
{{- with $t.config }}
{{- $pairs := list }}
{{- range $key := keys . | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $key (include "kafka-scale-lib.scalar" (get $t.config $key))) }}
{{- end }}
TOPIC_CONFIG: {{ join "," $pairs | quote }}
{{- end }}
CHUNK_SIZE: {{ .Values.chunkSize | int | quote }}
CHUNK_CODEC: {{ .Values.chunkCodec | quote }}
PARALLEL: {{ .Values.parallel | int | quote }}
EXIT_DELAY: {{ .Values.exitDelay | quote }}
DOWNLOAD_ATTEMPTS: {{ .Values.download.attempts | int | quote }}
DOWNLOAD_BACKOFF: {{ .Values.download.backoff | quote }}
DOWNLOAD_MAX_BACKOFF: {{ .Values.download.maxBackoff | quote }}
DOWNLOAD_TIMEOUT: {{ .Values.download.timeout | quote }}
{{- end -}}

{{/* reader.jobSpec: the Job's spec, for the Job and the CronJob's jobTemplate. */}}
{{- define "reader.jobSpec" -}}
backoffLimit: {{ .Values.job.backoffLimit }}
{{- with .Values.job.activeDeadlineSeconds }}
activeDeadlineSeconds: {{ . }}
{{- end }}
{{- with .Values.job.ttlSecondsAfterFinished }}
ttlSecondsAfterFinished: {{ . }}
{{- end }}
template:
  {{- include "kafka-scale-lib.podTemplate" (dict "ctx" . "restartPolicy" .Values.job.restartPolicy) | nindent 2 }}
{{- end -}}
