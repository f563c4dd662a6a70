{{- define "mosquitto.fullname" -}}{{ include "edge-lib.fullname" . }}{{- end }}
{{- define "mosquitto.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{- define "mosquitto.selectorLabels" -}}{{ include "edge-lib.selectorLabels" (dict "ctx" .) }}{{- end }}
{{- define "mosquitto.bridgeName" -}}{{ default (printf "bridge-%s" .Values.level) .Values.bridge.name }}{{- end }}
{{- define "mosquitto.bridgeClientId" -}}{{ default (printf "bridge-%s" .Values.level) .Values.bridge.clientId }}{{- end }}
{{- define "mosquitto.dir" -}}{{ trimSuffix "/" . }}{{- end }}

{{/* mosquitto.conf, usable verbatim by a local broker once paths.* point at local directories. */}}
{{- define "mosquitto.conf" -}}
{{- $p := .Values.paths -}}
# edgeframe mosquitto, level {{ .Values.level }}. Rendered by the mosquitto chart; do not edit.
per_listener_settings false
allow_anonymous false
password_file {{ include "mosquitto.dir" $p.secrets }}/passwd
acl_file {{ include "mosquitto.dir" $p.config }}/acl.conf
{{- if .Values.persistence.enabled }}
persistence true
persistence_location {{ include "mosquitto.dir" $p.data }}/
autosave_interval {{ .Values.persistence.autosaveInterval }}
{{- else }}
persistence false
{{- end }}
{{- with .Values.persistence.clientExpiration }}
persistent_client_expiration {{ . }}
{{- end }}
log_dest stdout
{{- range .Values.logTypes }}
log_type {{ . }}
{{- end }}
log_timestamp_format %Y-%m-%dT%H:%M:%S
max_queued_messages {{ .Values.queue.maxQueuedMessages | int64 }}
max_queued_bytes {{ .Values.queue.maxQueuedBytes | int64 }}
max_inflight_messages {{ .Values.queue.maxInflightMessages | int64 }}
queue_qos0_messages false
set_tcp_nodelay {{ .Values.tcpNoDelay }}

# In-cluster listener: password authentication and ACLs.
listener {{ .Values.listeners.internal.port | int }}{{ with .Values.listeners.internal.bindAddress }} {{ . }}{{ end }}
protocol mqtt
{{- if .Values.listeners.bridge.enabled }}

# Bridge listener for child levels: TLS, client certificate required, CN = user name.
listener {{ .Values.listeners.bridge.port | int }}{{ with .Values.listeners.bridge.bindAddress }} {{ . }}{{ end }}
protocol mqtt
cafile {{ include "mosquitto.dir" $p.tls }}/ca.crt
certfile {{ include "mosquitto.dir" $p.tls }}/tls.crt
keyfile {{ include "mosquitto.dir" $p.tls }}/tls.key
tls_version {{ .Values.listeners.bridge.tlsVersion }}
require_certificate true
use_identity_as_username true
{{- end }}
{{- if .Values.bridge.enabled }}

# Bridge to the parent level: telemetry upward at QoS 1, persistent session, mTLS.
connection {{ include "mosquitto.bridgeName" . }}
address {{ .Values.bridge.address }}
bridge_protocol_version mqttv311
remote_clientid {{ include "mosquitto.bridgeClientId" . }}
cleansession false
start_type automatic
restart_timeout {{ .Values.bridge.restartTimeout }}
keepalive_interval {{ .Values.bridge.keepalive | int }}
notifications false
try_private true
bridge_cafile {{ include "mosquitto.dir" $p.bridgeTLS }}/ca.crt
bridge_certfile {{ include "mosquitto.dir" $p.bridgeTLS }}/tls.crt
bridge_keyfile {{ include "mosquitto.dir" $p.bridgeTLS }}/tls.key
bridge_tls_version {{ .Values.bridge.tlsVersion }}
bridge_insecure false
{{- range .Values.bridge.topics }}
topic {{ . }} out 1
{{- end }}
{{- end }}
{{- end }}

{{/* acl.conf from .Values.acl. */}}
{{- define "mosquitto.acl" -}}
# edgeframe mosquitto ACL, level {{ .Values.level }}. Rendered by the mosquitto chart; do not edit.
{{- range .Values.acl }}

user {{ .user }}
{{- range .rules }}
topic {{ .access }} {{ .topic }}
{{- end }}
{{- end }}
{{- end }}
