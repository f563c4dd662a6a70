{{/*
The egress allow-list shared by envoy-proxy and dns-override.
Pass .Values.allowList; every key that is not set falls back to the default below.
Returns YAML: exact (list of names, regional names already prefixed with the region), wildcard (list of "*.x" names).
*/}}
{{- define "edge-lib.allowList" -}}
{{- $defaults := dict
  "arcDomains" (list
    "management.azure.com" "management.core.windows.net" "login.windows.net" "login.microsoftonline.com"
    "mcr.microsoft.com" "guestnotificationservice.azure.com" "k8connecthelm.azureedge.net" "sts.windows.net"
    "k8sconnectcsp.azureedge.net" "graph.microsoft.com" "graph.windows.net" "azurepolicyarckubernetes.azurecr.io"
    "data.policy.core.windows.net" "gbl.his.arc.azure.com" "packages.microsoft.com" "acs-mirror.azureedge.net")
  "arcRegionalDomains" (list
    ".dp.kubernetesconfiguration.azure.com" ".rp.kubernetesconfiguration.azure.com" ".login.microsoft.com"
    ".monitoring.azure.com" ".obo.arc.azure.com")
  "wildcardDomains" (list
    "*.his.arc.azure.com" "*.arc.azure.net" "*.data.mcr.microsoft.com" "*.guestnotificationservice.azure.com"
    "*.servicebus.windows.net")
  "customDomains" (list)
-}}
{{- $in := default dict .values -}}
{{- $v := dict -}}
{{- range $k, $d := $defaults }}{{ $_ := set $v $k (ternary (get $in $k) $d (hasKey $in $k)) }}{{ end -}}
{{- $exact := list -}}
{{- range $v.arcDomains }}{{ $exact = append $exact . }}{{ end -}}
{{- range $v.arcRegionalDomains }}{{ $exact = append $exact (printf "%s%s" $.region .) }}{{ end -}}
{{- $wild := list -}}
{{- range $v.customDomains }}{{ if hasPrefix "*." . }}{{ $wild = append $wild . }}{{ else }}{{ $exact = append $exact . }}{{ end }}{{ end -}}
{{- range $v.wildcardDomains }}{{ $wild = append $wild . }}{{ end -}}
exact: {{ $exact | uniq | toJson }}
wildcard: {{ $wild | uniq | toJson }}
{{- end }}
