{{- define "observability.fullname" -}}{{ include "edge-lib.fullname" . }}{{- end }}
{{- define "observability.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{- define "observability.selectorLabels" -}}{{ include "edge-lib.selectorLabels" (dict "ctx" .) }}{{- end }}

{{/* Exporter names in use. */}}
{{- define "observability.exporters" -}}
{{- $e := list -}}
{{- if .Values.exporters.parent.enabled }}{{ $e = append $e "otlphttp/parent" }}{{ end -}}
{{- if .Values.exporters.azureMonitor.enabled }}{{ $e = append $e "azuremonitor" }}{{ end -}}
{{- if .Values.exporters.otlp.enabled }}{{ $e = append $e "otlphttp/upstream" }}{{ end -}}
{{- if or .Values.exporters.debug.enabled (not $e) }}{{ $e = append $e "debug" }}{{ end -}}
{{ toJson $e }}
{{- end }}

{{/* The collector configuration. */}}
{{- define "observability.config" -}}
{{- $exporters := include "observability.exporters" . | fromJsonArray -}}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:{{ .Values.receivers.otlpGrpcPort }}
      http:
        endpoint: 0.0.0.0:{{ .Values.receivers.otlpHttpPort }}
  zipkin:
    endpoint: 0.0.0.0:{{ .Values.receivers.zipkinPort }}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: {{ .Values.memoryLimiter.limitPercentage }}
    spike_limit_percentage: {{ .Values.memoryLimiter.spikeLimitPercentage }}
  resource:
    attributes:
      # insert, not upsert: telemetry from a lower level keeps the level it came from.
      - {key: edge.layer, value: {{ .Values.level | quote }}, action: insert}
      - {key: cloud.region, value: {{ .Values.region | quote }}, action: insert}
      # edge.region: cloud.region's former name, kept for one release.
      - {key: edge.region, value: {{ .Values.region | quote }}, action: insert}
      - {key: k8s.cluster.name, value: {{ .Values.clusterName | quote }}, action: insert}
  batch: {}
exporters:
  {{- if .Values.exporters.parent.enabled }}
  otlphttp/parent:
    endpoint: {{ .Values.exporters.parent.endpoint | quote }}
    retry_on_failure: {enabled: true, max_elapsed_time: 0s}
    sending_queue: {enabled: true, queue_size: 5000}
  {{- end }}
  {{- if .Values.exporters.azureMonitor.enabled }}
  azuremonitor:
    connection_string: ${env:APPLICATIONINSIGHTS_CONNECTION_STRING}
    spaneventsenabled: true
  {{- end }}
  {{- if .Values.exporters.otlp.enabled }}
  otlphttp/upstream:
    endpoint: {{ .Values.exporters.otlp.endpoint | quote }}
    {{- if .Values.exporters.otlp.authSecret }}
    headers:
      Authorization: ${env:OTLP_AUTHORIZATION}
    {{- end }}
    retry_on_failure: {enabled: true, max_elapsed_time: 0s}
    sending_queue: {enabled: true, queue_size: 5000}
  {{- end }}
  {{- if has "debug" $exporters }}
  debug:
    verbosity: basic
  {{- end }}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: {host: 0.0.0.0, port: 8888}
  pipelines:
    traces:
      receivers: [otlp, zipkin]
      processors: [memory_limiter, resource, batch]
      exporters: {{ toJson $exporters }}
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, resource, batch]
      exporters: {{ toJson $exporters }}
    logs:
      receivers: [otlp]
      processors: [memory_limiter, resource, batch]
      exporters: {{ toJson $exporters }}
{{- end }}

{{/* A memory quantity (Mi or Gi) in MiB. */}}
{{- define "observability.memMiB" -}}
{{- if hasSuffix "Gi" . }}{{ mul (trimSuffix "Gi" . | int) 1024 }}{{ else }}{{ trimSuffix "Mi" . | int }}{{ end -}}
{{- end }}
