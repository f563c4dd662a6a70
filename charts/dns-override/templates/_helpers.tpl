{{- define "dns-override.fullname" -}}{{ include "edge-lib.fullname" . }}{{- end }}
{{- define "dns-override.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{/* Regex for the name part of a "*.x" wildcard. */}}
{{- define "dns-override.wildcardRegex" -}}(.*)\.{{ trimPrefix "*." . | replace "." "\\." }}\.${{- end }}

{{/* edgeframe's keys of the CoreDNS custom ConfigMap ("<prefix>.override" hosts, "<prefix>-<n>.override" rewrites). */}}
{{- define "dns-override.keys" -}}
{{- $allow := include "edge-lib.allowList" (dict "values" .Values.allowList "region" .Values.region) | fromYaml -}}
{{ .Values.coreDNS.keyPrefix }}.override: |
  hosts {
  {{- range $allow.exact }}
    {{ $.Values.proxy.ip }} {{ . }}
  {{- end }}
    fallthrough
  }
{{- range $i, $w := $allow.wildcard }}
{{ $.Values.coreDNS.keyPrefix }}-{{ $i }}.override: |
  rewrite stop {
    name regex {{ include "dns-override.wildcardRegex" $w }} {{ $.Values.proxy.service }}.
    answer auto
  }
{{- end }}
{{- end }}

{{/*
The CoreDNS custom ConfigMap as server-side apply sees it: only edgeframe's keys (pass true) or
none (false). Applied with the field manager coreDNS.fieldManager, it adds and updates exactly
those keys, removes the ones edgeframe applied before and no longer lists, and never touches
keys other managers own (AKS's own, the operator's).
*/}}
{{- define "dns-override.applyManifest" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .ctx.Values.coreDNS.configMapName }}
  namespace: {{ .ctx.Values.coreDNS.namespace }}
{{- if .keys }}
data:
  {{- include "dns-override.keys" .ctx | nindent 2 }}
{{- end }}
{{- end }}

{{/* One kubectl container of the hook Jobs. Pass (dict "ctx" $ "c" (dict "name" n "args" list)). */}}
{{- define "dns-override.kubectlContainer" -}}
- name: {{ .c.name }}
  image: {{ include "edge-lib.image" .ctx.Values.kubectl.image }}
  imagePullPolicy: {{ .ctx.Values.kubectl.image.pullPolicy }}
  command: ["/bin/kubectl"]
  args: {{ .c.args | toJson }}
  env:
    - {name: HOME, value: /tmp}
  securityContext:
    {{- include "edge-lib.containerSecurityContext" . | nindent 4 }}
  resources:
    {{- toYaml .ctx.Values.kubectl.resources | nindent 4 }}
  volumeMounts:
    - {name: manifests, mountPath: /manifests, readOnly: true}
    - {name: tmp, mountPath: /tmp}
{{- end }}
