{{- define "envoy-proxy.fullname" -}}{{ include "edge-lib.fullname" . }}{{- end }}
{{- define "envoy-proxy.labels" -}}{{ include "edge-lib.labels" (dict "ctx" .) }}{{- end }}
{{- define "envoy-proxy.selectorLabels" -}}{{ include "edge-lib.selectorLabels" (dict "ctx" .) }}{{- end }}
{{- define "envoy-proxy.oboHost" -}}{{ .Values.region }}.obo.arc.azure.com{{- end }}
{{/* Cluster name for an egress domain. */}}
{{- define "envoy-proxy.egressCluster" -}}egress_{{ . | replace "." "_" | replace "-" "_" }}{{- end }}

{{/* typed_dns_resolver_config querying the given resolver IPs (a list) on port 53. */}}
{{- define "envoy-proxy.dnsResolver" -}}
typed_dns_resolver_config:
  name: envoy.network.dns_resolvers.cares
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
    resolvers:
      {{- range . }}
      - socket_address: {address: {{ . | quote }}, port_value: 53}
      {{- end }}
{{- end }}

{{/* The DNS cache of the dynamic forward proxy, the same for every filter and cluster that
share it (Envoy requires one configuration per cache name). Pass the resolvers list. */}}
{{- define "envoy-proxy.dnsCache" -}}
dns_cache_config:
  name: egress_wildcard_cache
  dns_lookup_family: V4_ONLY
  {{- with . }}
  {{- include "envoy-proxy.dnsResolver" . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* A dynamic forward proxy cluster. Pass (dict "name" n "resolvers" list). */}}
{{- define "envoy-proxy.dfpCluster" -}}
- name: {{ .name }}
  connect_timeout: 5s
  lb_policy: CLUSTER_PROVIDED
  cluster_type:
    name: envoy.clusters.dynamic_forward_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig
      {{- include "envoy-proxy.dnsCache" .resolvers | nindent 6 }}
{{- end }}

{{/* An SNI dynamic forward proxy chain to cluster, upstream port port. Pass (dict "names" list
"port" p "stat" s "cluster" c "resolvers" list). */}}
{{- define "envoy-proxy.sniDFPChain" -}}
- filter_chain_match:
    server_names: {{ .names | toJson }}
  filters:
    - name: envoy.filters.network.sni_dynamic_forward_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.sni_dynamic_forward_proxy.v3.FilterConfig
        port_value: {{ .port | int }}
        {{- include "envoy-proxy.dnsCache" .resolvers | nindent 8 }}
    {{- include "envoy-proxy.tcpProxy" (dict "stat" .stat "cluster" .cluster) | nindent 4 }}
{{- end }}

{{/* A DNS-resolved cluster. Pass (dict "name" n "host" h "port" p "resolvers" list). */}}
{{- define "envoy-proxy.cluster" -}}
- name: {{ .name }}
  type: LOGICAL_DNS
  connect_timeout: 5s
  dns_lookup_family: V4_ONLY
  {{- with (get . "resolvers") }}
  {{- include "envoy-proxy.dnsResolver" . | nindent 2 }}
  {{- end }}
  load_assignment:
    cluster_name: {{ .name }}
    endpoints:
      - lb_endpoints:
          - endpoint:
              address:
                socket_address: {address: {{ .host | quote }}, port_value: {{ .port | int }}}
{{- end }}

{{/* A tcp_proxy network filter. Pass (dict "stat" s "cluster" c). */}}
{{- define "envoy-proxy.tcpProxy" -}}
- name: envoy.filters.network.tcp_proxy
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
    stat_prefix: {{ .stat }}
    cluster: {{ .cluster }}
{{- end }}

{{- define "envoy-proxy.tlsInspector" -}}
- name: envoy.filters.listener.tls_inspector
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
{{- end }}

{{/* The Envoy bootstrap (envoy.yaml). */}}
{{- define "envoy-proxy.bootstrap" -}}
{{- $allow := include "edge-lib.allowList" (dict "values" .Values.allowList "region" .Values.region) | fromYaml -}}
{{- $top := not .Values.parent.enabled -}}
{{- if and (not $top) .Values.service.clusterIP (eq .Values.parent.address .Values.service.clusterIP) }}
{{- fail (printf "parent.address %s is this proxy's own service.clusterIP: the child would chain to itself (a ClusterIP is reachable only inside its cluster; use the parent's internal load balancer address, the infrastructure bundle's proxy-address output)" .Values.parent.address) }}
{{- end }}
{{- $resolvers := ternary .Values.upstreamDNS.resolvers list $top -}}
{{- $l := .Values.listeners -}}
node:
  id: {{ include "envoy-proxy.fullname" . }}-{{ .Values.level }}
  cluster: edgeframe-{{ .Values.level }}
admin:
  address:
    socket_address: {address: 127.0.0.1, port_value: {{ .Values.admin.port | int }}}
layered_runtime:
  layers:
    - name: static
      static_layer:
        overload:
          global_downstream_max_connections: {{ .Values.maxConnections | int }}
