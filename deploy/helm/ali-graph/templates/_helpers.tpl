{{/* Chart name, truncated to the 63 characters a label value may have. */}}
{{- define "ali-graph.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects. Truncated to 52 characters, so that the longest suffix a
template appends ("-governance", "-gateway") still gives a valid Service name (63 characters).
*/}}
{{- define "ali-graph.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else if contains (include "ali-graph.name" .) .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "ali-graph.name" .) | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels of every object; `component` is passed as .component. */}}
{{- define "ali-graph.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ali-graph.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ali-graph
{{- end }}

{{/* Selector labels: never change them between releases (Deployment selectors are immutable). */}}
{{- define "ali-graph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ali-graph.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The image of the gateway and the subgraphs: by digest when one is given, else by tag; never :latest. */}}
{{- define "ali-graph.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}{{ fail "image.tag: latest is not allowed; name a version (or set image.digest)" }}{{ end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Seconds Kubernetes waits after SIGTERM: the preStop sleep, the drain, and a margin for closing. */}}
{{- define "ali-graph.terminationGracePeriodSeconds" -}}
{{- add .preStopSleepSeconds .shutdownGraceSeconds .root.Values.terminationMarginSeconds }}
{{- end }}

{{/* Pod security context shared by every pod of the chart. */}}
{{- define "ali-graph.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container security context shared by every container of the chart. */}}
{{- define "ali-graph.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* An environment variable from an existing Secret: pass .name (variable), .ref ({name, key}). */}}
{{- define "ali-graph.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "secrets: the Secret holding %s must be named" .name) .ref.name }}
      key: {{ .ref.key }}
{{- end }}

{{/* Connection settings every service shares: the signing secret, MongoDB, Redis. */}}
{{- define "ali-graph.commonEnv" -}}
- name: NODE_ENV
  value: production
- name: HOST
  value: 0.0.0.0
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: MONGODB_DB_PREFIX
  value: {{ .Values.mongodb.dbPrefix | quote }}
{{ include "ali-graph.secretEnv" (dict "name" "GATEWAY_SIGNING_SECRET" "ref" .Values.secrets.signingSecret) }}
{{- if .Values.secrets.previousSigningSecret.name }}
{{ include "ali-graph.secretEnv" (dict "name" "GATEWAY_SIGNING_SECRET_PREVIOUS" "ref" .Values.secrets.previousSigningSecret) }}
{{- end }}
{{- if .Values.dev.mongodb.enabled }}
- name: MONGODB_URI
  value: {{ printf "mongodb://%s-mongodb:27017/" (include "ali-graph.fullname" .) | quote }}
{{- else }}
{{ include "ali-graph.secretEnv" (dict "name" "MONGODB_URI" "ref" .Values.secrets.mongodbUri) }}
{{- end }}
{{- if .Values.dev.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-redis:6379" (include "ali-graph.fullname" .) | quote }}
{{- else }}
{{ include "ali-graph.secretEnv" (dict "name" "REDIS_URL" "ref" .Values.secrets.redisUrl) }}
{{- end }}
{{- with .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Extra configuration variables (lib/config.ts) of one component: pass a map. */}}
{{- define "ali-graph.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The settings of one subgraph: the chart-wide defaults, overridden by its own. Pass .root and .name. */}}
{{- define "ali-graph.subgraph" -}}
{{- $own := index .root.Values.subgraphs .name | default dict }}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.subgraphDefaults) (deepCopy $own)) }}
{{- end }}
