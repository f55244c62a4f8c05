{{/*
kafka-scale-lib.podTemplate: the one pod template of every service, for a
Deployment, a Job or a CronJob. Takes a dict:
  ctx            the chart's root context
  ports          more container ports than admin (list of {name, containerPort})
  restartPolicy  for Jobs (Never or OnFailure); Deployments leave it out
*/}}
{{- define "kafka-scale-lib.podTemplate" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
metadata:
  labels:
    {{- include "kafka-scale-lib.labels" $ctx | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "kafka-scale-lib.checksum" $ctx }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kafka-scale-lib.serviceAccountName" $ctx }}
  automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
  {{- with include "kafka-scale-lib.imagePullSecrets" $ctx }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ $ctx.Chart.Name }}
      image: {{ include "kafka-scale-lib.image" $ctx }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      {{- with $v.extraArgs }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: admin
          containerPort: {{ $v.metricsPort }}
          protocol: TCP
        {{- range .ports }}
        - name: {{ .name }}
          containerPort: {{ .containerPort }}
          protocol: TCP
        {{- end }}
      envFrom:
        - configMapRef:
            name: {{ include "kafka-scale-lib.fullname" $ctx }}
      {{- with $v.extraEnv }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $v.livenessProbe.enabled }}
      livenessProbe:
        {{- include "kafka-scale-lib.probe" $v.livenessProbe | nindent 8 }}
      {{- end }}
      {{- if $v.readinessProbe.enabled }}
      readinessProbe:
        {{- include "kafka-scale-lib.probe" $v.readinessProbe | nindent 8 }}
      {{- end }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- with include "kafka-scale-lib.kafkaVolumeMounts" $ctx | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $v.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- with include "kafka-scale-lib.kafkaVolumes" $ctx | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with $v.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    {{- $c := deepCopy . }}
    {{- if not $c.labelSelector }}
    {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "kafka-scale-lib.selectorLabels" $ctx | fromYaml)) }}
    {{- end }}
    - {{ toYaml $c | indent 6 | trim }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* kafka-scale-lib.probe: an HTTP probe on the admin port from {path, initialDelaySeconds, ...}. */}}
{{- define "kafka-scale-lib.probe" -}}
httpGet:
  path: {{ .path }}
  port: admin
initialDelaySeconds: {{ .initialDelaySeconds }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end -}}

{{/*
kafka-scale-lib.deployment: a Deployment around the pod template. Takes a
dict: ctx, replicas (left out when nil, so that an autoscaler owns the
count), strategy, ports.
*/}}
{{- define "kafka-scale-lib.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "kafka-scale-lib.fullname" $ctx }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "kafka-scale-lib.labels" $ctx | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: {{ $ctx.Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "kafka-scale-lib.selectorLabels" $ctx | nindent 6 }}
  strategy:
    {{- toYaml .strategy | nindent 4 }}
  template:
    {{- include "kafka-scale-lib.podTemplate" (dict "ctx" $ctx "ports" .ports) | nindent 4 }}
{{- end -}}
