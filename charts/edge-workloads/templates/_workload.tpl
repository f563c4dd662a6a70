{{/* The objects every workload has: its ServiceAccount, Deployment and Service. Each workload's
template (opcplc.yaml, opcpublisher.yaml, tempsensor.yaml, datagateway.yaml) passes what is its
own; everything else is the same for all four. Pass a dict:
  ctx               the root context
  name              the workload (values key, component label, container name, Dapr app id)
  args              the flags the chart sets (before --state-dir and the values' args)
  annotations       extra pod annotations (map)
  ports             extra ports: list of {name, port}, each a container port and a Service port
  mounts            extra volume mounts: list of {name, mountPath, readOnly}
  volumes           extra volumes: list of {name, <volume source>}
  stateful          the workload keeps its message sequences under /var/lib/<name> (--state-dir;
                    values state.existingClaim, else an emptyDir)
  workloadIdentity  the pod uses Azure workload identity (label, token, ServiceAccount client id)
  k8sSecretStore    keep daprd's built-in Kubernetes secret store (it needs the token)
  envFromSecret     Secret whose keys become environment variables ("" = none) */}}
{{- define "edge-workloads.workload" -}}
{{- $ := .ctx }}
{{- $name := .name }}
{{- $w := get $.Values $name }}
{{- $full := include "edge-workloads.name" (dict "ctx" $ "name" $name) }}
{{- $args := get . "args" | default list }}
{{- $annotations := get . "annotations" | default dict }}
{{- $ports := get . "ports" | default list }}
{{- $mounts := get . "mounts" | default list }}
{{- $volumes := get . "volumes" | default list }}
{{- $stateful := get . "stateful" | default false }}
{{- $workloadIdentity := get . "workloadIdentity" | default false }}
{{- $k8sSecretStore := get . "k8sSecretStore" | default false }}
{{- $envFromSecret := get . "envFromSecret" }}
{{- $stateClaim := "" }}
{{- if and $stateful $w.state }}{{ $stateClaim = $w.state.existingClaim | default "" }}{{ end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $full }}
  labels:
    {{- include "edge-lib.labels" (dict "ctx" $ "component" $name) | nindent 4 }}
  {{- if $workloadIdentity }}
  annotations:
    azure.workload.identity/client-id: {{ $w.workloadIdentity.clientId | quote }}
  {{- end }}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $full }}
  labels:
    {{- include "edge-lib.labels" (dict "ctx" $ "component" $name) | nindent 4 }}
