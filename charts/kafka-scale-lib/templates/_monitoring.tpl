{{/*
kafka-scale-lib.podMonitor: a prometheus-operator PodMonitor scraping the
admin port's /metrics, labelled with global.monitoring.labels so that
kube-prometheus-stack's Prometheus selects it (by default it selects
release: <its release name>).
*/}}
{{- define "kafka-scale-lib.podMonitor" -}}
{{- $m := .Values.global.monitoring -}}
{{- if $m.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "kafka-scale-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "kafka-scale-lib.labels" . | nindent 4 }}
    {{- with $m.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "kafka-scale-lib.selectorLabels" . | nindent 6 }}
  podMetricsEndpoints:
    - port: admin
      path: /metrics
      interval: {{ $m.interval }}
      scrapeTimeout: {{ $m.scrapeTimeout }}
{{- end -}}
{{- end -}}
