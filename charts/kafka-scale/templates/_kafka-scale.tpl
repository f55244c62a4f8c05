{{/*
kafka-scale.serviceFullname: the fullname a service chart gives its objects,
computed from here (the parent sees each subchart's coalesced values).
Takes a dict: ctx (the root context) and chart (reader, computer or aggregator).
*/}}
{{- define "kafka-scale.serviceFullname" -}}
{{- $values := get .ctx.Values .chart | default dict -}}
{{- include "kafka-scale-lib.fullname" (dict "Values" $values "Release" .ctx.Release "Chart" (dict "Name" .chart)) -}}
{{- end -}}

{{/* kafka-scale.resourceName: a topic or file name as a DNS-1123 name. */}}
{{- define "kafka-scale.resourceName" -}}
{{- regexReplaceAll "[^a-z0-9-]+" (lower .) "-" | trunc 63 | trimAll "-" -}}
{{- end -}}