static_resources:
  listeners:
    - name: https_passthrough
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.https.port | int }}}
      per_connection_buffer_limit_bytes: {{ $l.https.bufferLimitBytes | int }}
      listener_filters:
        {{- include "envoy-proxy.tlsInspector" . | nindent 8 }}
      filter_chains:
      {{- if not $top }}
        - filter_chain_match:
            server_names: {{ concat $allow.exact $allow.wildcard | toJson }}
          filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" "https_parent" "cluster" "parent_https") | nindent 12 }}
      {{- else }}
      {{- range $allow.exact }}
        - filter_chain_match:
            server_names: [{{ . | quote }}]
          filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" (include "envoy-proxy.egressCluster" .) "cluster" (include "envoy-proxy.egressCluster" .)) | nindent 12 }}
      {{- end }}
      {{- if $allow.wildcard }}
        {{- include "envoy-proxy.sniDFPChain" (dict "names" $allow.wildcard "port" 443 "stat" "egress_wildcard" "cluster" "egress_wildcard" "resolvers" $resolvers) | nindent 8 }}
      {{- end }}
      {{- end }}
    - name: arc_cluster_connect
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.obo.port | int }}}
      listener_filters:
        {{- include "envoy-proxy.tlsInspector" . | nindent 8 }}
      filter_chains:
        - filter_chain_match:
            server_names: [{{ include "envoy-proxy.oboHost" . | quote }}]
          filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" "arc_obo" "cluster" (ternary "arc_obo" "parent_obo" $top)) | nindent 12 }}
    {{- if $l.prometheus.enabled }}
    - name: prometheus
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.prometheus.port | int }}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: prometheus
                route_config:
                  name: prometheus
                  virtual_hosts:
                    - name: prometheus
                      domains: ["*"]
                      routes:
                        - match: {path: /metrics}
                          route: {cluster: envoy_admin, prefix_rewrite: /stats/prometheus}
                        - match: {path: /ready}
                          route: {cluster: envoy_admin}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
    {{- end }}
    {{- if $l.otlp.enabled }}
    - name: otlp
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.otlp.port | int }}}
      filter_chains:
        - filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" "otlp" "cluster" "otlp_upstream") | nindent 12 }}
    {{- end }}
    {{- if $l.mqtt.enabled }}
    - name: mqtt
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.mqtt.port | int }}}
      filter_chains:
        - filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" "mqtt" "cluster" "mqtt_upstream") | nindent 12 }}
    {{- end }}
    {{- if $l.kafka.enabled }}
    - name: kafka_passthrough
      address:
        socket_address: {address: 0.0.0.0, port_value: {{ $l.kafka.port | int }}}
      per_connection_buffer_limit_bytes: {{ $l.https.bufferLimitBytes | int }}
      listener_filters:
        {{- include "envoy-proxy.tlsInspector" . | nindent 8 }}
      filter_chains:
      {{- if $top }}
        {{- include "envoy-proxy.sniDFPChain" (dict "names" $l.kafka.serverNames "port" 9093 "stat" "egress_kafka" "cluster" "egress_kafka" "resolvers" $resolvers) | nindent 8 }}
      {{- else }}
        - filter_chain_match:
            server_names: {{ $l.kafka.serverNames | toJson }}
          filters:
            {{- include "envoy-proxy.tcpProxy" (dict "stat" "kafka_parent" "cluster" "parent_kafka") | nindent 12 }}
      {{- end }}
    {{- end }}
  clusters:
    - name: envoy_admin
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: envoy_admin
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: 127.0.0.1, port_value: {{ .Values.admin.port | int }}}
    {{- if not $top }}
    {{- include "envoy-proxy.cluster" (dict "name" "parent_https" "host" .Values.parent.address "port" .Values.parent.httpsPort) | nindent 4 }}
    {{- include "envoy-proxy.cluster" (dict "name" "parent_obo" "host" .Values.parent.address "port" .Values.parent.oboPort) | nindent 4 }}
    {{- else }}
    {{- range $allow.exact }}
    {{- include "envoy-proxy.cluster" (dict "name" (include "envoy-proxy.egressCluster" .) "host" . "port" 443 "resolvers" $resolvers) | nindent 4 }}
    {{- end }}
    {{- include "envoy-proxy.cluster" (dict "name" "arc_obo" "host" (include "envoy-proxy.oboHost" .) "port" 8084 "resolvers" $resolvers) | nindent 4 }}
    {{- if $allow.wildcard }}
    {{- include "envoy-proxy.dfpCluster" (dict "name" "egress_wildcard" "resolvers" $resolvers) | nindent 4 }}
    {{- end }}
    {{- if $l.kafka.enabled }}
    {{- include "envoy-proxy.dfpCluster" (dict "name" "egress_kafka" "resolvers" $resolvers) | nindent 4 }}
    {{- end }}
    {{- end }}
    {{- if and (not $top) $l.kafka.enabled }}
    {{- include "envoy-proxy.cluster" (dict "name" "parent_kafka" "host" .Values.parent.address "port" .Values.parent.kafkaPort) | nindent 4 }}
    {{- end }}
    {{- if $l.otlp.enabled }}
    {{- $u := splitList ":" $l.otlp.upstream }}
    {{- include "envoy-proxy.cluster" (dict "name" "otlp_upstream" "host" (first $u) "port" (last $u)) | nindent 4 }}
    {{- end }}
    {{- if $l.mqtt.enabled }}
    {{- $u := splitList ":" $l.mqtt.upstream }}
    {{- include "envoy-proxy.cluster" (dict "name" "mqtt_upstream" "host" (first $u) "port" (last $u)) | nindent 4 }}
    {{- end }}
{{- end }}
