package arcflux

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"
)

// Every runtime step fed to the command tests is valid against the mixin's own
// schema (standalone, as porter prints it), and the invalid ones are not.
func TestStepInputsAgainstOwnSchema(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("arcflux.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("arcflux.json")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "cmd", "arcflux", "testdata", "*.yaml"))
	if len(files) < 10 {
		t.Fatalf("found %d inputs", len(files))
	}
	invalid := map[string]bool{"flux-install-unknown-field.yaml": true, "status-in-install.yaml": true, "flux-install-invalid.yaml": true, "lint-input.yaml": true, "flux-install-when-invalid.yaml": true, "build-input-invalid.yaml": true}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		m := v.(map[string]any)
		if a, ok := m["actions"]; ok { // build/lint input
			m = a.(map[string]any)
		}
		j, _ := yaml.Marshal(m)
		jj, _ := yaml.YAMLToJSON(j)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(jj))
		err := sch.Validate(inst)
		name := filepath.Base(f)
		switch {
		case invalid[name] && err == nil:
			t.Errorf("%s: schema accepted it", name)
		case !invalid[name] && err != nil:
			t.Errorf("%s: %v", name, err)
		}
	}
}

// checkStruct checks a step given as a struct, as an install step.
func checkStruct(t *testing.T, s Step, resolved bool) []Problem {
	t.Helper()
	b, err := json.Marshal(map[string]Step{Name: s})
	if err != nil {
		t.Fatal(err)
	}
	_, ps := checkStep(b, "install", resolved, func(string) string { return "" })
	return ps
}

func TestFluxSpecConversion(t *testing.T) {
	s := FluxSpec(Flux{
		Target: Target{ResourceGroup: "rg", ClusterName: "c"}, Name: "cfg", Scope: "namespace", Namespace: "edge-l3",
		GitRepository: &GitRepository{URL: "ssh://git@git.example/edge", Semver: ">=1.0.0", SSHPrivateKey: "KEY", SSHKnownHosts: "git.example ssh-ed25519 AAAA", SyncInterval: "1h30m", Timeout: "90s"},
		Kustomizations: []Kustomization{{Name: "apps", RetryInterval: "2m",
			PostBuild: &PostBuild{SubstituteFrom: []SubstituteFrom{{Kind: "ConfigMap", Name: "vars", Optional: true}}}}},
		WaitForCompliance: true, Timeout: "1h2m3s",
	})
	p := s.Configuration.Properties
	if *p.Scope != kc.ScopeTypeNamespace || *p.Namespace != "edge-l3" || *p.SourceKind != kc.SourceKindTypeGitRepository {
		t.Fatalf("scope/namespace/kind %s %s %s", *p.Scope, *p.Namespace, *p.SourceKind)
	}
	g := p.GitRepository
	if *g.RepositoryRef.Semver != ">=1.0.0" || g.RepositoryRef.Branch != nil || *g.SyncIntervalInSeconds != 5400 || *g.TimeoutInSeconds != 90 {
		t.Fatalf("git %+v", g)
	}
	if kh, _ := base64.StdEncoding.DecodeString(*g.SSHKnownHosts); string(kh) != "git.example ssh-ed25519 AAAA" {
		t.Fatalf("known hosts %q", kh)
	}
	if k, _ := base64.StdEncoding.DecodeString(*p.ConfigurationProtectedSettings["sshPrivateKey"]); string(k) != "KEY" {
		t.Fatal("ssh key not a base64 protected setting")
	}
	k := p.Kustomizations["apps"]
	if *k.Path != "./" || *k.RetryIntervalInSeconds != 120 || *k.PostBuild.SubstituteFrom[0].Name != "vars" || !*k.PostBuild.SubstituteFrom[0].Optional {
		t.Fatalf("kustomization %+v", k)
	}
	if *p.ReconciliationWaitDuration != "PT1H2M3S" || s.Timeout.String() != "1h2m3s" {
		t.Fatalf("wait duration %s timeout %s", *p.ReconciliationWaitDuration, s.Timeout)
	}
	// defaults
	d := FluxSpec(Flux{Name: "x", Bucket: &Bucket{URL: "https://b", BucketName: "b", SecretKey: "S"}})
	if _, ok := d.Configuration.Properties.Kustomizations["kustomization-1"]; !ok || *d.Configuration.Properties.Namespace != "flux-system" {
		t.Fatal("defaults not applied")
	}
	if d.Configuration.Properties.ConfigurationProtectedSettings["bucketSecretKey"] == nil {
		t.Fatal("bucket secret key not protected")
	}
}

