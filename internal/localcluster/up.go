package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// NumVolumes is how many hostPath PersistentVolumes the node offers.
const NumVolumes = 10

// Up starts the node (or returns at once when it runs already) and waits until the node is
// Ready and CoreDNS answers. On failure the node is left for Down to clean up.
func (c Config) Up(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errNotRoot
	}
	if c.Running() {
		c.Log.Info("node already up", "kubeconfig", c.Kubeconfig())
		return nil
	}
	if _, err := os.Stat(c.path("state.json")); err == nil {
		return fmt.Errorf("%s holds a node that is not fully running: run `make cluster-down` first", c.StateDir)
	}
	t, err := FindTools()
	if err != nil {
		return err
	}
	start := time.Now()
	for _, d := range []string{"logs", "etcd", "containerd/certs.d/_default", "kubelet", "cni/net.d", "cni/ipam", "volumes", "images"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	s := &State{}
	if s.Sysctls, err = ReadSysctls(Sysctls); err != nil {
		return err
	}
	s.Netns, _ = listNetns()
	if err := c.saveState(s); err != nil {
		return err
	}
	c.Log.Info("recorded kernel settings", "sysctls", s.Sysctls)
	if s.Token, err = c.writePKI(); err != nil {
		return err
	}
	if err := c.saveState(s); err != nil {
		return err
	}
	caPEM, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return err
	}
	// an admin kubeconfig that verifies the API server against the node's CA
	adminKC, err := TokenKubeconfig(fmt.Sprintf("https://%s:%d", NodeIP, APIPort), caPEM, s.Token)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	files := map[string]string{
		c.Kubeconfig():                      string(adminKC),
		c.path("containerd", "config.toml"): c.containerdConfig(t),
		c.path("containerd", "certs.d", "_default", "hosts.toml"): noPullHosts,
		c.path("cni", "net.d", "10-edgeframe.conflist"):           c.cniConfig(),
		c.path("kubelet-config.yaml"):                             c.kubeletConfig(),
		c.path("kube-proxy-config.yaml"):                          c.kubeProxyConfig(),
		// Pods with dnsPolicy Default (CoreDNS) get no upstream resolver: nothing leaves the machine.
		c.path("resolv.conf"): "options ndots:1\n",
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	if err := c.netUp(ctx, t); err != nil {
		return err
	}

	// Control plane.
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort)
	if err := c.start(s, "etcd", t.Etcd, []string{
		"--data-dir", c.path("etcd"), "--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer,
		"--unsafe-no-fsync", "--log-level", "warn",
	}, nil); err != nil {
		return err
	}
	if err := poll(ctx, "etcd", time.Minute, supervise.LoopbackHTTPSReady(etcdURL+"/health", "")); err != nil {
		return err
	}
	apiURL := fmt.Sprintf("https://%s:%d", NodeIP, APIPort)
	if err := c.start(s, "kube-apiserver", t.APIServer, []string{
		"--etcd-servers", etcdURL,
		"--bind-address", NodeIP, "--secure-port", strconv.Itoa(APIPort), "--advertise-address", NodeIP,
		"--tls-cert-file", c.path("pki", "apiserver.crt"), "--tls-private-key-file", c.path("pki", "apiserver.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", c.path("pki", "sa.pub"), "--service-account-signing-key-file", c.path("pki", "sa.key"),
		"--service-cluster-ip-range", ServiceCIDR, "--token-auth-file", c.path("pki", "tokens.csv"),
		"--authorization-mode", "AlwaysAllow", "--allow-privileged=true",
		"--kubelet-preferred-address-types", "InternalIP",
	}, nil); err != nil {
		return err
	}
	if err := poll(ctx, "kube-apiserver", 3*time.Minute, supervise.LoopbackHTTPSReady(apiURL+"/readyz", s.Token)); err != nil {
		return err
	}
	kc := c.Kubeconfig()
	if err := c.start(s, "kube-controller-manager", t.ControllerManager, []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(kcmPort),
		"--service-account-private-key-file", c.path("pki", "sa.key"), "--root-ca-file", c.path("pki", "ca.crt"),
		"--leader-elect=false", "--use-service-account-credentials=false", "--controllers", "*,-nodeipam",
	}, nil); err != nil {
		return err
	}
	if err := c.start(s, "kube-scheduler", t.Scheduler, []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedulerPort), "--leader-elect=false",
	}, nil); err != nil {
		return err
	}
	for name, port := range map[string]int{"kube-controller-manager": kcmPort, "kube-scheduler": schedulerPort} {
		if err := poll(ctx, name, 2*time.Minute, supervise.LoopbackHTTPSReady(fmt.Sprintf("https://127.0.0.1:%d/healthz", port), "")); err != nil {
			return err
		}
	}

	// Container runtime and the node's own images.
	env := []string{"PATH=" + filepath.Dir(t.Shim) + ":" + os.Getenv("PATH")}
	if err := c.start(s, "containerd", t.Containerd, []string{"--config", c.path("containerd", "config.toml")}, env); err != nil {
		return err
	}
	if err := poll(ctx, "containerd", time.Minute, func(ctx context.Context) error {
		_, err := run(ctx, t.Ctr, "--address", c.containerdSock(), "version")
		return err
	}); err != nil {
		return err
	}
	if err := c.ImportNodeImages(ctx, t); err != nil {
		return err
	}

	// Node.
	if err := c.start(s, "kubelet", t.Kubelet, []string{
		"--config", c.path("kubelet-config.yaml"), "--kubeconfig", kc, "--root-dir", c.path("kubelet"),
		"--hostname-override", NodeName, "--node-ip", NodeIP, "--v", "1",
	}, env); err != nil {
		return err
	}
	if err := c.start(s, "kube-proxy", t.KubeProxy, []string{"--config", c.path("kube-proxy-config.yaml")}, env); err != nil {
		return err
	}
	if err := poll(ctx, "kubelet", 2*time.Minute, supervise.LoopbackHTTPSReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", kubeletHealthzPort), "")); err != nil {
		return err
	}
	if err := poll(ctx, "node "+NodeName+" Ready", 3*time.Minute, func(ctx context.Context) error {
		out, err := c.kubectl(ctx, "get", "node", NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "True" {
			return fmt.Errorf("Ready=%q", out)
		}
		return nil
	}); err != nil {
		return err
	}

	// Cluster add-ons: CoreDNS, the storage class and its volumes.
	if err := c.apply(ctx, addons()); err != nil {
		return err
	}
	if err := c.ensureVolumes(ctx); err != nil {
		return err
	}
	if err := poll(ctx, "CoreDNS", 3*time.Minute, func(ctx context.Context) error {
		out, err := c.kubectl(ctx, "-n", "kube-system", "get", "deploy", "coredns", "-o", "jsonpath={.status.readyReplicas}")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "1" {
			return errors.New("coredns has no ready replica")
		}
		return nil
	}); err != nil {
		return err
	}
	c.Log.Info("node up", "kubeconfig", c.Kubeconfig(), "seconds", int(time.Since(start).Seconds()))
	return nil
}

