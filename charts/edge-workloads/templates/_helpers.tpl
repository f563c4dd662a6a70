{{/* Names of the workloads, in order. */}}
{{- define "edge-workloads.names" -}}["opcplc", "opcpublisher", "tempsensor", "datagateway"]{{- end }}

{{/* Resource name of a workload: pass (dict "ctx" $ "name" n). */}}
{{- define "edge-workloads.name" -}}
{{- if .ctx.Values.fullnameOverride }}{{ printf "%s-%s" .ctx.Values.fullnameOverride .name | trunc 63 | trimSuffix "-" }}{{ else }}{{ .name }}{{ end }}
{{- end }}

{{/* Image of a workload: pass (dict "ctx" $ "name" n "w" values). */}}
{{- define "edge-workloads.image" -}}
{{- $img := deepCopy .w.image -}}
{{- if not $img.repository }}{{ $_ := set $img "repository" (printf "%s/edgeframe/%s" .ctx.Values.imageRegistry .name) }}{{ end -}}
{{- if not $img.tag }}{{ $_ := set $img "tag" .ctx.Chart.AppVersion }}{{ end -}}
{{ include "edge-lib.image" $img }}
{{- end }}

{{/* The least memory limit each workload may have, in MiB: its peak resident memory measured by
`make bench` (README: Memory) plus headroom. A lower limit fails the render. */}}
{{- define "edge-workloads.memoryFloorsMiB" -}}
{{- toJson (dict "opcplc" 64 "opcpublisher" 48 "tempsensor" 48 "datagateway" 64) -}}
{{- end }}
