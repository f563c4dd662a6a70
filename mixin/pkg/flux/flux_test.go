package flux_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"

	"github.com/edgeframe/edgeframe/mixin/pkg/flux"
	"github.com/edgeframe/edgeframe/test/azurefake"
)

const sub = "00000000-0000-0000-0000-000000000001"

func setup(t *testing.T) (*azurefake.ARM, *flux.Configurator) {
	t.Helper()
	a := azurefake.New(sub)
	a.PutCluster("rg-edge", "l3-site", armhybridkubernetes.ConnectedCluster{Location: to.Ptr("westeurope")})
	f, err := kc.NewClientFactory(sub, azurefake.Credential(), a.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	return a, &flux.Configurator{Extensions: f.NewExtensionsClient(), Configurations: f.NewFluxConfigurationsClient(), Poll: time.Millisecond, Log: &log}
}

func spec() flux.Spec {
	return flux.Spec{
		Cluster: flux.Cluster{ResourceGroup: "rg-edge", Name: "l3-site"},
		Name:    "platform",
		Configuration: kc.FluxConfiguration{Properties: &kc.FluxConfigurationProperties{
			Scope: to.Ptr(kc.ScopeTypeCluster), Namespace: to.Ptr("flux-system"), SourceKind: to.Ptr(kc.SourceKindTypeGitRepository),
			GitRepository:  &kc.GitRepositoryDefinition{URL: to.Ptr("https://git.example/edge"), RepositoryRef: &kc.RepositoryRefDefinition{Branch: to.Ptr("main")}},
			Kustomizations: map[string]*kc.KustomizationDefinition{"infra": {Path: to.Ptr("./infra")}, "apps": {Path: to.Ptr("./apps"), DependsOn: []*string{to.Ptr("infra")}}},
		}},
		Timeout: 10 * time.Second,
	}
}

func TestApplyCreatesExtensionThenConfigurationAndIsIdempotent(t *testing.T) {
	a, c := setup(t)
	ctx := context.Background()
	fc, err := c.Apply(ctx, spec())
	if err != nil {
		t.Fatal(err)
	}
	if got := *fc.Properties.ProvisioningState; got != kc.ProvisioningStateSucceeded {
		t.Fatalf("provisioning state %s", got)
	}
	ext, ok := a.Extension("rg-edge", "l3-site", "flux")
	if !ok {
		t.Fatal("flux extension not created")
	}
	if *ext.Properties.ExtensionType != "microsoft.flux" || !*ext.Properties.AutoUpgradeMinorVersion || *ext.Identity.Type != "SystemAssigned" {
		t.Fatalf("extension = %+v", *ext.Properties)
	}
	if _, ok := a.Configuration("rg-edge", "l3-site", "platform"); !ok {
		t.Fatal("configuration not stored")
	}
	if _, err := c.Apply(ctx, spec()); err != nil {
		t.Fatal(err)
	}
	if n := a.CallCount(azurefake.ExtensionPut); n != 1 {
		t.Fatalf("extension PUT %d times, want 1 (second apply must reuse it)", n)
	}
	if n := a.CallCount(azurefake.ConfigPut); n != 2 {
		t.Fatalf("configuration PUT %d times, want 2 (create-or-update)", n)
	}
}

func TestApplyUpdatesPinnedExtensionVersion(t *testing.T) {
	a, c := setup(t)
	ctx := context.Background()
	if _, err := c.Apply(ctx, spec()); err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Extension = flux.ExtensionSpec{Version: "1.14.0"}
	if _, err := c.Apply(ctx, s); err != nil {
		t.Fatal(err)
	}
	ext, _ := a.Extension("rg-edge", "l3-site", "flux")
	if *ext.Properties.Version != "1.14.0" || *ext.Properties.AutoUpgradeMinorVersion {
		t.Fatalf("extension not pinned: version %v autoUpgrade %v", *ext.Properties.Version, *ext.Properties.AutoUpgradeMinorVersion)
	}
	if a.CallCount(azurefake.ExtensionPatch) != 1 {
		t.Fatalf("calls %v", a.Calls)
	}
}

func TestApplyRetriesThrottling(t *testing.T) {
	a, c := setup(t)
	a.Throttle[azurefake.ConfigPut] = 2
	if _, err := c.Apply(context.Background(), spec()); err != nil {
		t.Fatalf("429 twice then success must succeed: %v", err)
	}
	if n := a.CallCount(azurefake.ConfigPut); n != 3 || a.Throttle[azurefake.ConfigPut] != 0 {
		t.Fatalf("configuration PUT attempts %d (2 throttled + 1), calls %v", n, a.Calls)
	}
}

func TestApplyFailures(t *testing.T) {
	cases := []struct {
		name string
		arm  func(*azurefake.ARM)
		want string
	}{
		{"failed provisioning", func(a *azurefake.ARM) { a.FailProvisioning[azurefake.ConfigPut] = true }, "provisioning state Failed: source URL unreachable"},
		{"extension failed", func(a *azurefake.ARM) { a.FailProvisioning[azurefake.ExtensionPut] = true }, "extension flux (microsoft.flux) is in provisioning state Failed"},
		{"conflict", func(a *azurefake.ARM) { a.Fail[azurefake.ConfigPut] = azurefake.Failure{Status: 409, Code: "Conflict"} }, "409"},
		{"throttled beyond retries", func(a *azurefake.ARM) { a.Throttle[azurefake.ConfigPut] = 50 }, "429"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, c := setup(t)
			tc.arm(a)
			_, err := c.Apply(context.Background(), spec())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWaitForCompliance(t *testing.T) {
	a, c := setup(t)
	a.CompliantAfterGets = 3
	s := spec()
	s.WaitForCompliance = true
	fc, err := c.Apply(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if *fc.Properties.ComplianceState != kc.FluxComplianceStateCompliant {
		t.Fatalf("compliance %s", *fc.Properties.ComplianceState)
	}
	if n := a.CallCount(azurefake.ConfigGet); n != 4 {
		t.Fatalf("GETs %d, want 4 (3 pending + compliant)", n)
	}
	st := flux.Summarise(fc)
	if len(st.Kustomizations) != 2 || st.Kustomizations[0].Name != "platform-apps" || st.Kustomizations[0].ComplianceState != "Compliant" {
		t.Fatalf("summary %+v", st)
	}
}

func TestWaitForComplianceTimesOut(t *testing.T) {
	a, c := setup(t)
	a.CompliantAfterGets = 1 << 30
	s := spec()
	s.WaitForCompliance = true
	s.Timeout = 200 * time.Millisecond
	_, err := c.Apply(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "not Compliant in time (compliance Pending, kustomization platform-apps Pending, kustomization platform-infra Pending)") {
		t.Fatalf("err = %v", err)
	}
}

func TestDeleteIsIdempotentAndRemovesExtensionOnRequest(t *testing.T) {
	a, c := setup(t)
	ctx := context.Background()
	if _, err := c.Apply(ctx, spec()); err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Extension.Delete = true
	if err := c.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Configuration("rg-edge", "l3-site", "platform"); ok {
		t.Fatal("configuration still there")
	}
	if _, ok := a.Extension("rg-edge", "l3-site", "flux"); ok {
		t.Fatal("extension still there")
	}
	if err := c.Delete(ctx, s); err != nil {
		t.Fatalf("second delete (404s) must succeed: %v", err)
	}
}

func TestStatuses(t *testing.T) {
	a, c := setup(t)
	a.CompliantAfterGets = 0
	ctx := context.Background()
	if _, err := c.Apply(ctx, spec()); err != nil {
		t.Fatal(err)
	}
	sts, err := c.Statuses(ctx, flux.Cluster{ResourceGroup: "rg-edge", Name: "l3-site"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].Name != "platform" || sts[0].ComplianceState != "Pending" || len(sts[0].Kustomizations) != 2 {
		t.Fatalf("list statuses %+v", sts)
	}
	sts, err = c.Statuses(ctx, flux.Cluster{ResourceGroup: "rg-edge", Name: "l3-site"}, []string{"platform", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].ComplianceState != "Compliant" || sts[1].ComplianceState != "NotFound" {
		t.Fatalf("named statuses %+v", sts)
	}
}
