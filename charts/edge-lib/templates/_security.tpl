{{/*
Pod security context meeting the restricted Pod Security profile.
Pass (dict "user" 1000) ; user is the numeric uid/gid the image runs as.
*/}}
{{- define "edge-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .user }}
runAsGroup: {{ .user }}
fsGroup: {{ .user }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container security context meeting the restricted Pod Security profile. */}}
{{- define "edge-lib.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
