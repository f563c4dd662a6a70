{{- define "dns-override.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{/* Regex for the name part of a "*.x" wildcard. */}}
{{- define "dns-override.wildcardRegex" -}}(.*)\.{{ trimPrefix "*." . | replace "." "\\." }}\.${{- end }}
