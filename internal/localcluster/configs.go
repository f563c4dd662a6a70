package localcluster

import (
	"encoding/base64"
	"fmt"
	"strings"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// containerdConfig is containerd's config (version 3) for the node. restrict_oom_score_adj is
// required here: root lacks CAP_SYS_RESOURCE, CRI asks for oom_score_adj -998 for sandboxes and
// runc then fails with "can't get final child's PID from pipe: EOF".
func (c Config) containerdConfig(t Tools) string {
	return fmt.Sprintf(`version = 3
root = %q
state = %q

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = %q
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = %q
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = %q
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['/usr/lib/cni']
      conf_dir = %q
`, c.path("containerd", "root"), c.path("containerd", "state"), c.containerdSock(), c.path("containerd", "ttrpc.sock"),
		c.path("containerd", "certs.d"), SandboxImage, t.Runc, c.path("cni", "net.d"))
}

// noPullHosts is containerd's default registry host config (certs.d/_default/hosts.toml):
// every registry resolves to a closed loopback port, so an image that is not imported fails
// at once instead of being looked up on the network.
const noPullHosts = `server = "http://127.0.0.1:9"

[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
`

func (c Config) containerdSock() string { return c.path("containerd", "containerd.sock") }

// cniConfig is the pod network: a bridge on NodeIP with host-local addresses from PodCIDR. Pods
// get a route to the Service range only (no default route), and no masquerading.
func (c Config) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "edgeframe",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": %q}]
      }
    }
  ]
}
`, Bridge, c.path("cni", "ipam"), PodCIDR, NodeIP, ServiceCIDR)
}

// kubeletConfig: failCgroupV1 false (the machine has a cgroup v1 hierarchy), cgroupfs, swap
// allowed, its own ports on NodeIP/loopback, image GC off (images are imported, not pulled) and
// eviction thresholds low (the disk is shared).
func (c Config) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://%s
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
clusterDNS: [%s]
resolvConf: %s
podCIDR: %s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
serializeImagePulls: false
maxPods: 110
`, c.containerdSock(), NodeIP, KubeletPort, kubeletHealthzPort, DNSIP, c.path("resolv.conf"), PodCIDR)
}

// kubeProxyConfig: iptables mode, no conntrack sysctl changes, NodePorts only on NodeIP (no
// route_localnet), health and metrics on loopback.
func (c Config) kubeProxyConfig() string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %s}
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
nodePortAddresses: ["%s/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, masqueradeAll: false}
`, c.Kubeconfig(), PodCIDR, NodeName, proxyHealthzPort, proxyMetricsPort, NodeIP)
}

// corefile: cluster.local from the API, the dns-override chart's coredns-custom entries
// (AKS/k3s convention: import /etc/coredns/custom/*.override), and no forwarding: names
// outside the cluster do not resolve (nothing leaves the machine).
const corefile = `.:1053 {
    errors
    health :8080
    ready :8181
    import /etc/coredns/custom/*.override
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
    loop
    reload 10s
}
`

// addons are the cluster's own objects: CoreDNS and the node's storage class.
func addons() string {
	return strings.ReplaceAll(fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
%s
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      priorityClassName: system-cluster-critical
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: coredns
        image: %s
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {name: dns, containerPort: 1053, protocol: UDP}
        - {name: dns-tcp, containerPort: 1053, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}}
        resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {memory: 128Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts:
        - {name: config, mountPath: /etc/coredns, readOnly: true}
        - {name: custom, mountPath: /etc/coredns/custom, readOnly: true}
      volumes:
      - {name: config, configMap: {name: coredns}}
      - {name: custom, configMap: {name: coredns-custom, optional: true}}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: %s
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 1053, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
`, indent(corefile, "    "), CoreDNSImage, DNSIP), "\t", "    ")
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// persistentVolume is one of the node's hostPath volumes (static: the class has no provisioner).
func persistentVolume(name, dir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %s, labels: {edgeframe.io/local-volume: "true"}}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  hostPath: {path: %s, type: Directory}
`, name, dir)
}
