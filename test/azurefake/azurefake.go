// Package azurefake is an in-memory Azure Resource Manager for tests, built on
// the Azure SDK's own fake server packages (armhybridkubernetes/fake,
// armkubernetesconfiguration/v2/fake, armresources/fake): resource groups,
// connected clusters, cluster extensions and Flux configurations keep state
// between calls, long-running operations poll, and tests can inject 429
// throttling, error answers and failed provisioning per operation.
package azurefake

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	hkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes/fake"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"
	kcfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	rsfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/fake"
)

// Operation names used for Calls, Throttle and Fail.
const (
	GroupGet        = "resourceGroups.get"
	GroupPut        = "resourceGroups.put"
	ClusterGet      = "connectedClusters.get"
	ClusterPut      = "connectedClusters.put"
	ClusterDelete   = "connectedClusters.delete"
	ExtensionList   = "extensions.list"
	ExtensionPut    = "extensions.put"
	ExtensionPatch  = "extensions.patch"
	ExtensionDelete = "extensions.delete"
	ConfigGet       = "fluxConfigurations.get"
	ConfigList      = "fluxConfigurations.list"
	ConfigPut       = "fluxConfigurations.put"
	ConfigDelete    = "fluxConfigurations.delete"
)

// Failure is an error answer injected for an operation.
type Failure struct {
	Status int
	Code   string
}

// ARM is the in-memory Resource Manager.
type ARM struct {
	Subscription string
	TenantID     string

	mu         sync.Mutex
	groups     map[string]armresources.ResourceGroup
	clusters   map[string]armhybridkubernetes.ConnectedCluster
	extensions map[string]kc.Extension
	configs    map[string]kc.FluxConfiguration
	gets       map[string]int // connected cluster GETs since its PUT

	// Calls records every operation in order ("connectedClusters.put rg/name").
	Calls []string
	// PollSteps is the number of non-terminal LRO answers before the terminal one (default 2).
	PollSteps int
	// ConnectAfterGets is how many GETs after a PUT report Connecting before Connected (default 1).
	ConnectAfterGets int
	// CompliantAfterGets is how many GETs of a configuration report Pending before Compliant (default 1).
	CompliantAfterGets int
	// Throttle answers a real HTTP 429 (which the SDK's retry policy retries)
	// to the next N calls of an operation.
	Throttle map[string]int
	// Fail answers an error to every call of an operation.
	Fail map[string]Failure
	// FailProvisioning makes PUTs of the operation end in provisioningState Failed.
	FailProvisioning map[string]bool
	// NeverConnect keeps connected clusters Connecting forever.
	NeverConnect bool

	hk hkfake.ServerFactory
	kc kcfake.ServerFactory
	rs rsfake.ServerFactory
}

// New returns an empty ARM for the subscription.
func New(subscription string) *ARM {
	a := &ARM{
		Subscription: subscription, TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		groups: map[string]armresources.ResourceGroup{}, clusters: map[string]armhybridkubernetes.ConnectedCluster{},
		extensions: map[string]kc.Extension{}, configs: map[string]kc.FluxConfiguration{}, gets: map[string]int{},
		Throttle: map[string]int{}, Fail: map[string]Failure{}, FailProvisioning: map[string]bool{},
		PollSteps: 2, ConnectAfterGets: 1, CompliantAfterGets: 1,
	}
	a.wire()
	return a
}

func key(parts ...string) string { return strings.ToLower(strings.Join(parts, "/")) }

// gate records the call and applies injected throttling and failures.
func (a *ARM) gate(op, target string, errResp *azfake.ErrorResponder) bool {
	a.Calls = append(a.Calls, op+" "+target)
	if f, ok := a.Fail[op]; ok {
		errResp.SetResponseError(f.Status, f.Code)
		return false
	}
	return true
}

// CallCount counts the recorded calls of an operation.
func (a *ARM) CallCount(op string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.Calls {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

// find gates op on the resource named by parts ("rg/cluster/name") and looks
// it up in m; a missing resource is answered 404 with code. It returns the
// resource and its key.
func find[T any](a *ARM, op string, m map[string]T, code string, errResp *azfake.ErrorResponder, parts ...string) (T, string, bool) {
	var v T
	if !a.gate(op, strings.Join(parts, "/"), errResp) {
		return v, "", false
	}
	k := key(parts...)
	v, ok := m[k]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, code)
	}
	return v, k, ok
}