spec:
  replicas: {{ $w.replicas }}
  {{- if or $w.dapr.enabled $stateClaim }}
  {{- /* One pod at a time: two would share (and lock) the same state claim, or their sidecars,
         connecting with the same MQTT client id (consumerID {appID}), would take each other's
         broker session over during a rolling update. */}}
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "edge-lib.selectorLabels" (dict "ctx" $ "component" $name) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "edge-lib.labels" (dict "ctx" $ "component" $name) | nindent 8 }}
        {{- if $workloadIdentity }}
        azure.workload.identity/use: "true"
        {{- end }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $w.httpPort | quote }}
        prometheus.io/path: /metrics
        {{- range $k, $v := $annotations }}
        {{ $k }}: {{ $v }}
        {{- end }}
        {{- if $w.dapr.enabled }}
        dapr.io/enabled: "true"
        dapr.io/app-id: {{ $name }}
        {{- if $w.dapr.appPort }}
        dapr.io/app-port: {{ $w.dapr.appPort | quote }}
        dapr.io/app-protocol: {{ $w.dapr.appProtocol }}
        {{- end }}
        dapr.io/config: {{ $.Values.dapr.config }}
        dapr.io/log-as-json: "true"
        dapr.io/log-level: {{ $.Values.dapr.logLevel }}
        dapr.io/enable-metrics: "true"
        dapr.io/metrics-port: {{ $.Values.dapr.metricsPort | quote }}
        dapr.io/sidecar-seccomp-profile-type: RuntimeDefault
        {{- /* Bounded memory: daprd's request and limit, its garbage collector's target (GOGC) and
               its Go soft limit (GOMEMLIMIT; about 85 MiB of its resident memory is the mapped
               binary, which GOMEMLIMIT does not count). */}}
        dapr.io/sidecar-memory-request: {{ printf "%dMi" ($w.dapr.memoryRequestMiB | int) | quote }}
        dapr.io/sidecar-memory-limit: {{ printf "%dMi" ($w.dapr.memoryLimitMiB | int) | quote }}
        dapr.io/env: {{ printf "GOMEMLIMIT=%dMiB,GOGC=%d" ($.Values.dapr.goMemLimitMiB | int) ($.Values.dapr.goGC | int) | quote }}
        {{- if not $k8sSecretStore }}
        # The pod mounts no service-account token; daprd's built-in Kubernetes secret store
        # exits at start without one. The operator resolves the components' secretKeyRefs.
        dapr.io/disable-builtin-k8s-secret-store: "true"
        {{- end }}
        {{- end }}
    spec:
      serviceAccountName: {{ $full }}
      automountServiceAccountToken: {{ $workloadIdentity | default false }}
      securityContext:
        {{- include "edge-lib.podSecurityContext" (dict "user" $.Values.runAsUser) | nindent 8 }}
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "edge-workloads.image" (dict "ctx" $ "name" $name "w" $w) }}
          imagePullPolicy: {{ $w.image.pullPolicy }}
          {{- if $stateful }}
          {{- $args = append $args (printf "--state-dir=/var/lib/%s" $name) }}
          {{- end }}
          {{- $args = concat $args $w.args }}
          {{- with $args }}
          args: {{ toJson . }}
          {{- end }}
          env:
            - {name: OTEL_SERVICE_NAME, value: {{ $name }}}
            {{- $attrs := list (printf "edge.layer=%s" $.Values.level) }}
            {{- range $k, $v := $.Values.otel.resourceAttributes }}{{ $attrs = append $attrs (printf "%s=%s" $k $v) }}{{ end }}
            - {name: OTEL_RESOURCE_ATTRIBUTES, value: {{ join "," $attrs | quote }}}
            {{- with $.Values.otel.endpoint }}
            - {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: {{ . | quote }}}
            {{- end }}
            {{- with $.Values.otel.tracesSamplingRatio }}
            {{- /* The workloads start the traces; daprd follows their decision (parent based). */}}
            - {name: OTEL_TRACES_SAMPLER, value: parentbased_traceidratio}
            - {name: OTEL_TRACES_SAMPLER_ARG, value: {{ . | quote }}}
            {{- end }}
            {{- $limit := include "edge-lib.mib" (dict "field" (printf "%s.resources.limits.memory" $name) "value" $w.resources.limits.memory) | int }}
            {{- include "edge-lib.memoryAtLeast" (dict "field" (printf "%s.resources.limits.memory" $name) "value" $w.resources.limits.memory "floor" (get (include "edge-workloads.memoryFloorsMiB" $ | fromJson) $name) "why" "the measured peak of this workload plus headroom (README: Memory)") }}
            {{- if not (hasKey $w.env "GOMEMLIMIT") }}
            {{- /* Go's soft memory limit at 80 % of the container's limit. */}}
            - {name: GOMEMLIMIT, value: {{ printf "%dMiB" (div (mul $limit 8) 10) | quote }}}
            {{- end }}
            {{- range $k, $v := $w.env }}
            - {name: {{ $k }}, value: {{ $v | quote }}}
            {{- end }}
          {{- with $envFromSecret }}
          envFrom:
            - secretRef:
                name: {{ . }}
          {{- end }}
          securityContext:
            {{- include "edge-lib.containerSecurityContext" $ | nindent 12 }}
          ports:
            - {name: http, containerPort: {{ $w.httpPort }}}
            {{- range $ports }}
            - {name: {{ .name }}, containerPort: {{ .port }}}
            {{- end }}
            {{- if and $w.dapr.enabled $w.dapr.appPort }}
            - {name: app, containerPort: {{ $w.dapr.appPort }}}
            {{- end }}
          startupProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 20
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 10
          resources:
            {{- toYaml $w.resources | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- range $mounts }}
            - {name: {{ .name }}, mountPath: {{ .mountPath }}{{ if get . "readOnly" }}, readOnly: true{{ end }}}
            {{- end }}
            {{- if $stateful }}
            - {name: state, mountPath: /var/lib/{{ $name }}}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- range $volumes }}
        - name: {{ .name }}
          {{- toYaml (omit . "name") | nindent 10 }}
        {{- end }}
        {{- if $stateful }}
        - name: state
          {{- if $stateClaim }}
          persistentVolumeClaim:
            claimName: {{ $stateClaim }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $full }}
  labels:
    {{- include "edge-lib.labels" (dict "ctx" $ "component" $name) | nindent 4 }}
spec:
  selector:
    {{- include "edge-lib.selectorLabels" (dict "ctx" $ "component" $name) | nindent 4 }}
  ports:
    - {name: http, port: {{ $w.httpPort }}, targetPort: http}
    {{- range $ports }}
    - {name: {{ .name }}, port: {{ .port }}, targetPort: {{ .name }}}
    {{- end }}
{{- end }}