func TestValidationNeverEchoesSecrets(t *testing.T) {
	const secret = "TOP-SECRET-VALUE"
	f := Flux{Target: Target{SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "rg", ClusterName: "c"}, Name: "cfg",
		GitRepository: &GitRepository{URL: "https://git.example/x", Branch: "main", SSHPrivateKey: secret, HTTPSKey: secret},
		Bucket:        &Bucket{URL: "https://b", BucketName: "b", SecretKey: secret},
		AzureBlob:     &AzureBlob{URL: "https://a", ContainerName: "c", AccountKey: secret, SASToken: secret},
	}
	for _, resolved := range []bool{true, false} {
		ps := checkStruct(t, Step{Description: "d", Flux: &f}, resolved)
		if len(ps) == 0 {
			t.Fatal("no problems found")
		}
		for _, p := range ps {
			if strings.Contains(p.String(), secret) {
				t.Errorf("problem echoes the secret: %s", p)
			}
		}
	}
}

// TestProxyAndWhenValidation: an all-empty proxy block is no proxy; everything else that is
// wrong is reported naming the field and the value. Conditions are checked the same way.
func TestProxyAndWhenValidation(t *testing.T) {
	str := func(s string) *string { return &s }
	connect := func(p *Proxy) Step {
		return Step{Description: "d", Connect: &Connect{
			Target: Target{SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "rg", ClusterName: "c"}, Location: "westeurope", Proxy: p}}
	}
	flux := func(w *When, rg string) Step {
		return Step{Description: "d", When: w, Flux: &Flux{
			Target: Target{SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: rg, ClusterName: "c"}, Name: "cfg",
			GitRepository: &GitRepository{URL: "https://git.example/x", Branch: "main"}}}
	}
	for _, tc := range []struct {
		name     string
		step     Step
		resolved bool
		want     []string // each problem, as field: message
	}{
		{"no proxy block", connect(nil), true, nil},
		{"all-empty proxy block is no proxy", connect(&Proxy{}), true, nil},
		{"https proxy only", connect(&Proxy{HTTPSProxy: "http://proxy.l4:3128"}), true, nil},
		{"full proxy", connect(&Proxy{HTTPProxy: "http://proxy.l4:3128", HTTPSProxy: "https://proxy.l4:3129", NoProxy: "10.0.0.0/8,.svc", CACertFile: "ca.pem"}), true, nil},
		{"CA without proxy", connect(&Proxy{CACertFile: "ca.pem"}), true,
			[]string{`connect.proxy.caCertFile: "ca.pem" is set but neither httpProxy nor httpsProxy is`}},
		{"noProxy without proxy", connect(&Proxy{NoProxy: ".svc"}), true,
			[]string{`connect.proxy.noProxy: ".svc" is set but neither httpProxy nor httpsProxy is`}},
		{"malformed https proxy", connect(&Proxy{HTTPSProxy: "proxy.l4:3128"}), true,
			[]string{`connect.proxy.httpsProxy: "proxy.l4:3128" is not a http/https URL`}},
		{"malformed http proxy", connect(&Proxy{HTTPProxy: "socks5://proxy.l4:1080", HTTPSProxy: "http://proxy.l4:3128"}), true,
			[]string{`connect.proxy.httpProxy: "socks5://proxy.l4:1080" is not a http/https URL`}},
		{"noProxy with spaces", connect(&Proxy{HTTPSProxy: "http://proxy.l4:3128", NoProxy: ".svc, .local"}), true,
			[]string{`connect.proxy.noProxy: ".svc, .local" is not a comma-separated list without spaces`}},
		{"templated proxy at lint time", connect(&Proxy{HTTPProxy: "${ bundle.parameters.http-proxy }", CACertFile: "${ bundle.parameters.proxy-ca-cert }"}), false, nil},
		{"condition holds", flux(&When{Value: str("gitops"), Equals: str("gitops")}, "rg"), true, nil},
		{"condition holds: the step is checked", flux(&When{Value: str("gitops"), Equals: str("gitops")}, ""), true,
			[]string{"flux.resourceGroup: is required"}},
		{"condition false: the rest is not checked", flux(&When{Value: str("offline"), Equals: str("gitops")}, ""), true, nil},
		{"empty value equals empty", flux(&When{Value: str(""), Equals: str("")}, "rg"), true, nil},
		{"value missing", flux(&When{Equals: str("gitops")}, "rg"), true,
			[]string{"when.value: is required (the value tested, usually a template such as ${ bundle.parameters.delivery })"}},
		{"equals missing", flux(&When{Value: str("gitops")}, "rg"), true,
			[]string{`when.equals: is required (the step runs only when value equals this; otherwise it prints "skipped: ..." and does nothing)`}},
		{"unresolved at run time", flux(&When{Value: str("${ bundle.parameters.delivery }"), Equals: str("gitops")}, "rg"), true,
			[]string{`when.value: "${ bundle.parameters.delivery }" still holds an unresolved template`}},
		{"template at lint time", flux(&When{Value: str("${ bundle.parameters.delivery }"), Equals: str("gitops")}, "rg"), false, nil},
		{"template in a formatted field at lint time", flux(nil, "${ bundle.parameters.resource-group }"), false, nil},
		{"template left in a formatted field at run time", flux(nil, "${ bundle.parameters.resource-group }"), true,
			[]string{`flux.resourceGroup: "${ bundle.parameters.resource-group }" is not a resource group name (1-90 letters, digits, - _ . ( ), not ending in a period)`}},
		{"constant at lint time", flux(&When{Value: str("offline"), Equals: str("gitops")}, "rg"), false,
			[]string{`when.value: "offline" is a constant, so the step always or never runs; use a template such as ${ bundle.parameters.<name> }`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range checkStruct(t, tc.step, tc.resolved) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// The schema is the one definition of the step shape; the Go types only decode it. Every
// object of the schema has exactly the fields of its Go type, so neither can drift.
func TestGoTypesHaveTheSchemaFields(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	at := func(path ...string) map[string]any {
		var cur any = doc
		for _, p := range path {
			cur = cur.(map[string]any)[p]
		}
		return cur.(map[string]any)
	}
	def := func(name string) map[string]any { return at("definitions", name) }
	for _, tc := range []struct {
		name   string
		schema map[string]any
		typ    any
	}{
		{"step", def("arcfluxInvoke"), Step{}},
		{"when", def("when"), When{}},
		{"outputs", at("definitions", "outputs", "items"), Output{}},
		{"ignoreError", def("ignoreError"), IgnoreError{}},
		{"ignoreError.output", at("definitions", "ignoreError", "properties", "output"), IgnoreMatch{}},
		{"connect", def("connect"), Connect{}},
		{"connect.proxy", at("definitions", "connect", "properties", "proxy"), Proxy{}},
		{"connect.agentChart", at("definitions", "connect", "properties", "agentChart"), AgentChart{}},
		{"flux", def("flux"), Flux{}},
		{"flux.extension", at("definitions", "flux", "properties", "extension"), FluxExtension{}},
		{"gitRepository", def("gitRepository"), GitRepository{}},
		{"bucket", def("bucket"), Bucket{}},
		{"azureBlob", def("azureBlob"), AzureBlob{}},
		{"kustomization", def("kustomization"), Kustomization{}},
		{"postBuild", at("definitions", "kustomization", "properties", "postBuild"), PostBuild{}},
		{"substituteFrom", at("definitions", "kustomization", "properties", "postBuild", "properties", "substituteFrom", "items"), SubstituteFrom{}},
		{"status", def("status"), Status{}},
		{"config", at("definitions", "config", "properties", "arcflux"), Config{}},
	} {
		var want []string
		for k := range tc.schema["properties"].(map[string]any) {
			want = append(want, k)
		}
		got := jsonFields(reflect.TypeOf(tc.typ))
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Go fields %v, schema properties %v", tc.name, got, want)
		}
	}
}

// jsonFields lists the JSON names of a struct's fields, embedded structs flattened.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}
