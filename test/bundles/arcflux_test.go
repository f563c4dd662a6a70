package bundles_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
	"github.com/edgeframe/edgeframe/test/azurefake"
)

// memAgents stands in for the Helm release of the Arc agents (the Kubernetes/Helm seam).
type memAgents struct {
	mu       sync.Mutex
	releases map[string]*agents.Release
}

func (m *memAgents) Get(_ context.Context, ns, name string) (*agents.Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.releases[ns+"/"+name], nil
}

func (m *memAgents) Apply(_ context.Context, r agents.Request) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releases[r.Namespace+"/"+r.Name] = &agents.Release{Name: r.Name, Namespace: r.Namespace, Revision: 1, Status: "deployed", Values: r.Values}
	return true, nil
}

func (m *memAgents) Uninstall(_ context.Context, ns, name string, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.releases[ns+"/"+name]
	delete(m.releases, ns+"/"+name)
	return ok, nil
}

// runner runs arcflux steps exactly as porter's runtime does: one step per call on stdin,
// templates resolved, outputs harvested from the outputs directory after every step.
type runner struct {
	t      *testing.T
	arm    *azurefake.ARM
	mixin  *arcflux.Mixin
	outDir string
	stdout bytes.Buffer
	agents *memAgents
}

func newRunner(t *testing.T) *runner {
	const sub = "00000000-0000-0000-0000-000000000001"
	a := azurefake.New(sub)
	dataPlane := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/azure-arc-k8sagents/GetLatestHelmPackagePath") {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"repositoryPath":"mcr.microsoft.com/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10"}`)
	}))
	t.Cleanup(dataPlane.Close)
	kube := k8sfake.NewSimpleClientset(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux", KubeletVersion: "v1.37.2"}},
	})
	mem := &memAgents{releases: map[string]*agents.Release{}}
	r := &runner{t: t, arm: a, outDir: t.TempDir(), agents: mem}
	env := map[string]string{"AZURE_SUBSCRIPTION_ID": sub, "AZURE_TENANT_ID": a.TenantID, "HOME": t.TempDir()}
	r.mixin = &arcflux.Mixin{
		Out: &r.stdout, Err: &r.stdout, OutputsDir: r.outDir,
		Getenv: func(k string) string { return env[k] },
		Azure: arcflux.SDKAzure{
			Credential: azurefake.Credential(), Transport: a.Transport(),
			Retry:     policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
			DataPlane: func(string) string { return dataPlane.URL },
			HTTP:      dataPlane.Client(),
		},
		Kube: func(string, string, func(string, ...any)) (arcflux.KubeClients, error) {
			return arcflux.KubeClients{Kube: kube, Agents: mem}, nil
		},
		Poll: time.Millisecond,
	}
	return r
}

