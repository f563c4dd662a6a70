// Package flux ensures the microsoft.flux cluster extension and creates,
// updates, deletes and reports Flux v2 configurations on an Arc-connected (or
// AKS) cluster through Microsoft.KubernetesConfiguration, like
// `az k8s-configuration flux create|delete|show`.
package flux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"
)

// ExtensionType is the cluster extension that runs Flux.
const ExtensionType = "microsoft.flux"

// Extensions is the part of armkubernetesconfiguration.ExtensionsClient flux uses.
type Extensions interface {
	NewListPager(resourceGroupName, clusterRp, clusterResourceName, clusterName string, options *kc.ExtensionsClientListOptions) *runtime.Pager[kc.ExtensionsClientListResponse]
	BeginCreate(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, extensionName string, extension kc.Extension, options *kc.ExtensionsClientBeginCreateOptions) (*runtime.Poller[kc.ExtensionsClientCreateResponse], error)
	BeginUpdate(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, extensionName string, patchExtension kc.PatchExtension, options *kc.ExtensionsClientBeginUpdateOptions) (*runtime.Poller[kc.ExtensionsClientUpdateResponse], error)
	BeginDelete(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, extensionName string, options *kc.ExtensionsClientBeginDeleteOptions) (*runtime.Poller[kc.ExtensionsClientDeleteResponse], error)
}

// Configurations is the part of armkubernetesconfiguration.FluxConfigurationsClient flux uses.
type Configurations interface {
	Get(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, fluxConfigurationName string, options *kc.FluxConfigurationsClientGetOptions) (kc.FluxConfigurationsClientGetResponse, error)
	NewListPager(resourceGroupName, clusterRp, clusterResourceName, clusterName string, options *kc.FluxConfigurationsClientListOptions) *runtime.Pager[kc.FluxConfigurationsClientListResponse]
	BeginCreateOrUpdate(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, fluxConfigurationName string, fluxConfiguration kc.FluxConfiguration, options *kc.FluxConfigurationsClientBeginCreateOrUpdateOptions) (*runtime.Poller[kc.FluxConfigurationsClientCreateOrUpdateResponse], error)
	BeginDelete(ctx context.Context, resourceGroupName, clusterRp, clusterResourceName, clusterName, fluxConfigurationName string, options *kc.FluxConfigurationsClientBeginDeleteOptions) (*runtime.Poller[kc.FluxConfigurationsClientDeleteResponse], error)
}

// Cluster names the cluster a configuration lives on.
type Cluster struct {
	ResourceGroup string
	Name          string
	// Type is "connectedClusters" (Arc, default) or "managedClusters" (AKS).
	Type string
}

func (c Cluster) rp() (string, string) {
	if strings.EqualFold(c.Type, "managedClusters") {
		return "Microsoft.ContainerService", "managedClusters"
	}
	return "Microsoft.Kubernetes", "connectedClusters"
}

// ExtensionSpec says how to ensure the flux extension.
type ExtensionSpec struct {
	Name         string // default "flux"
	Version      string // pin (disables minor auto-upgrade)
	ReleaseTrain string // e.g. "stable", "preview"
	// Delete also deletes the extension on uninstall.
	Delete bool
}

func (e ExtensionSpec) name() string {
	if e.Name == "" {
		return "flux"
	}
	return e.Name
}

// Spec is one Flux configuration as the flux step describes it.
type Spec struct {
	Cluster       Cluster
	Name          string
	Extension     ExtensionSpec
	Configuration kc.FluxConfiguration
	// ForceDelete passes forceDelete on uninstall.
	ForceDelete bool
	// WaitForCompliance polls until the configuration reports Compliant.
	WaitForCompliance bool
	Timeout           time.Duration
}

// Configurator applies Flux specs.
type Configurator struct {
	Extensions     Extensions
	Configurations Configurations
	// Poll is the polling interval for long-running operations and compliance (default 10s).
	Poll time.Duration
	Log  io.Writer
}

func (c *Configurator) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 10 * time.Second
}

func (c *Configurator) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// Apply ensures the extension and creates or updates the configuration.
func (c *Configurator) Apply(ctx context.Context, s Spec) (kc.FluxConfiguration, error) {
	var zero kc.FluxConfiguration
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	if err := c.ensureExtension(ctx, s); err != nil {
		return zero, err
	}
	rp, rt := s.Cluster.rp()
	c.logf("PUT fluxConfiguration %s on %s/%s", s.Name, s.Cluster.ResourceGroup, s.Cluster.Name)
	p, err := c.Configurations.BeginCreateOrUpdate(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, s.Name, s.Configuration, nil)
	if err != nil {
		return zero, fmt.Errorf("create flux configuration %s: %w", s.Name, err)
	}
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()})
	if err != nil {
		return zero, fmt.Errorf("create flux configuration %s: %w", s.Name, err)
	}
	fc := res.FluxConfiguration
	if fc.Properties != nil && fc.Properties.ProvisioningState != nil && *fc.Properties.ProvisioningState != kc.ProvisioningStateSucceeded {
		return fc, fmt.Errorf("create flux configuration %s: provisioning state %s%s", s.Name, *fc.Properties.ProvisioningState, errorMessage(fc))
	}
	if !s.WaitForCompliance {
		return fc, nil
	}
	return c.waitCompliant(ctx, s)
}