// remove is find for a delete: the resource found is deleted from m.
func remove[T any](a *ARM, op string, m map[string]T, errResp *azfake.ErrorResponder, parts ...string) (string, bool) {
	_, k, ok := find(a, op, m, "ResourceNotFound", errResp, parts...)
	if ok {
		delete(m, k)
	}
	return k, ok
}

// children returns the resources of m below the parent key, sorted by key:
// ARM's order is stable, so the fake's must be too (golden files compare it).
func children[T any](m map[string]T, parent string) []T {
	var out []T
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if strings.HasPrefix(k, parent+"/") {
			out = append(out, m[k])
		}
	}
	return out
}

// list records a list call of op on a cluster and answers the cluster's
// resources of m in key order, each as answer shows it.
func list[T any](a *ARM, op string, m map[string]T, rg, cluster string, answer func(T) T) []*T {
	a.Calls = append(a.Calls, op+" "+rg+"/"+cluster)
	var page []*T
	for _, v := range children(m, key(rg, cluster)) {
		v = answer(v)
		page = append(page, &v)
	}
	return page
}

// listPage answers a list call with one page: the resources of m below rg/cluster.
func listPage[T, R any](a *ARM, op string, m map[string]T, rg, cluster string, answer func(T) T, wrap func([]*T) R) (resp azfake.PagerResponder[R]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp.AddPage(http.StatusOK, wrap(list(a, op, m, rg, cluster, answer)), nil)
	return resp
}

// deleteChild answers a DELETE of op: the resource of m at rg/cluster/name is removed and the
// operation completes (as remove answers: gated, 404 when absent).
func deleteChild[T, R any](a *ARM, op string, m map[string]T, resp *azfake.PollerResponder[R], errResp *azfake.ErrorResponder, rg, cluster, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := remove(a, op, m, errResp, rg, cluster, name); ok {
		var answer R
		done(a, resp, answer)
	}
}

// admit gates a PUT of op below rg/cluster (callers hold the lock), then checks that its
// parent exists; when it does not, ARM answers status with code.
func (a *ARM) admit(op, rg, cluster, name string, parent func() bool, status int, code string, errResp *azfake.ErrorResponder) bool {
	if !a.gate(op, rg+"/"+cluster+"/"+name, errResp) {
		return false
	}
	if !parent() {
		errResp.SetResponseError(status, code)
		return false
	}
	return true
}

// asStored answers a resource as it is stored.
func asStored[T any](v T) T { return v }

// removeChildren deletes the resources of m below the parent key.
func removeChildren[T any](m map[string]T, parent string) {
	maps.DeleteFunc(m, func(k string, _ T) bool { return strings.HasPrefix(k, parent+"/") })
}

// provisioning is the provisioningState a PUT of op ends in.
func provisioning[S any](a *ARM, op string, succeeded, failed S) *S {
	if a.FailProvisioning[op] {
		return &failed
	}
	return &succeeded
}

// done answers a long-running operation: PollSteps non-terminal answers, then v.
func done[T any](a *ARM, p *azfake.PollerResponder[T], v T) {
	for i := 0; i < a.PollSteps; i++ {
		p.AddNonTerminalResponse(http.StatusOK, nil)
	}
	p.SetTerminalResponse(http.StatusOK, v, nil)
}

func (a *ARM) clusterID(rg, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Kubernetes/connectedClusters/%s", a.Subscription, rg, name)
}