// run executes every arcflux step of the bundle's action, harvesting outputs into smp.
func (r *runner) run(b bundle, action string, smp *samples) {
	t := r.t
	for _, s := range b.steps(action) {
		if s.Mixin != "arcflux" {
			continue
		}
		body := smp.resolve(t, s.Body)
		in, err := yaml.Marshal(map[string]any{action: []any{map[string]any{"arcflux": body}}})
		if err != nil {
			t.Fatal(err)
		}
		r.mixin.In = bytes.NewReader(in)
		if err := r.mixin.Execute(context.Background(), arcflux.ExecuteOptions{Action: action}); err != nil {
			t.Fatalf("%s/%s: %v\nstdin:\n%s\noutput:\n%s", b.Name, s, err, in, r.stdout.String())
		}
		entries, _ := os.ReadDir(r.outDir)
		for _, e := range entries {
			v, err := os.ReadFile(filepath.Join(r.outDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			smp.outputs[e.Name()] = string(v)
			os.Remove(filepath.Join(r.outDir, e.Name()))
		}
	}
}

// mutations are the recorded ARM writes, in order.
func (r *runner) mutations() []string {
	var out []string
	for _, c := range r.arm.Calls {
		op, target, _ := strings.Cut(c, " ")
		if strings.HasSuffix(op, ".put") || strings.HasSuffix(op, ".delete") || strings.HasSuffix(op, ".patch") {
			out = append(out, op+" "+target[strings.LastIndex(target, "/")+1:])
		}
	}
	r.arm.Calls = nil
	return out
}

func byName(t *testing.T) map[string]bundle {
	out := map[string]bundle{}
	for _, b := range loadBundles(t) {
		out[b.Name] = b
	}
	return out
}

// The arcflux steps of the layered bundles, installed infrastructure → platform → application
// and uninstalled in reverse, perform the expected ARM calls in order, produce the outputs
// the next layer consumes, and a second uninstall finds everything gone and succeeds.
func TestArcfluxStepsAgainstTheAzureFakes(t *testing.T) {
	bs := byName(t)
	r := newRunner(t)
	layers := []string{"infrastructure", "platform", "application"}
	smps := map[string]*samples{}
	for _, l := range layers {
		s := newSamples(t, bs[l], "l3")
		s.creds["gitops-token"] = "ghp_secret-token-value"
		smps[l] = &s
	}
	// Install, feeding each layer's outputs to the next as the example parameter sets do.
	r.run(bs["infrastructure"], "install", smps["infrastructure"])
	got := r.mutations()
	wantPrefix(t, "infrastructure install", got, "resourceGroups.put rg-edge-l3", "connectedClusters.put edge-l3")
	agentProxy(t, r, nil) // the proxy parameters default to "": no proxy
	id := smps["infrastructure"].outputs["connected-cluster-id"]
	if !strings.HasSuffix(id, "/providers/Microsoft.Kubernetes/connectedClusters/edge-l3") {
		t.Fatalf("connected-cluster-id output %q", id)
	}
	smps["platform"].params["connected-cluster-id"] = id

	r.run(bs["platform"], "install", smps["platform"])
	wantExactly(t, "platform install", r.mutations(), "extensions.put flux", "fluxConfigurations.put edge-platform")
	if got := smps["platform"].outputs["platform-flux-config-id"]; !strings.Contains(got, "/fluxConfigurations/edge-platform") {
		t.Fatalf("platform-flux-config-id output %q", got)
	}

	r.run(bs["application"], "install", smps["application"])
	wantExactly(t, "application install", r.mutations(), "fluxConfigurations.put edge-apps")
	apps, ok := r.arm.Configuration("rg-edge-l3", "edge-l3", "edge-apps")
	if !ok {
		t.Fatal("edge-apps configuration missing after install")
	}
	subst := apps.Properties.Kustomizations["apps"].PostBuild.Substitute
	want := smps["application"].workloads["opcplc"].Digest
	if got := subst["opcplcDigest"]; got == nil || *got != want {
		t.Errorf("Flux substitutes opcplcDigest=%v, the staged manifest has %s", got, want)
	}
	if got := subst["gatewayClientId"]; got == nil || *got != "sample-gateway-client-id" {
		t.Errorf("Flux substitutes gatewayClientId=%v, want the az step output", got)
	}

	// Upgrade is create-or-update: the configuration is PUT again (the existing extension may
	// be left alone or updated), nothing is deleted.
	r.run(bs["platform"], "upgrade", smps["platform"])
	up := r.mutations()
	if len(up) == 0 || up[len(up)-1] != "fluxConfigurations.put edge-platform" || strings.Contains(strings.Join(up, " "), ".delete") {
		t.Errorf("platform upgrade: ARM writes %v, want the edge-platform configuration PUT and no delete", up)
	}

	// Uninstall in reverse layer order.
	for round := 1; round <= 2; round++ {
		r.run(bs["application"], "uninstall", smps["application"])
		r.run(bs["platform"], "uninstall", smps["platform"])
		r.run(bs["infrastructure"], "uninstall", smps["infrastructure"])
		got := r.mutations()
		if round == 1 {
			wantExactly(t, "uninstall", got,
				"fluxConfigurations.delete edge-apps", "fluxConfigurations.delete edge-platform",
				"extensions.delete flux", "connectedClusters.delete edge-l3")
		}
		t.Logf("uninstall round %d: %v", round, got)
	}
	if _, ok := r.arm.Cluster("rg-edge-l3", "edge-l3"); ok {
		t.Error("connected cluster left after uninstall")
	}
	if _, ok := r.arm.Configuration("rg-edge-l3", "edge-l3", "edge-platform"); ok {
		t.Error("platform configuration left after uninstall")
	}
	if strings.Contains(r.stdout.String(), "ghp_secret-token-value") {
		t.Error("the GitOps token was printed")
	}
}

// agentProxy checks the proxy values of the Arc agents' release (want nil: none at all).
func agentProxy(t *testing.T, r *runner, want map[string]any) {
	t.Helper()
	rel, _ := r.agents.Get(context.Background(), "azure-arc-release", "azure-arc")
	if rel == nil {
		t.Fatal("no Arc agents release")
	}
	global, _ := rel.Values["global"].(map[string]any)
	for _, k := range []string{"isProxyEnabled", "httpProxy", "httpsProxy", "noProxy", "proxyCert"} {
		got, ok := global[k]
		if w, wok := want[k]; wok != ok || (ok && got != w) {
			t.Errorf("agents' global.%s = %v (set %v), want %v (set %v)", k, got, ok, w, wok)
		}
	}
}

// The infrastructure bundle's proxy parameters reach the Arc agents' Helm values through the
// connect step's proxy block, CA certificate included; a CA without a proxy is an error.
func TestInfrastructureProxyParametersReachTheAgents(t *testing.T) {
	infra := byName(t)["infrastructure"]
	r := newRunner(t)
	smp := newSamples(t, infra, "l3")
	ca := filepath.Join(t.TempDir(), "proxy-ca.crt")
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(ca, []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	smp.params["http-proxy"] = "http://proxy.site.example:3128"
	smp.params["https-proxy"] = "http://proxy.site.example:3128"
	smp.params["no-proxy"] = "10.0.0.0/8,.svc,.cluster.local"
	smp.params["proxy-ca-cert"] = ca
	r.run(infra, "install", &smp)
	agentProxy(t, r, map[string]any{
		"isProxyEnabled": true,
		"httpProxy":      "http://proxy.site.example:3128",
		"httpsProxy":     "http://proxy.site.example:3128",
		"noProxy":        "10.0.0.0/8,.svc,.cluster.local",
		"proxyCert":      pem,
	})
	// The defaults ("") mean no proxy: TestArcfluxStepsAgainstTheAzureFakes.
	for _, n := range []string{"http-proxy", "https-proxy", "no-proxy"} {
		smp.params[n] = ""
	}
	// A CA without a proxy is rejected by the mixin, naming the field.
	smp.params["proxy-ca-cert"] = ca
	body := smp.resolve(t, connectStep(t, infra).Body)
	in, _ := yaml.Marshal(map[string]any{"install": []any{map[string]any{"arcflux": body}}})
	r.mixin.In = bytes.NewReader(in)
	err := r.mixin.Execute(context.Background(), arcflux.ExecuteOptions{Action: "install"})
	if err == nil || !strings.Contains(err.Error(), "connect.proxy.caCertFile: \""+ca+"\" is set but neither httpProxy nor httpsProxy is") {
		t.Errorf("a CA without a proxy: %v", err)
	}
}

func connectStep(t *testing.T, b bundle) step {
	for _, s := range b.steps("install") {
		if _, ok := s.Body["connect"]; ok && s.Mixin == "arcflux" {
			return s
		}
	}
	t.Fatalf("%s has no connect step", b.Name)
	return step{}
}

// With delivery=offline the application bundle's arcflux steps make no Azure call at all
// (they print "skipped"), on install, upgrade and uninstall; the Flux configuration output
// is empty. The gitops branch is TestArcfluxStepsAgainstTheAzureFakes.
func TestArcfluxStepsOfflineDelivery(t *testing.T) {
	app := byName(t)["application"]
	r := newRunner(t)
	smp := newSamples(t, app, "l4")
	smp.params["delivery"] = "offline"
	for _, action := range []string{"install", "upgrade", "uninstall"} {
		r.run(app, action, &smp)
		if len(r.arm.Calls) != 0 {
			t.Errorf("%s with delivery=offline called Azure: %v", action, r.arm.Calls)
		}
		if action != "uninstall" {
			if got, ok := smp.outputs["apps-flux-config-id"]; !ok || got != "" {
				t.Errorf("%s: apps-flux-config-id output %q (present %v), want empty", action, got, ok)
			}
		}
	}
	if n := strings.Count(r.stdout.String(), "skipped: "); n != 3 {
		t.Errorf("%d skipped lines, want 3:\n%s", n, r.stdout.String())
	}
}

func wantExactly(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: ARM writes\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func wantPrefix(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: ARM writes\n  %s\nwant them to start with\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// The mixin's own lint (what `porter lint`/`build` runs) finds no error in any bundle's arcflux
// steps, and no constant step condition (arcflux-107).
func TestArcfluxLintOfTheBundles(t *testing.T) {
	for _, b := range loadBundles(t) {
		actions := b.mixinActions("arcflux")
		if len(actions) == 0 {
			continue
		}
		in, err := yaml.Marshal(map[string]any{"actions": actions})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		m := &arcflux.Mixin{In: bytes.NewReader(in), Out: &out, Err: &out}
		if err := m.PrintLint(); err != nil {
			t.Fatalf("%s: lint: %v", b.Name, err)
		}
		var results []arcflux.LintResult
		if err := json.Unmarshal(out.Bytes(), &results); err != nil {
			t.Fatalf("%s: lint output %s: %v", b.Name, out.String(), err)
		}
		for _, r := range results {
			if r.Level == arcflux.LevelError || r.Code == arcflux.CodeConstantWhen {
				t.Errorf("%s: %s step %d (%s): %s %s", b.Name, r.Location.Action, r.Location.StepNumber, r.Location.StepDescription, r.Code, r.Message)
			}
		}
	}
}
