package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
	"github.com/edgeframe/edgeframe/mixin/pkg/arcflux"
	"github.com/edgeframe/edgeframe/pkg/version"
	"github.com/edgeframe/edgeframe/test/azurefake"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const sub = "00000000-0000-0000-0000-000000000001"

// onboarded stores the L3 cluster as an earlier connect step would have.
func onboarded(a *azurefake.ARM) {
	a.PutCluster("rg-edge-l3", "l3-site-01", armhybridkubernetes.ConnectedCluster{
		Location: to.Ptr("westeurope"),
		Properties: &armhybridkubernetes.ConnectedClusterProperties{
			ConnectivityStatus: to.Ptr(armhybridkubernetes.ConnectivityStatusConnected),
			AgentVersion:       to.Ptr("1.21.10"), KubernetesVersion: to.Ptr("1.37.2"), Distribution: to.Ptr("k3s"),
			ProvisioningState: to.Ptr(armhybridkubernetes.ProvisioningStateSucceeded),
		},
	})
}

type cmdCase struct {
	name     string
	args     []string
	input    string // file in testdata fed on stdin
	env      map[string]string
	arm      func(t *testing.T, m *arcflux.Mixin, a *azurefake.ARM)
	wantCode int
	check    func(t *testing.T, a *azurefake.ARM)
	// dataPlane is the Arc data-plane base URL.
	dataPlane string
	// shared, when set, is the ARM the case runs against (state across cases).
	shared *azurefake.ARM
	// normalise rewrites stdout before the golden comparison (random keys).
	normalise func([]byte) []byte
	// forbid lists secrets that must appear in no stream and no output file.
	forbid []string
}

func runCase(t *testing.T, tc cmdCase) {
	version.Version, version.Commit = "v0.1.0", "abc1234"
	a := tc.shared
	if a == nil {
		a = azurefake.New(sub)
	}
	var stdout, stderr bytes.Buffer
	outDir := t.TempDir()
	env := map[string]string{"AZURE_SUBSCRIPTION_ID": sub}
	for k, v := range tc.env {
		env[k] = v
	}
	m := &arcflux.Mixin{
		Out: &stdout, Err: &stderr, OutputsDir: outDir,
		Getenv: func(k string) string { return env[k] },
		Debug:  env["PORTER_DEBUG"] == "true",
		Azure: arcflux.SDKAzure{
			Credential: azurefake.Credential(), Transport: a.Transport(),
			Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
		},
		Poll: time.Millisecond,
	}
	if tc.dataPlane != "" {
		az := m.Azure.(arcflux.SDKAzure)
		az.DataPlane = func(string) string { return tc.dataPlane }
		m.Azure = az
	}
	if tc.input != "" {
		f, err := os.Open(filepath.Join("testdata", tc.input))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m.In = f
	} else {
		m.In = strings.NewReader("")
	}
	if tc.arm != nil {
		tc.arm(t, m, a)
	}
	code := run(context.Background(), m, tc.args)
	if code != tc.wantCode {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
	}
	out := stdout.Bytes()
	if tc.normalise != nil {
		out = tc.normalise(out)
	}
	golden(t, tc.name+".stdout", out)
	golden(t, tc.name+".stderr", stderr.Bytes())
	entries, _ := os.ReadDir(outDir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, _ := os.ReadFile(filepath.Join(outDir, e.Name()))
		golden(t, filepath.Join(tc.name+".outputs", e.Name()), b)
	}
	for _, secret := range tc.forbid {
		for what, b := range map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s echoes the secret %q", what, secret)
			}
		}
		for _, n := range names {
			if b, _ := os.ReadFile(filepath.Join(outDir, n)); bytes.Contains(b, []byte(secret)) {
				t.Errorf("output %s holds the secret %q", n, secret)
			}
		}
	}
	sort.Strings(names)
	golden(t, tc.name+".outputs.list", []byte(strings.Join(names, "\n")))
	if tc.check != nil {
		tc.check(t, a)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run go test -run %s -update)", path, err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// installFirst runs the install step of a testdata file through the same command path, with
// its own output streams and outputs directory, as an earlier step would have.
func installFirst(t *testing.T, m *arcflux.Mixin, input string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", input))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	m2 := *m
	m2.In, m2.Out, m2.OutputsDir = f, &out, t.TempDir()
	if code := run(context.Background(), &m2, []string{"install"}); code != 0 {
		t.Fatalf("install of %s failed: %s", input, out.String())
	}
}

