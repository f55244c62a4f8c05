{{/*
kafka-scale-lib.imageTag: image.tag, else global.image.tag, else the chart's
appVersion.
*/}}
{{- define "kafka-scale-lib.imageTag" -}}
{{- (.Values.image | default dict).tag | default .Values.global.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/*
kafka-scale-lib.image: [registry/]repository:tag, or repository@digest when a
digest is given. The registry is image.registry, else global.image.registry.
*/}}
{{- define "kafka-scale-lib.image" -}}
{{- $registry := .Values.image.registry | default .Values.global.image.registry -}}
{{- $ref := .Values.image.repository -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $ref -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $ref .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (include "kafka-scale-lib.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* kafka-scale-lib.imagePullSecrets: global.image.pullSecrets then image.pullSecrets. */}}
{{- define "kafka-scale-lib.imagePullSecrets" -}}
{{- $names := list -}}
{{- range concat .Values.global.image.pullSecrets .Values.image.pullSecrets -}}
{{- if not (has . $names) }}{{ $names = append $names . }}{{ end -}}
{{- end -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}
