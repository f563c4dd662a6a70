{{- define "dapr-components.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{- define "dapr-components.scopes" -}}
{{- with .Values.scopes }}
scopes:
  {{- range . }}
  - {{ . }}
  {{- end }}
{{- end }}
{{- end }}
{{/* "app1=t1,t2;app2=t3" from a map of lists. */}}
{{- define "dapr-components.topicScopes" -}}
{{- $parts := list -}}
{{- range $app := keys . | sortAlpha -}}
{{- $parts = append $parts (printf "%s=%s" $app (join "," (get $ $app))) -}}
{{- end -}}
{{- join ";" $parts -}}
{{- end }}
