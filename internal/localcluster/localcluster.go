// Package localcluster runs a real single-node Kubernetes on this machine from the components
// `make tools` builds: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd
// with runc, kubelet, kube-proxy, a bridge+host-local CNI network and CoreDNS as the cluster DNS.
//
// Everything it starts listens on loopback or on the node's bridge (NodeIP), a private subnet
// that exists only on this machine; pods get no default route and a FORWARD rule drops anything
// they send that would leave the bridge, so nothing routes off the machine. Up records the kernel
// settings kubelet and the CNI bridge change (state.json) and Down restores them, stops every
// process it started, removes the pods' tasks, network links, iptables rules, mounts and cgroups,
// and deletes the state directory.
package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeframe/edgeframe/internal/toolcache"
)

// Network and naming of the node. The subnets are private and exist only on this machine.
const (
	NodeName    = "edgeframe-node"
	Bridge      = "efbr0"
	PodCIDR     = "10.244.0.0/24"
	NodeIP      = "10.244.0.1" // the bridge's address: the API server and kubelet listen here
	ServiceCIDR = "10.0.0.0/24"
	KubeAPIIP   = "10.0.0.1" // the kubernetes Service
	DNSIP       = "10.0.0.10"
	APIPort     = 16443
	KubeletPort = 10250
	// Loopback ports (fixed so that `down` and a second `up` find them).
	etcdClientPort     = 32379
	etcdPeerPort       = 32380
	kcmPort            = 32257
	schedulerPort      = 32259
	kubeletHealthzPort = 32248
	proxyHealthzPort   = 32256
	proxyMetricsPort   = 32249
	// SandboxImage is the pause image containerd pins (built by Images, no registry).
	SandboxImage = "localhost/edgeframe/pause:local"
	// CoreDNSImage is the cluster DNS image (built from `make tools`' coredns).
	CoreDNSImage = "localhost/edgeframe/coredns:local"
	fieldManager = "edgeframe-cluster"
)

// Config locates the node's state and the tools.
type Config struct {
	// StateDir holds everything the node writes (default ~/.local/state/edgeframe/cluster).
	StateDir string
	// Repo is the edgeframe repository root (charts, porter.yaml, workloads).
	Repo string
	Log  *slog.Logger
}

// DefaultStateDir is $EDGEFRAME_CLUSTER_DIR or ~/.local/state/edgeframe/cluster.
func DefaultStateDir() string {
	if d := os.Getenv("EDGEFRAME_CLUSTER_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".local", "state", "edgeframe", "cluster")
}

func (c Config) path(p ...string) string { return filepath.Join(append([]string{c.StateDir}, p...)...) }

// Kubeconfig is the admin kubeconfig of the node.
func (c Config) Kubeconfig() string { return c.path("kubeconfig") }

// Tools are the executables the node runs.
type Tools struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kubelet, KubeProxy string
	Containerd, Ctr, Shim, Runc, CoreDNS, IPTables, CNIBridge         string
}

// FindTools returns every tool, or an error naming each missing one and `make tools`.
func FindTools() (Tools, error) {
	var missing []string
	look := func(name string) string {
		p := toolcache.Look(name)
		if p == "" {
			missing = append(missing, name)
		}
		return p
	}
	t := Tools{
		Etcd: look("etcd"), APIServer: look("kube-apiserver"), ControllerManager: look("kube-controller-manager"),
		Scheduler: look("kube-scheduler"), Kubelet: look("kubelet"), KubeProxy: look("kube-proxy"),
		Containerd: look("containerd"), Ctr: look("ctr"), Shim: look("containerd-shim-runc-v2"),
		Runc: look("runc"), CoreDNS: look("coredns"), IPTables: look("iptables"),
	}
	t.CNIBridge = "/usr/lib/cni/bridge"
	if _, err := os.Stat(t.CNIBridge); err != nil {
		missing = append(missing, "CNI plugins (/usr/lib/cni/bridge, Debian containernetworking-plugins)")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("missing components: %s: run `make tools` (build/tools/34-37*.sh; looked in %s and PATH)",
			strings.Join(missing, ", "), filepath.Join(toolcache.Dir(), "bin"))
	}
	return t, nil
}

// State is what Up recorded for Down (state.json).
type State struct {
	// Sysctls are the values of the kernel settings before Up, by /proc/sys path.
	Sysctls map[string]string `json:"sysctls"`
	// Procs are the processes Up started, in start order.
	Procs []Proc `json:"procs"`
	// Netns are the network namespaces under /var/run/netns that existed before Up.
	Netns []string `json:"netns"`
	// Token is the admin bearer token.
	Token string `json:"token"`
}

// Proc is one started process.
type Proc struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Path string `json:"path"`
}

func (c Config) loadState() (*State, error) {
	b, err := os.ReadFile(c.path("state.json"))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", c.path("state.json"), err)
	}
	return &s, nil
}

func (c Config) saveState(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.path("state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return os.Rename(tmp, c.path("state.json"))
}

// Running reports whether a node recorded in the state directory is up (every process alive).
func (c Config) Running() bool {
	s, err := c.loadState()
	if err != nil || len(s.Procs) == 0 {
		return false
	}
	for _, p := range s.Procs {
		if !alive(p) {
			return false
		}
	}
	return true
}

var errNotRoot = errors.New("the node needs root (network namespaces, mounts, iptables, cgroups)")