func errorMessage(fc kc.FluxConfiguration) string {
	if fc.Properties != nil && fc.Properties.ErrorMessage != nil && *fc.Properties.ErrorMessage != "" {
		return ": " + *fc.Properties.ErrorMessage
	}
	return ""
}

func (c *Configurator) waitCompliant(ctx context.Context, s Spec) (kc.FluxConfiguration, error) {
	rp, rt := s.Cluster.rp()
	var last kc.FluxConfiguration
	for {
		got, err := c.Configurations.Get(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, s.Name, nil)
		if err != nil && ctx.Err() == nil {
			return last, fmt.Errorf("get flux configuration %s: %w", s.Name, err)
		}
		if err == nil {
			last = got.FluxConfiguration
			if last.Properties != nil && last.Properties.ComplianceState != nil && *last.Properties.ComplianceState == kc.FluxComplianceStateCompliant {
				c.logf("flux configuration %s is Compliant", s.Name)
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("flux configuration %s not Compliant in time (%s): %w", s.Name, describeCompliance(last), ctx.Err())
		case <-time.After(c.poll()):
		}
	}
}

func describeCompliance(fc kc.FluxConfiguration) string {
	st := Summarise(fc)
	parts := []string{"compliance " + st.ComplianceState}
	for _, k := range st.Kustomizations {
		parts = append(parts, fmt.Sprintf("kustomization %s %s", k.Name, k.ComplianceState))
	}
	return strings.Join(parts, ", ")
}

func (c *Configurator) ensureExtension(ctx context.Context, s Spec) error {
	rp, rt := s.Cluster.rp()
	var found *kc.Extension
	pager := c.Extensions.NewListPager(s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, nil)
	for pager.More() && found == nil {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list extensions of %s: %w", s.Cluster.Name, err)
		}
		for _, e := range page.Value {
			if e != nil && e.Properties != nil && e.Properties.ExtensionType != nil && strings.EqualFold(*e.Properties.ExtensionType, ExtensionType) {
				found = e
				break
			}
		}
	}
	want := s.Extension
	if found == nil {
		props := &kc.ExtensionProperties{ExtensionType: to.Ptr(ExtensionType), AutoUpgradeMinorVersion: to.Ptr(want.Version == "")}
		if want.Version != "" {
			props.Version = to.Ptr(want.Version)
		}
		if want.ReleaseTrain != "" {
			props.ReleaseTrain = to.Ptr(want.ReleaseTrain)
		}
		c.logf("creating extension %s (%s) on %s", want.name(), ExtensionType, s.Cluster.Name)
		p, err := c.Extensions.BeginCreate(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, want.name(),
			kc.Extension{Identity: &kc.Identity{Type: to.Ptr("SystemAssigned")}, Properties: props}, nil)
		if err != nil {
			return fmt.Errorf("create extension %s: %w", want.name(), err)
		}
		res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()})
		if err != nil {
			return fmt.Errorf("create extension %s: %w", want.name(), err)
		}
		return extensionSucceeded(want.name(), res.Extension)
	}
	name := str(found.Name)
	if err := extensionSucceeded(name, *found); err != nil {
		return err
	}
	p := found.Properties
	needVersion := want.Version != "" && !strings.EqualFold(str(p.Version), want.Version)
	needTrain := want.ReleaseTrain != "" && !strings.EqualFold(str(p.ReleaseTrain), want.ReleaseTrain)
	if !needVersion && !needTrain {
		return nil
	}
	patch := kc.PatchExtension{Properties: &kc.PatchExtensionProperties{}}
	if needVersion {
		patch.Properties.Version = to.Ptr(want.Version)
		patch.Properties.AutoUpgradeMinorVersion = to.Ptr(false)
	}
	if needTrain {
		patch.Properties.ReleaseTrain = to.Ptr(want.ReleaseTrain)
	}
	c.logf("updating extension %s (version %q, release train %q)", name, want.Version, want.ReleaseTrain)
	up, err := c.Extensions.BeginUpdate(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, name, patch, nil)
	if err != nil {
		return fmt.Errorf("update extension %s: %w", name, err)
	}
	res, err := up.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()})
	if err != nil {
		return fmt.Errorf("update extension %s: %w", name, err)
	}
	return extensionSucceeded(name, res.Extension)
}

func extensionSucceeded(name string, e kc.Extension) error {
	if e.Properties == nil || e.Properties.ProvisioningState == nil {
		return nil
	}
	if st := *e.Properties.ProvisioningState; st != kc.ProvisioningStateSucceeded {
		msg := ""
		if e.Properties.ErrorInfo != nil && e.Properties.ErrorInfo.Message != nil {
			msg = ": " + *e.Properties.ErrorInfo.Message
		}
		return fmt.Errorf("extension %s (%s) is in provisioning state %s%s", name, ExtensionType, st, msg)
	}
	return nil
}