func (a *ARM) wire() {
	a.rs.ResourceGroupsServer = rsfake.ResourceGroupsServer{
		Get: func(_ context.Context, rg string, _ *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if g, _, ok := find(a, GroupGet, a.groups, "ResourceGroupNotFound", &errResp, rg); ok {
				resp.SetResponse(http.StatusOK, armresources.ResourceGroupsClientGetResponse{ResourceGroup: g}, nil)
			}
			return
		},
		CreateOrUpdate: func(_ context.Context, rg string, g armresources.ResourceGroup, _ *armresources.ResourceGroupsClientCreateOrUpdateOptions) (resp azfake.Responder[armresources.ResourceGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if !a.gate(GroupPut, rg, &errResp) {
				return
			}
			g.Name = to.Ptr(rg)
			g.ID = to.Ptr(fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", a.Subscription, rg))
			g.Properties = &armresources.ResourceGroupProperties{ProvisioningState: to.Ptr("Succeeded")}
			a.groups[key(rg)] = g
			resp.SetResponse(http.StatusCreated, armresources.ResourceGroupsClientCreateOrUpdateResponse{ResourceGroup: g}, nil)
			return
		},
	}
	a.hk.ConnectedClusterServer = hkfake.ConnectedClusterServer{
		Get: func(_ context.Context, rg, name string, _ *armhybridkubernetes.ConnectedClusterClientGetOptions) (resp azfake.Responder[armhybridkubernetes.ConnectedClusterClientGetResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			cc, k, ok := find(a, ClusterGet, a.clusters, "ResourceNotFound", &errResp, rg, name)
			if !ok {
				return
			}
			a.gets[k]++
			if !a.NeverConnect && a.gets[k] > a.ConnectAfterGets {
				cc.Properties.ConnectivityStatus = to.Ptr(armhybridkubernetes.ConnectivityStatusConnected)
				cc.Properties.AgentVersion = to.Ptr("1.21.10")
				cc.Properties.KubernetesVersion = to.Ptr("1.37.2")
				a.clusters[k] = cc
			}
			resp.SetResponse(http.StatusOK, armhybridkubernetes.ConnectedClusterClientGetResponse{ConnectedCluster: cc}, nil)
			return
		},
		BeginCreate: func(_ context.Context, rg, name string, cc armhybridkubernetes.ConnectedCluster, _ *armhybridkubernetes.ConnectedClusterClientBeginCreateOptions) (resp azfake.PollerResponder[armhybridkubernetes.ConnectedClusterClientCreateResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if !a.gate(ClusterPut, rg+"/"+name, &errResp) {
				return
			}
			k := key(rg, name)
			cc.ID, cc.Name = to.Ptr(a.clusterID(rg, name)), to.Ptr(name)
			cc.Type = to.Ptr("microsoft.kubernetes/connectedclusters")
			if cc.Identity != nil {
				cc.Identity.PrincipalID = to.Ptr("5c5f1b4e-2f4f-4d7e-9f43-1c2b3a4d5e6f")
				cc.Identity.TenantID = to.Ptr(a.TenantID)
			}
			if cc.Properties == nil {
				cc.Properties = &armhybridkubernetes.ConnectedClusterProperties{}
			}
			cc.Properties.ProvisioningState = provisioning(a, ClusterPut, armhybridkubernetes.ProvisioningStateSucceeded, armhybridkubernetes.ProvisioningStateFailed)
			if old, ok := a.clusters[k]; ok && old.Properties != nil && old.Properties.ConnectivityStatus != nil {
				cc.Properties.ConnectivityStatus = old.Properties.ConnectivityStatus
				cc.Properties.AgentVersion = old.Properties.AgentVersion
				cc.Properties.KubernetesVersion = old.Properties.KubernetesVersion
			} else {
				cc.Properties.ConnectivityStatus = to.Ptr(armhybridkubernetes.ConnectivityStatusConnecting)
				a.gets[k] = 0
			}
			a.clusters[k] = cc
			done(a, &resp, armhybridkubernetes.ConnectedClusterClientCreateResponse{ConnectedCluster: cc})
			return
		},
		BeginDelete: func(_ context.Context, rg, name string, _ *armhybridkubernetes.ConnectedClusterClientBeginDeleteOptions) (resp azfake.PollerResponder[armhybridkubernetes.ConnectedClusterClientDeleteResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if k, ok := remove(a, ClusterDelete, a.clusters, &errResp, rg, name); ok {
				// Deleting a connected cluster deletes its extension resources too.
				removeChildren(a.extensions, k)
				removeChildren(a.configs, k)
				done(a, &resp, armhybridkubernetes.ConnectedClusterClientDeleteResponse{})
			}
			return
		},
	}
	a.kc.ExtensionsServer = kcfake.ExtensionsServer{
		NewListPager: func(rg, rp, rt, cluster string, _ *kc.ExtensionsClientListOptions) azfake.PagerResponder[kc.ExtensionsClientListResponse] {
			return listPage(a, ExtensionList, a.extensions, rg, cluster, asStored, func(page []*kc.Extension) kc.ExtensionsClientListResponse {
				return kc.ExtensionsClientListResponse{ExtensionsList: kc.ExtensionsList{Value: page}}
			})
		},
		BeginCreate: func(_ context.Context, rg, rp, rt, cluster, name string, e kc.Extension, _ *kc.ExtensionsClientBeginCreateOptions) (resp azfake.PollerResponder[kc.ExtensionsClientCreateResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			hasCluster := func() bool { _, ok := a.clusters[key(rg, cluster)]; return ok }
			if !a.admit(ExtensionPut, rg, cluster, name, hasCluster, http.StatusNotFound, "ParentResourceNotFound", &errResp) {
				return
			}
			e.Name, e.ID = to.Ptr(name), to.Ptr(a.clusterID(rg, cluster)+"/providers/Microsoft.KubernetesConfiguration/extensions/"+name)
			if e.Properties == nil {
				e.Properties = &kc.ExtensionProperties{}
			}
			e.Properties.ProvisioningState = provisioning(a, ExtensionPut, kc.ProvisioningStateSucceeded, kc.ProvisioningStateFailed)
			if e.Properties.Version == nil {
				e.Properties.CurrentVersion = to.Ptr("1.13.3")
			} else {
				e.Properties.CurrentVersion = e.Properties.Version
			}
			a.extensions[key(rg, cluster, name)] = e
			done(a, &resp, kc.ExtensionsClientCreateResponse{Extension: e})
			return
		},
		BeginUpdate: func(_ context.Context, rg, rp, rt, cluster, name string, patch kc.PatchExtension, _ *kc.ExtensionsClientBeginUpdateOptions) (resp azfake.PollerResponder[kc.ExtensionsClientUpdateResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			e, k, ok := find(a, ExtensionPatch, a.extensions, "ResourceNotFound", &errResp, rg, cluster, name)
			if !ok {
				return
			}
			if p := patch.Properties; p != nil {
				if p.Version != nil {
					e.Properties.Version, e.Properties.CurrentVersion = p.Version, p.Version
				}
				if p.ReleaseTrain != nil {
					e.Properties.ReleaseTrain = p.ReleaseTrain
				}
				if p.AutoUpgradeMinorVersion != nil {
					e.Properties.AutoUpgradeMinorVersion = p.AutoUpgradeMinorVersion
				}
			}
			a.extensions[k] = e
			done(a, &resp, kc.ExtensionsClientUpdateResponse{Extension: e})
			return
		},
		BeginDelete: func(_ context.Context, rg, rp, rt, cluster, name string, _ *kc.ExtensionsClientBeginDeleteOptions) (resp azfake.PollerResponder[kc.ExtensionsClientDeleteResponse], errResp azfake.ErrorResponder) {
			deleteChild(a, ExtensionDelete, a.extensions, &resp, &errResp, rg, cluster, name)
			return
		},
	}
	a.kc.FluxConfigurationsServer = kcfake.FluxConfigurationsServer{
		Get: func(_ context.Context, rg, rp, rt, cluster, name string, _ *kc.FluxConfigurationsClientGetOptions) (resp azfake.Responder[kc.FluxConfigurationsClientGetResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			fc, k, ok := find(a, ConfigGet, a.configs, "ResourceNotFound", &errResp, rg, cluster, name)
			if !ok {
				return
			}
			a.gets[k]++
			if a.gets[k] > a.CompliantAfterGets {
				fc = compliant(fc, name)
				a.configs[k] = fc
			}
			resp.SetResponse(http.StatusOK, kc.FluxConfigurationsClientGetResponse{FluxConfiguration: published(fc)}, nil)
			return
		},
		NewListPager: func(rg, rp, rt, cluster string, _ *kc.FluxConfigurationsClientListOptions) azfake.PagerResponder[kc.FluxConfigurationsClientListResponse] {
			return listPage(a, ConfigList, a.configs, rg, cluster, published, func(page []*kc.FluxConfiguration) kc.FluxConfigurationsClientListResponse {
				return kc.FluxConfigurationsClientListResponse{FluxConfigurationsList: kc.FluxConfigurationsList{Value: page}}
			})
		},
		BeginCreateOrUpdate: func(_ context.Context, rg, rp, rt, cluster, name string, fc kc.FluxConfiguration, _ *kc.FluxConfigurationsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[kc.FluxConfigurationsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			a.mu.Lock()
			defer a.mu.Unlock()
			hasFlux := func() bool { return slices.ContainsFunc(children(a.extensions, key(rg, cluster)), isFlux) }
			if !a.admit(ConfigPut, rg, cluster, name, hasFlux, http.StatusBadRequest, "ExtensionNotFound", &errResp) {
				return
			}
			k := key(rg, cluster, name)
			fc.Name, fc.ID = to.Ptr(name), to.Ptr(a.clusterID(rg, cluster)+"/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/"+name)
			if fc.Properties == nil {
				fc.Properties = &kc.FluxConfigurationProperties{}
			}
			fc.Properties.ProvisioningState = provisioning(a, ConfigPut, kc.ProvisioningStateSucceeded, kc.ProvisioningStateFailed)
			if a.FailProvisioning[ConfigPut] {
				fc.Properties.ErrorMessage = to.Ptr("source URL unreachable")
			}
			fc.Properties.ComplianceState = to.Ptr(kc.FluxComplianceStatePending)
			a.gets[k] = 0
			a.configs[k] = fc
			done(a, &resp, kc.FluxConfigurationsClientCreateOrUpdateResponse{FluxConfiguration: published(fc)})
			return
		},
		BeginDelete: func(_ context.Context, rg, rp, rt, cluster, name string, _ *kc.FluxConfigurationsClientBeginDeleteOptions) (resp azfake.PollerResponder[kc.FluxConfigurationsClientDeleteResponse], errResp azfake.ErrorResponder) {
			deleteChild(a, ConfigDelete, a.configs, &resp, &errResp, rg, cluster, name)
			return
		},
	}
}

// isFlux reports whether the extension is the Flux extension.
func isFlux(e kc.Extension) bool {
	return e.Properties != nil && strings.EqualFold(deref(e.Properties.ExtensionType), "microsoft.flux")
}

// compliant marks the configuration and its kustomizations Compliant.
func compliant(fc kc.FluxConfiguration, name string) kc.FluxConfiguration {
	p := *fc.Properties
	p.ComplianceState = to.Ptr(kc.FluxComplianceStateCompliant)
	p.SourceSyncedCommitID = to.Ptr("main@sha1:0123456789abcdef0123456789abcdef01234567")
	p.Statuses = nil
	// Sorted: ARM's order is stable, so the fake's must be too (golden files compare it).
	for _, kn := range slices.Sorted(maps.Keys(p.Kustomizations)) {
		p.Statuses = append(p.Statuses, &kc.ObjectStatusDefinition{
			Kind: to.Ptr("Kustomization"), Name: to.Ptr(name + "-" + kn), Namespace: p.Namespace,
			ComplianceState: to.Ptr(kc.FluxComplianceStateCompliant),
		})
	}
	fc.Properties = &p
	return fc
}

// published is what ARM answers: write-only protected settings are never returned.
func published(fc kc.FluxConfiguration) kc.FluxConfiguration {
	if fc.Properties == nil {
		return fc
	}
	p := *fc.Properties
	p.ConfigurationProtectedSettings = nil
	fc.Properties = &p
	return fc
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Cluster returns the stored connected cluster.
func (a *ARM) Cluster(rg, name string) (armhybridkubernetes.ConnectedCluster, bool) {
	return stored(a, a.clusters, rg, name)
}

// PutCluster stores a connected cluster as if another onboarding had created it.
func (a *ARM) PutCluster(rg, name string, cc armhybridkubernetes.ConnectedCluster) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cc.ID, cc.Name = to.Ptr(a.clusterID(rg, name)), to.Ptr(name)
	a.clusters[key(rg, name)] = cc
}

// Group returns the stored resource group.
func (a *ARM) Group(name string) (armresources.ResourceGroup, bool) {
	return stored(a, a.groups, name)
}

// Extension returns the stored extension.
func (a *ARM) Extension(rg, cluster, name string) (kc.Extension, bool) {
	return stored(a, a.extensions, rg, cluster, name)
}

// Configuration returns the stored Flux configuration as sent (protected settings included).
func (a *ARM) Configuration(rg, cluster, name string) (kc.FluxConfiguration, bool) {
	return stored(a, a.configs, rg, cluster, name)
}

// stored looks a resource up without recording a call (for tests' assertions).
func stored[T any](a *ARM, m map[string]T, parts ...string) (T, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := m[key(parts...)]
	return v, ok
}

// Transport routes ARM requests to the right fake server.
func (a *ARM) Transport() policy.Transporter {
	hk := hkfake.NewServerFactoryTransport(&a.hk)
	kct := kcfake.NewServerFactoryTransport(&a.kc)
	rs := rsfake.NewServerFactoryTransport(&a.rs)
	return transportFunc(func(req *http.Request) (*http.Response, error) {
		if resp := a.throttled(req); resp != nil {
			return resp, nil
		}
		p := strings.ToLower(req.URL.Path)
		switch {
		case strings.Contains(p, "/providers/microsoft.kubernetesconfiguration/"):
			return kct.Do(req)
		case strings.Contains(p, "/providers/microsoft.kubernetes/"):
			return hk.Do(req)
		default:
			return rs.Do(req)
		}
	})
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// ClientOptions returns ARM client options that talk to this fake with fast retries.
func (a *ARM) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: a.Transport(),
		Retry:     policy.RetryOptions{MaxRetries: 4, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
	}}
}

// Credential is the fake token credential matching the fake servers.
func Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

// apiOps maps the SDK's API names to operations and their first request's HTTP method.
var apiOps = map[string][2]string{
	"ResourceGroupsClient.Get":                     {GroupGet, http.MethodGet},
	"ResourceGroupsClient.CreateOrUpdate":          {GroupPut, http.MethodPut},
	"ConnectedClusterClient.Get":                   {ClusterGet, http.MethodGet},
	"ConnectedClusterClient.BeginCreate":           {ClusterPut, http.MethodPut},
	"ConnectedClusterClient.BeginDelete":           {ClusterDelete, http.MethodDelete},
	"ExtensionsClient.NewListPager":                {ExtensionList, http.MethodGet},
	"ExtensionsClient.BeginCreate":                 {ExtensionPut, http.MethodPut},
	"ExtensionsClient.BeginUpdate":                 {ExtensionPatch, http.MethodPatch},
	"ExtensionsClient.BeginDelete":                 {ExtensionDelete, http.MethodDelete},
	"FluxConfigurationsClient.Get":                 {ConfigGet, http.MethodGet},
	"FluxConfigurationsClient.NewListPager":        {ConfigList, http.MethodGet},
	"FluxConfigurationsClient.BeginCreateOrUpdate": {ConfigPut, http.MethodPut},
	"FluxConfigurationsClient.BeginDelete":         {ConfigDelete, http.MethodDelete},
}

func (a *ARM) throttled(req *http.Request) *http.Response {
	name, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	op, ok := apiOps[name]
	if !ok || req.Method != op[1] {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Throttle[op[0]] <= 0 {
		return nil
	}
	a.Throttle[op[0]]--
	a.Calls = append(a.Calls, op[0]+" throttled")
	body := `{"error":{"code":"TooManyRequests","message":"The request is being throttled."}}`
	return &http.Response{
		StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Ms-Error-Code": {"TooManyRequests"}},
		Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}
