// Package kubeenv runs a real Kubernetes control plane for tests: etcd and kube-apiserver
// (StartAPIServer), and a fake cluster around it with a kwok node (StartFakeCluster), as
// testenv child processes.
//
// It is a package of its own because it links the Kubernetes client libraries: a test
// binary that imports only testenv stays small and links fast (`make test-short`).
package kubeenv

import (
	"github.com/edgeframe/edgeframe/internal/localcluster"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// API is a real kube-apiserver on loopback backed by a real etcd, both from
// `make tools` (build/tools/30-kubernetes.sh), with static-token admin access.
type API struct {
	// Kubeconfig is the path of a kubeconfig for the admin user.
	Kubeconfig string
	// RESTConfig is the same access for client-go.
	RESTConfig *rest.Config
	// URL is https://127.0.0.1:<port>.
	URL string
	// Dir holds the certificates, keys and token file (sa.key is the service-account key).
	Dir string

	Etcd, APIServer *testenv.Process
}

// StartAPIServer starts etcd and kube-apiserver (authorization AlwaysAllow, the
// ServiceAccount admission plugin off, PodSecurity admission on) and waits for /readyz.
func StartAPIServer(t testing.TB) *API {
	t.Helper()
	return StartAPIServerWith(t, Options{})
}

// Options changes how StartAPIServerWith configures the API server.
type Options struct {
	// RBAC authorizes requests with RBAC (the admin user is in system:masters) instead of
	// allowing everything, so a test can check what a ServiceAccount's Roles let it do.
	RBAC bool
}

// StartAPIServerWith is StartAPIServer with options.
func StartAPIServerWith(t testing.TB, opt Options) *API {
	t.Helper()
	authz := "AlwaysAllow"
	if opt.RBAC {
		authz = "RBAC"
	}
	etcdBin := testenv.Tool(t, "etcd")
	apiBin := testenv.Tool(t, "kube-apiserver")
	dir := t.TempDir()
	k := &API{Dir: dir}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tokenBytes := make([]byte, 16)
	if _, err := rand.Read(tokenBytes); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(tokenBytes)
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(token + `,admin,1000,"system:masters"` + "\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	clientPort, peerPort := testenv.FreePort(t), testenv.FreePort(t)
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	k.Etcd = testenv.StartProcess(t, testenv.ProcSpec{
		Name: "etcd",
		Path: etcdBin,
		Args: []string{
			"--data-dir", filepath.Join(dir, "etcd"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "default=" + peer,
			"--unsafe-no-fsync", "--log-level", "warn",
		},
		Ready: supervise.HTTPReady(client + "/health"),
	})

	port := testenv.FreePort(t)
	k.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	k.APIServer = testenv.StartProcess(t, testenv.ProcSpec{
		Name: "kube-apiserver",
		Path: apiBin,
		Args: []string{
			"--etcd-servers", client,
			"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
			"--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none",
			"--cert-dir", filepath.Join(dir, "certs"),
			"--service-account-issuer", "https://kubernetes.default.svc",
			"--service-account-key-file", filepath.Join(dir, "sa.pub"),
			"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
			"--service-cluster-ip-range", "10.0.0.0/24",
			"--token-auth-file", filepath.Join(dir, "tokens.csv"),
			"--authorization-mode", authz,
			"--disable-admission-plugins", "ServiceAccount",
			"--allow-privileged=true",
		},
		ReadyTimeout: 3 * time.Minute,
		Ready:        supervise.LoopbackHTTPSReady(k.URL+"/readyz", token),
	})

	k.RESTConfig = &rest.Config{
		Host:            k.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
	}
	k.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc, err := localcluster.TokenKubeconfig(k.URL, nil, token)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.Kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// FakeCluster is an API server with kube-controller-manager, kube-scheduler and kwok: Deployments
// create pods, the scheduler binds them to a kwok node and kwok reports them Running and
// Ready (no container runs).
type FakeCluster struct {
	*API
	ControllerManager, Scheduler, Kwok *testenv.Process
	// Node is the name of the fake node (annotation kwok.x-k8s.io/node: fake, no taint).
	Node string
}

// StartFakeCluster starts an API server plus controllers, scheduler and kwok with one fake node
// (32 CPU, 256 GiB, 250 pods).
func StartFakeCluster(t testing.TB) *FakeCluster {
	t.Helper()
	kcm := testenv.Tool(t, "kube-controller-manager")
	sched := testenv.Tool(t, "kube-scheduler")
	kwok := testenv.Tool(t, "kwok")
	stages := filepath.Join(filepath.Dir(kwok), "stage")
	if _, err := os.Stat(filepath.Join(stages, "pod", "fast")); err != nil {
		msg := "kwok stage configs missing next to " + kwok + ": run `make tools` (build/tools/31-kwok.sh)"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	k := StartAPIServer(t)
	fc := &FakeCluster{API: k, Node: "kwok-node-0"}
	kc := k.Kubeconfig

	kcmPort := testenv.FreePort(t)
	fc.ControllerManager = testenv.StartProcess(t, testenv.ProcSpec{
		Name: "kube-controller-manager",
		Path: kcm,
		Args: []string{
			"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
			"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(kcmPort),
			"--service-account-private-key-file", filepath.Join(k.Dir, "sa.key"),
			"--leader-elect=false", "--controllers", "*,-serviceaccount-token,-nodeipam",
			"--use-service-account-credentials=false",
			"--concurrent-deployment-syncs", "10", "--concurrent-replicaset-syncs", "10",
		},
		ReadyTimeout: 2 * time.Minute,
		Ready:        supervise.LoopbackHTTPSReady(fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort), ""),
	})
	schedPort := testenv.FreePort(t)
	fc.Scheduler = testenv.StartProcess(t, testenv.ProcSpec{
		Name: "kube-scheduler",
		Path: sched,
		Args: []string{
			"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
			"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedPort), "--leader-elect=false",
		},
		ReadyTimeout: 2 * time.Minute,
		Ready:        supervise.LoopbackHTTPSReady(fmt.Sprintf("https://127.0.0.1:%d/healthz", schedPort), ""),
	})
	args := []string{"--kubeconfig", kc,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--manage-nodes-with-label-selector=", "--cidr=10.244.0.1/16", "--node-ip=10.0.0.1",
		"--server-address", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"--config", filepath.Join(stages, "node", "fast", "node-initialize.yaml"),
		"--config", filepath.Join(stages, "node", "heartbeat", "node-heartbeat.yaml"),
	}
	pods, _ := filepath.Glob(filepath.Join(stages, "pod", "fast", "*.yaml"))
	for _, p := range pods {
		args = append(args, "--config", p)
	}
	fc.Kwok = testenv.StartProcess(t, testenv.ProcSpec{Name: "kwok", Path: kwok, Args: args, Ready: func(context.Context) error { return nil }})
	createFakeNode(t, fc)
	return fc
}

// createFakeNode creates the kwok node through the API server with the admin token.
func createFakeNode(t testing.TB, fc *FakeCluster) {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":%q,"kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"250"},"capacity":{"cpu":"32","memory":"256Gi","pods":"250"}}}`,
		fc.Node, fc.Node)
	client, err := rest.HTTPClientFor(fc.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, fc.URL+"/api/v1/nodes", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("create kwok node: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create kwok node: %s", resp.Status)
	}
}