func TestCommands(t *testing.T) {
	cases := []cmdCase{
		{name: "version-json", args: []string{"version", "--output", "json"}},
		{name: "version-plaintext", args: []string{"version"}},
		{name: "version-bad-format", args: []string{"version", "-o", "yaml"}, wantCode: 1},
		{name: "build", args: []string{"build"}, input: "build-input.yaml"},
		{name: "build-config", args: []string{"build"}, input: "build-input-config.yaml"},
		{name: "build-invalid", args: []string{"build"}, input: "build-input-invalid.yaml", wantCode: 1},
		{name: "lint", args: []string{"lint"}, input: "lint-input.yaml"},
		{name: "lint-clean", args: []string{"lint"}, input: "lint-input-clean.yaml"},
		{
			name: "flux-install", args: []string{"install"}, input: "flux-install.yaml",
			forbid: []string{"ghp_s3cr3t-token-value", "Z2hwX3MzY3IzdC10b2tlbi12YWx1ZQ=="},
			arm:    func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a); a.CompliantAfterGets = 2 },
			check: func(t *testing.T, a *azurefake.ARM) {
				fc, ok := a.Configuration("rg-edge-l3", "l3-site-01", "platform")
				if !ok {
					t.Fatal("configuration not created")
				}
				// the credential went to ARM as a protected setting, base64-encoded
				if got := *fc.Properties.ConfigurationProtectedSettings["httpsKey"]; got != "Z2hwX3MzY3IzdC10b2tlbi12YWx1ZQ==" {
					t.Errorf("httpsKey protected setting = %q", got)
				}
				if got := *fc.Properties.GitRepository.SyncIntervalInSeconds; got != 300 {
					t.Errorf("syncInterval = %d s", got)
				}
				if got := *fc.Properties.ReconciliationWaitDuration; got != "PT10M" {
					t.Errorf("reconciliationWaitDuration = %s", got)
				}
			},
		},
		{
			name: "flux-install-suppressed", args: []string{"install"}, input: "flux-install-suppressed.yaml",
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a) },
		},
		{
			name: "flux-install-debug", args: []string{"install"}, input: "flux-install-suppressed.yaml",
			forbid: []string{"minio-secret-key"},
			env:    map[string]string{"PORTER_DEBUG": "true"},
			arm:    func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a) },
		},
		{
			name: "flux-install-throttled", args: []string{"install", "-f", filepath.Join("testdata", "flux-install-suppressed.yaml")},
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) {
				onboarded(a)
				a.Throttle[azurefake.ExtensionList] = 1
				a.Throttle[azurefake.ConfigPut] = 2
			},
			check: func(t *testing.T, a *azurefake.ARM) {
				if n := a.CallCount(azurefake.ConfigPut); n != 3 {
					t.Errorf("configuration PUT attempts = %d, want 3", n)
				}
			},
		},
		{
			name: "flux-install-no-cluster", args: []string{"install"}, input: "flux-install-suppressed.yaml", wantCode: 1,
		},
		{
			name: "flux-install-conflict-ignored", args: []string{"install"}, input: "flux-install-conflict-ignored.yaml",
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) {
				onboarded(a)
				a.Fail[azurefake.ConfigPut] = azurefake.Failure{Status: 409, Code: "Conflict"}
			},
		},
		{name: "flux-install-invalid", args: []string{"install"}, input: "flux-install-invalid.yaml", wantCode: 1, forbid: []string{"do-not-print-me"}},
		{name: "lint-secret", args: []string{"lint"}, input: "lint-input.yaml", forbid: []string{"hunter2"}},
		{name: "flux-install-unknown-field", args: []string{"install"}, input: "flux-install-unknown-field.yaml", wantCode: 1},
		{name: "flux-install-wrong-action", args: []string{"upgrade"}, input: "flux-install.yaml", wantCode: 1},
		{
			name: "flux-uninstall", args: []string{"uninstall"}, input: "flux-uninstall.yaml",
			arm: func(t *testing.T, m *arcflux.Mixin, a *azurefake.ARM) {
				onboarded(a)
				installFirst(t, m, "flux-install.yaml")
			},
			check: func(t *testing.T, a *azurefake.ARM) {
				if _, ok := a.Configuration("rg-edge-l3", "l3-site-01", "platform"); ok {
					t.Error("configuration still present")
				}
				if _, ok := a.Extension("rg-edge-l3", "l3-site-01", "flux"); ok {
					t.Error("extension still present")
				}
			},
		},
		{
			name: "flux-uninstall-absent", args: []string{"uninstall"}, input: "flux-uninstall.yaml",
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a) },
		},
		{
			name: "status-invoke", args: []string{"invoke", "--action", "status"}, input: "status-invoke.yaml",
			arm: func(t *testing.T, m *arcflux.Mixin, a *azurefake.ARM) {
				onboarded(a)
				a.CompliantAfterGets = 0
				installFirst(t, m, "flux-install.yaml")
			},
		},
		{
			name: "flux-install-when-skipped", args: []string{"install"}, input: "flux-install-when-skipped.yaml",
			check: func(t *testing.T, a *azurefake.ARM) {
				if len(a.Calls) != 0 {
					t.Errorf("a skipped step called Azure: %v", a.Calls)
				}
			},
		},
		{
			name: "flux-install-when-runs", args: []string{"install"}, input: "flux-install-when-runs.yaml",
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a) },
			check: func(t *testing.T, a *azurefake.ARM) {
				if _, ok := a.Configuration("rg-edge-l3", "l3-site-01", "edge-apps"); !ok {
					t.Error("the step whose condition holds did not create the configuration")
				}
			},
		},
		{name: "flux-install-when-invalid", args: []string{"install"}, input: "flux-install-when-invalid.yaml", wantCode: 1},
		{name: "status-not-found", args: []string{"invoke", "--action", "status"}, input: "status-invoke.yaml"},
		{name: "status-in-install", args: []string{"install"}, input: "status-in-install.yaml", wantCode: 1,
			arm: func(t *testing.T, _ *arcflux.Mixin, a *azurefake.ARM) { onboarded(a) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestSchemaCommandPrintsEmbeddedSchema(t *testing.T) {
	var out bytes.Buffer
	m := &arcflux.Mixin{In: strings.NewReader(""), Out: &out, Err: &out}
	if code := run(context.Background(), m, []string{"schema"}); code != 0 {
		t.Fatal(out.String())
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "pkg", "arcflux", "schema", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("schema output differs from pkg/arcflux/schema/schema.json")
	}
}

func TestDebugDefaultsFromPorterDebug(t *testing.T) {
	m := &arcflux.Mixin{Debug: true}
	cmd := buildRootCommand(m)
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if !m.Debug {
		t.Fatal("PORTER_DEBUG=true was reset by the --debug flag default")
	}
}

// proxied is connect-install.yaml's proxy block as the agents' global Helm values.
var proxied = map[string]any{
	"isProxyEnabled": true,
	"httpProxy":      "http://proxy.l4.edge.local:3128",
	"httpsProxy":     "http://proxy.l4.edge.local:3128",
	"noProxy":        "10.0.0.0/8,.svc,.cluster.local",
}

// agentProxy checks the proxy values of the agents' Helm release (want nil: none at all).
func agentProxy(t *testing.T, kubeconfig string, want map[string]any) {
	t.Helper()
	rel, err := agents.FromKubeconfig(kubeconfig, "", nil).Get(context.Background(), arc.ReleaseNamespace, arc.ReleaseName)
	if err != nil {
		t.Fatal(err)
	}
	global, _ := rel.Values["global"].(map[string]any)
	for _, k := range []string{"isProxyEnabled", "httpProxy", "httpsProxy", "noProxy", "proxyCert"} {
		got, ok := global[k]
		if w, wok := want[k]; wok != ok || (ok && got != w) {
			t.Errorf("agents' global.%s = %v (set %v), want %v (set %v)", k, got, ok, w, wok)
		}
	}
}

// TestConnectCommand runs connect install, install again, a conflicting install
// and uninstall through the command, against a real kube-apiserver (agents via
// the Helm SDK and the stand-in chart), ARM on the SDK fakes and the data plane
// on httptest.
func TestConnectCommand(t *testing.T) {
	k := kubeenv.StartAPIServer(t)
	chart := filepath.Join("..", "..", "pkg", "arc", "testdata", "azure-arc-k8sagents")
	dp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"repositoryPath":%q}`, chart)
	}))
	defer dp.Close()
	a := azurefake.New(sub)
	env := map[string]string{"KUBECONFIG": k.Kubeconfig, "AZURE_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47"}
	keyCert := regexp.MustCompile(`"agentPublicKeyCertificate":"[^"]+"`)
	norm := func(b []byte) []byte {
		return keyCert.ReplaceAll(b, []byte(`"agentPublicKeyCertificate":"<RSA-4096 public key>"`))
	}
	for _, tc := range []cmdCase{
		{name: "connect-install", args: []string{"install"}, input: "connect-install.yaml",
			check: func(t *testing.T, _ *azurefake.ARM) { agentProxy(t, k.Kubeconfig, proxied) }},
		// An all-empty proxy block (bundle parameters at their "" default) means no proxy.
		{name: "connect-upgrade", args: []string{"upgrade", "-f", filepath.Join("testdata", "connect-upgrade.yaml")},
			check: func(t *testing.T, _ *azurefake.ARM) { agentProxy(t, k.Kubeconfig, nil) }},
		{name: "connect-reinstall", args: []string{"install"}, input: "connect-install.yaml",
			check: func(t *testing.T, a *azurefake.ARM) {
				if n := a.CallCount(azurefake.ClusterPut); n != 3 {
					t.Errorf("connected cluster PUT %d times, want 3 (install, upgrade, install)", n)
				}
				agentProxy(t, k.Kubeconfig, proxied)
			}},
		{name: "connect-elsewhere", args: []string{"install"}, input: "connect-install-elsewhere.yaml", wantCode: 1},
		{name: "connect-uninstall", args: []string{"uninstall"}, input: "connect-uninstall.yaml",
			check: func(t *testing.T, a *azurefake.ARM) {
				if _, ok := a.Cluster("rg-edge-l3", "l3-site-01"); ok {
					t.Error("connected cluster still present")
				}
			}},
		{name: "connect-uninstall-again", args: []string{"uninstall"}, input: "connect-uninstall.yaml"},
	} {
		tc.shared, tc.env, tc.dataPlane, tc.normalise = a, env, dp.URL, norm
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}
