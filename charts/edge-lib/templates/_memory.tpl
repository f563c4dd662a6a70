{{/*
edge-lib.mib: a memory quantity written "<n>Mi" or "<n>Gi", as a whole number of MiB. Anything else
fails the render naming the field. Pass (dict "field" "tempsensor.resources.limits.memory" "value" "64Mi").
*/}}
{{- define "edge-lib.mib" -}}
{{- $v := toString .value -}}
{{- if regexMatch "^[0-9]+Mi$" $v -}}
{{- trimSuffix "Mi" $v | int -}}
{{- else if regexMatch "^[0-9]+Gi$" $v -}}
{{- mul (trimSuffix "Gi" $v | int) 1024 -}}
{{- else -}}
{{- fail (printf "%s: %q is not a whole number of Mi or Gi (e.g. 128Mi)" .field $v) -}}
{{- end -}}
{{- end }}

{{/*
edge-lib.memoryAtLeast: fails the render, naming the field, when a memory quantity is below floor MiB
(the measured peak plus headroom). Pass (dict "field" … "value" "64Mi" "floor" 48 "why" "what needs it").
*/}}
{{- define "edge-lib.memoryAtLeast" -}}
{{- $mib := include "edge-lib.mib" . | int -}}
{{- if lt $mib (int .floor) -}}
{{- fail (printf "%s: %s is below %dMi, %s" .field (toString .value) (int .floor) .why) -}}
{{- end -}}
{{- end }}
