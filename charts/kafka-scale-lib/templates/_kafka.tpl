{{/*
Kafka connection and credentials. Every service reads the same environment
variables (KAFKA_*), so one set of helpers serves all three charts.

Credentials come from global.kafka.auth.type:
  none            plaintext or ssl without a client identity
  kafkaUser       the service chart creates a Strimzi KafkaUser with its ACLs
                  and mounts the Secret the User Operator writes for it (same
                  name as the KafkaUser: the service's fullname)
  existingSecret  a Secret made elsewhere: global.kafka.auth.existingSecret,
                  or <service>.kafka.auth.existingSecret for one service

Files are mounted, never passed in the environment: the password at
/etc/kafka-scale/kafka-credentials/password, a client certificate at
.../user.crt and .../user.key, the CA at /etc/kafka-scale/kafka-ca/ca.crt.
*/}}

{{- define "kafka-scale-lib.kafkaCredentialsDir" -}}/etc/kafka-scale/kafka-credentials{{- end -}}
{{- define "kafka-scale-lib.kafkaCADir" -}}/etc/kafka-scale/kafka-ca{{- end -}}

{{/*
kafka-scale-lib.kafkaAuth: the resolved credentials, as YAML for fromYaml:
mode (none, sasl or tls), secret, username, passwordKey, certKey, keyKey, and
ca (the CA Secret's name, when TLS is on and one is given) with caKey. Fails,
naming the values to set, on combinations that cannot connect.
*/}}
{{- define "kafka-scale-lib.kafkaAuth" -}}
{{- $k := .Values.global.kafka -}}
{{- $proto := $k.securityProtocol -}}
{{- $sasl := hasPrefix "sasl_" $proto -}}
{{- $tls := or (eq $proto "ssl") (eq $proto "sasl_ssl") -}}
{{- $fullname := include "kafka-scale-lib.fullname" . -}}
{{- $out := dict "mode" "none" -}}
{{- if eq $k.auth.type "kafkaUser" -}}
  {{- $authn := $k.auth.kafkaUser.authentication -}}
  {{- if eq $authn "scram-sha-512" -}}
    {{- if not $sasl -}}
      {{- fail (printf "global.kafka.auth.kafkaUser.authentication scram-sha-512 needs global.kafka.securityProtocol sasl_ssl or sasl_plaintext, not %q" $proto) -}}
    {{- end -}}
    {{- if ne $k.sasl.mechanism "SCRAM-SHA-512" -}}
      {{- fail (printf "global.kafka.auth.kafkaUser.authentication scram-sha-512 needs global.kafka.sasl.mechanism SCRAM-SHA-512, not %q" $k.sasl.mechanism) -}}
    {{- end -}}
    {{- $out = dict "mode" "sasl" "secret" $fullname "username" $fullname "passwordKey" "password" -}}
  {{- else -}}
    {{- if ne $proto "ssl" -}}
      {{- fail (printf "global.kafka.auth.kafkaUser.authentication tls needs global.kafka.securityProtocol ssl, not %q" $proto) -}}
    {{- end -}}
    {{- $out = dict "mode" "tls" "secret" $fullname "certKey" "user.crt" "keyKey" "user.key" -}}
  {{- end -}}
{{- else if eq $k.auth.type "existingSecret" -}}
  {{- $g := $k.auth.existingSecret -}}
  {{- $s := .Values.kafka.auth.existingSecret -}}
  {{- $name := $s.name | default $g.name -}}
  {{- if not $name -}}
    {{- fail (printf "global.kafka.auth.type existingSecret: set global.kafka.auth.existingSecret.name, or %s.kafka.auth.existingSecret.name" .Chart.Name) -}}
  {{- end -}}
  {{- if $sasl -}}
    {{- $username := $s.username | default $g.username -}}
    {{- if not $username -}}
      {{- fail (printf "global.kafka.securityProtocol %s with an existing Secret: set global.kafka.auth.existingSecret.username, or %s.kafka.auth.existingSecret.username" $proto .Chart.Name) -}}
    {{- end -}}
    {{- $out = dict "mode" "sasl" "secret" $name "username" $username "passwordKey" $g.passwordKey -}}
  {{- else if eq $proto "ssl" -}}
    {{- $out = dict "mode" "tls" "secret" $name "certKey" $g.certKey "keyKey" $g.keyKey -}}
  {{- else -}}
    {{- fail "global.kafka.auth.type existingSecret needs global.kafka.securityProtocol ssl (client certificate), sasl_ssl or sasl_plaintext (password), not plaintext" -}}
  {{- end -}}
{{- else if $sasl -}}
  {{- fail (printf "global.kafka.securityProtocol %s needs credentials: set global.kafka.auth.type to kafkaUser or existingSecret" $proto) -}}
{{- end -}}
{{- if and $tls $k.tls.caSecret.name -}}
  {{- $_ := set $out "ca" $k.tls.caSecret.name -}}
  {{- $_ := set $out "caKey" $k.tls.caSecret.key -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
kafka-scale-lib.kafkaConfigList: global.kafka.config merged with the service's
kafka.config (the service's keys win), as KAFKA_CONFIG's comma list, sorted.
*/}}
{{- define "kafka-scale-lib.kafkaConfigList" -}}
{{- $merged := merge (deepCopy .Values.kafka.config) .Values.global.kafka.config -}}
{{- $pairs := list -}}
{{- range $key := keys $merged | sortAlpha -}}
{{- $pairs = append $pairs (printf "%s=%s" $key (include "kafka-scale-lib.scalar" (get $merged $key))) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
kafka-scale-lib.scalar: a value as an environment variable's text. Helm reads
every number in values as a float, which %v would print as 1.048576e+06.
*/}}
{{- define "kafka-scale-lib.scalar" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* kafka-scale-lib.kafkaEnv: the KAFKA_* variables, as YAML for fromYaml. */}}
{{- define "kafka-scale-lib.kafkaEnv" -}}
{{- $k := .Values.global.kafka -}}
{{- if not $k.bootstrapServers -}}
{{- fail "global.kafka.bootstrapServers is empty: set the brokers' host:port list, e.g. my-cluster-kafka-bootstrap:9092" -}}
{{- end -}}
{{- $auth := include "kafka-scale-lib.kafkaAuth" . | fromYaml -}}
{{- $env := dict
  "KAFKA_BOOTSTRAP_SERVERS" $k.bootstrapServers
  "KAFKA_CLIENT_ID" (.Values.kafka.clientId | default (include "kafka-scale-lib.fullname" .))
  "KAFKA_SECURITY_PROTOCOL" $k.securityProtocol
  "KAFKA_STATS_INTERVAL" $k.statsInterval
-}}
{{- if eq $auth.mode "sasl" -}}
{{- $_ := set $env "KAFKA_SASL_MECHANISM" $k.sasl.mechanism -}}
{{- $_ := set $env "KAFKA_SASL_USERNAME" $auth.username -}}
{{- $_ := set $env "KAFKA_SASL_PASSWORD_FILE" (printf "%s/password" (include "kafka-scale-lib.kafkaCredentialsDir" .)) -}}
{{- else if eq $auth.mode "tls" -}}
{{- $_ := set $env "KAFKA_TLS_CERT_FILE" (printf "%s/user.crt" (include "kafka-scale-lib.kafkaCredentialsDir" .)) -}}
{{- $_ := set $env "KAFKA_TLS_KEY_FILE" (printf "%s/user.key" (include "kafka-scale-lib.kafkaCredentialsDir" .)) -}}
{{- end -}}
{{- if $auth.ca -}}
{{- $_ := set $env "KAFKA_TLS_CA_FILE" (printf "%s/ca.crt" (include "kafka-scale-lib.kafkaCADir" .)) -}}
{{- end -}}
{{- $list := include "kafka-scale-lib.kafkaConfigList" . -}}
{{- if $list -}}
{{- $_ := set $env "KAFKA_CONFIG" $list -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/* kafka-scale-lib.kafkaVolumes: the pod's volumes for the credentials and the CA. */}}
{{- define "kafka-scale-lib.kafkaVolumes" -}}
{{- $auth := include "kafka-scale-lib.kafkaAuth" . | fromYaml -}}
{{- if eq $auth.mode "sasl" }}
- name: kafka-credentials
  secret:
    secretName: {{ $auth.secret }}
    defaultMode: 0440
    items:
      - key: {{ $auth.passwordKey }}
        path: password
{{- else if eq $auth.mode "tls" }}
- name: kafka-credentials
  secret:
    secretName: {{ $auth.secret }}
    defaultMode: 0440
    items:
      - key: {{ $auth.certKey }}
        path: user.crt
      - key: {{ $auth.keyKey }}
        path: user.key
{{- end }}
{{- if $auth.ca }}
- name: kafka-ca
  secret:
    secretName: {{ $auth.ca }}
    defaultMode: 0444
    items:
      - key: {{ $auth.caKey }}
        path: ca.crt
{{- end }}
{{- end -}}

{{/* kafka-scale-lib.kafkaVolumeMounts: where the container sees them. */}}
{{- define "kafka-scale-lib.kafkaVolumeMounts" -}}
{{- $auth := include "kafka-scale-lib.kafkaAuth" . | fromYaml -}}
{{- if ne $auth.mode "none" }}
- name: kafka-credentials
  mountPath: {{ include "kafka-scale-lib.kafkaCredentialsDir" . }}
  readOnly: true
{{- end }}
{{- if $auth.ca }}
- name: kafka-ca
  mountPath: {{ include "kafka-scale-lib.kafkaCADir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
kafka-scale-lib.kafkaUser: a Strimzi KafkaUser for the service, when
global.kafka.auth.type is kafkaUser. Takes a dict: ctx (the chart's root
context) and acls (a list of {resource: {type, name, patternType}, operations}).
The User Operator writes the credentials to a Secret of the same name.
*/}}
{{- define "kafka-scale-lib.kafkaUser" -}}
{{- $ctx := .ctx -}}
{{- $k := $ctx.Values.global.kafka -}}
{{- if eq $k.auth.type "kafkaUser" }}
apiVersion: kafka.strimzi.io/v1
kind: KafkaUser
metadata:
  name: {{ include "kafka-scale-lib.fullname" $ctx }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "kafka-scale-lib.labels" $ctx | nindent 4 }}
    strimzi.io/cluster: {{ required "global.kafka.clusterName is empty: the Strimzi Kafka cluster's name is needed for KafkaUsers" $k.clusterName }}
spec:
  authentication:
    type: {{ $k.auth.kafkaUser.authentication }}
  authorization:
    type: simple
    acls:
      {{- range .acls }}
      - resource:
          type: {{ .resource.type }}
          {{- if .resource.name }}
          name: {{ .resource.name | quote }}
          patternType: {{ .resource.patternType | default "literal" }}
          {{- end }}
        operations:
          {{- toYaml .operations | nindent 10 }}
        host: "*"
      {{- end }}
{{- end }}
{{- end -}}