// ensureVolumes creates the hostPath volumes (directories writable by the pods' non-root users)
// and makes released ones available again (their data wiped), so a second install binds.
func (c Config) ensureVolumes(ctx context.Context) error {
	var docs []string
	for i := 0; i < NumVolumes; i++ {
		name := fmt.Sprintf("local-pv-%d", i)
		dir := c.path("volumes", name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil { //nolint:gosec // a pod volume for any non-root uid
			return err
		}
		docs = append(docs, persistentVolume(name, dir))
	}
	return c.apply(ctx, strings.Join(docs, "---\n"))
}

// RecycleVolumes wipes and frees every Released volume of the node.
func (c Config) RecycleVolumes(ctx context.Context) error {
	out, err := c.kubectl(ctx, "get", "pv", "-l", "edgeframe.io/local-volume=true",
		"-o", `jsonpath={range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}`)
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(out) {
		dir := c.path("volumes", name)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		if _, err := c.kubectl(ctx, "patch", "pv", name, "--type=json", `-p=[{"op":"remove","path":"/spec/claimRef"}]`); err != nil {
			return err
		}
	}
	return nil
}

// kubectl runs kubectl against the node.
func (c Config) kubectl(ctx context.Context, args ...string) (string, error) {
	k := toolPath("kubectl")
	if k == "" {
		return "", errors.New("kubectl is not installed: run `make tools` (build/tools/30-kubernetes.sh)")
	}
	return run(ctx, k, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
}

// apply server-side-applies YAML documents.
func (c Config) apply(ctx context.Context, yaml string) error {
	f, err := os.CreateTemp(c.StateDir, "apply-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(yaml); err != nil {
		f.Close()
		return err
	}
	f.Close()
	_, err = c.kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager", fieldManager, "-f", f.Name())
	return err
}