// Delete deletes the configuration (and the extension when asked); anything
// already gone counts as done.
func (c *Configurator) Delete(ctx context.Context, s Spec) error {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	rp, rt := s.Cluster.rp()
	c.logf("DELETE fluxConfiguration %s on %s/%s", s.Name, s.Cluster.ResourceGroup, s.Cluster.Name)
	var opts *kc.FluxConfigurationsClientBeginDeleteOptions
	if s.ForceDelete {
		opts = &kc.FluxConfigurationsClientBeginDeleteOptions{ForceDelete: to.Ptr(true)}
	}
	p, err := c.Configurations.BeginDelete(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, s.Name, opts)
	switch {
	case isNotFound(err):
		c.logf("flux configuration %s does not exist", s.Name)
	case err != nil:
		return fmt.Errorf("delete flux configuration %s: %w", s.Name, err)
	default:
		if _, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete flux configuration %s: %w", s.Name, err)
		}
	}
	if !s.Extension.Delete {
		return nil
	}
	name := s.Extension.name()
	c.logf("DELETE extension %s", name)
	ep, err := c.Extensions.BeginDelete(ctx, s.Cluster.ResourceGroup, rp, rt, s.Cluster.Name, name, nil)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("delete extension %s: %w", name, err)
	}
	if _, err := ep.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.poll()}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete extension %s: %w", name, err)
	}
	return nil
}

// KustomizationStatus is the compliance of one kustomization.
type KustomizationStatus struct {
	Name            string `json:"name"`
	Namespace       string `json:"namespace,omitempty"`
	ComplianceState string `json:"complianceState"`
	Message         string `json:"message,omitempty"`
}

// Status summarises one configuration.
type Status struct {
	Name                 string                `json:"name"`
	ComplianceState      string                `json:"complianceState"`
	ProvisioningState    string                `json:"provisioningState"`
	SourceSyncedCommitID string                `json:"sourceSyncedCommitId,omitempty"`
	Kustomizations       []KustomizationStatus `json:"kustomizations"`
}

// Summarise extracts the compliance per kustomization from a configuration.
func Summarise(fc kc.FluxConfiguration) Status {
	st := Status{Name: str(fc.Name), ComplianceState: "Unknown", Kustomizations: []KustomizationStatus{}}
	p := fc.Properties
	if p == nil {
		return st
	}
	if p.ComplianceState != nil {
		st.ComplianceState = string(*p.ComplianceState)
	}
	if p.ProvisioningState != nil {
		st.ProvisioningState = string(*p.ProvisioningState)
	}
	st.SourceSyncedCommitID = str(p.SourceSyncedCommitID)
	seen := map[string]bool{}
	for _, o := range p.Statuses {
		if o == nil || !strings.EqualFold(str(o.Kind), "Kustomization") {
			continue
		}
		ks := KustomizationStatus{Name: str(o.Name), Namespace: str(o.Namespace), ComplianceState: "Unknown"}
		if o.ComplianceState != nil {
			ks.ComplianceState = string(*o.ComplianceState)
		}
		for _, c := range o.StatusConditions {
			if c != nil && c.Message != nil && str(c.Status) != "True" {
				ks.Message = *c.Message
			}
		}
		seen[ks.Name] = true
		st.Kustomizations = append(st.Kustomizations, ks)
	}
	// Kustomizations the cluster has not reported yet (status names are
	// "<config>-<kustomization>").
	for name := range p.Kustomizations {
		if !seen[name] && !seen[str(fc.Name)+"-"+name] {
			st.Kustomizations = append(st.Kustomizations, KustomizationStatus{Name: str(fc.Name) + "-" + name, ComplianceState: "Pending"})
		}
	}
	sort.Slice(st.Kustomizations, func(i, j int) bool { return st.Kustomizations[i].Name < st.Kustomizations[j].Name })
	return st
}

// Statuses returns the status of the named configurations (all when names is empty).
func (c *Configurator) Statuses(ctx context.Context, cl Cluster, names []string) ([]Status, error) {
	rp, rt := cl.rp()
	var out []Status
	if len(names) > 0 {
		for _, n := range names {
			got, err := c.Configurations.Get(ctx, cl.ResourceGroup, rp, rt, cl.Name, n, nil)
			if isNotFound(err) {
				out = append(out, Status{Name: n, ComplianceState: "NotFound", Kustomizations: []KustomizationStatus{}})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("get flux configuration %s: %w", n, err)
			}
			out = append(out, Summarise(got.FluxConfiguration))
		}
		return out, nil
	}
	pager := c.Configurations.NewListPager(cl.ResourceGroup, rp, rt, cl.Name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list flux configurations of %s: %w", cl.Name, err)
		}
		for _, fc := range page.Value {
			if fc != nil {
				out = append(out, Summarise(*fc))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
