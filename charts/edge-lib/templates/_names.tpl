{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "edge-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, or release-chart when they differ. */}}
{{- define "edge-lib.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Standard labels. Pass (dict "ctx" $ "component" "name"). */}}
{{- define "edge-lib.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "edge-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: edgeframe
{{- with .ctx.Values.level }}
edgeframe.io/level: {{ . }}
{{- end }}
{{- end }}

{{/* Selector labels. Pass (dict "ctx" $ "component" "name"). */}}
{{- define "edge-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ default (include "edge-lib.name" .ctx) (get . "component") }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end }}

{{/* Image reference: repository@digest when a digest is set, otherwise repository:tag. Pass the image map. */}}
{{- define "edge-lib.image" -}}
{{- if .digest -}}
{{ .repository }}@{{ .digest }}
{{- else -}}
{{ .repository }}:{{ .tag }}
{{- end -}}
{{- end }}
