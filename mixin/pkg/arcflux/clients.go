package arcflux

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	kc "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kubernetesconfiguration/armkubernetesconfiguration/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
	"github.com/edgeframe/edgeframe/mixin/pkg/azureauth"
	"github.com/edgeframe/edgeframe/mixin/pkg/flux"
	"github.com/edgeframe/edgeframe/pkg/version"
)

// AzureClients are the Azure APIs one step uses.
type AzureClients struct {
	Clusters       arc.ConnectedClusters
	Groups         arc.ResourceGroups
	Charts         arc.ChartLocator
	Extensions     flux.Extensions
	Configurations flux.Configurations
}

// AzureFactory builds the Azure clients of a subscription in a cloud.
type AzureFactory interface {
	Clients(ctx context.Context, cloud azureauth.Cloud, subscriptionID string) (AzureClients, error)
}

// SDKAzure builds real Azure SDK clients. Zero fields mean production defaults.
type SDKAzure struct {
	Getenv func(string) string
	// Credential replaces the azidentity credential chosen from the environment.
	Credential azcore.TokenCredential
	// Transport replaces the HTTP transport of the ARM clients (SDK fake servers in tests).
	Transport policy.Transporter
	// Retry tunes the ARM retry policy (429/5xx).
	Retry policy.RetryOptions
	// DataPlane replaces the Arc data-plane endpoint builder (httptest in tests).
	DataPlane func(location string) string
	// HTTP is the client for data-plane calls.
	HTTP *http.Client
	// Debug receives the chosen credential kind.
	Debug func(format string, args ...any)
}

// Clients implements AzureFactory.
func (a SDKAzure) Clients(ctx context.Context, cloud azureauth.Cloud, subscriptionID string) (AzureClients, error) {
	getenv := a.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cred := a.Credential
	if cred == nil {
		c, kind, err := azureauth.NewCredential(getenv, cloud)
		if err != nil {
			return AzureClients{}, err
		}
		if a.Debug != nil {
			a.Debug("azure credential: %s, cloud %s", kind, cloud.Name)
		}
		cred = c
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     cloud.Configuration,
		Transport: a.Transport,
		Retry:     a.Retry,
		Telemetry: policy.TelemetryOptions{ApplicationID: "edgeframe-arcflux/" + version.Version},
	}}
	hk, err := armhybridkubernetes.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return AzureClients{}, fmt.Errorf("hybridkubernetes client: %w", err)
	}
	kcf, err := kc.NewClientFactory(subscriptionID, cred, opts)
	if err != nil {
		return AzureClients{}, fmt.Errorf("kubernetesconfiguration client: %w", err)
	}
	rg, err := armresources.NewResourceGroupsClient(subscriptionID, cred, opts)
	if err != nil {
		return AzureClients{}, fmt.Errorf("resource groups client: %w", err)
	}
	endpoint := a.DataPlane
	if endpoint == nil {
		endpoint = arc.EndpointFor(cloud.DataPlaneSuffix)
	}
	return AzureClients{
		Clusters:       hk.NewConnectedClusterClient(),
		Groups:         rg,
		Charts:         arc.DataPlane{Endpoint: endpoint, Credential: cred, Scope: cloud.ARMScope(), HTTP: a.HTTP},
		Extensions:     kcf.NewExtensionsClient(),
		Configurations: kcf.NewFluxConfigurationsClient(),
	}, nil
}

// KubeClients are the Kubernetes APIs the connect command uses.
type KubeClients struct {
	Kube   kubernetes.Interface
	Agents arc.AgentReleases
}

// KubeFactory builds Kubernetes clients for a kubeconfig file and context.
type KubeFactory func(kubeconfig, kubeContext string, debug func(format string, args ...any)) (KubeClients, error)

// ClientGoKube is the default KubeFactory: client-go and the Helm SDK.
func ClientGoKube(kubeconfig, kubeContext string, debug func(format string, args ...any)) (KubeClients, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return KubeClients{}, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return KubeClients{}, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return KubeClients{Kube: cs, Agents: agents.FromKubeconfig(kubeconfig, kubeContext, debug)}, nil
}

// kubeconfigPath applies the defaults: the step's value, env KUBECONFIG (first entry), $HOME/.kube/config.
func (m *Mixin) kubeconfigPath(v string) string {
	if v != "" {
		return v
	}
	if k := m.getenv("KUBECONFIG"); k != "" {
		return strings.Split(k, string(os.PathListSeparator))[0]
	}
	home := m.getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".kube", "config")
}
