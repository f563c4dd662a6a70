// Package arc onboards a Kubernetes cluster to Azure Arc the way
// `az connectedk8s connect` does, natively in Go: resource group, RSA-4096
// agent key pair, ARM PUT of the connectedCluster, the agent chart location
// from the Arc data plane, a Helm install of the agents with the documented
// values, and a wait until the cluster reports Connected. Disconnect reverses it.
package arc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
)

// Fixed names used by the Arc agents chart and the Azure CLI.
const (
	ReleaseName      = "azure-arc"
	ReleaseNamespace = "azure-arc-release"
	AgentNamespace   = "azure-arc"
	ClusterConfigMap = "azure-clusterconfig"
)

// ConnectedClusters is the part of armhybridkubernetes.ConnectedClusterClient arc uses.
type ConnectedClusters interface {
	Get(ctx context.Context, resourceGroupName, clusterName string, options *armhybridkubernetes.ConnectedClusterClientGetOptions) (armhybridkubernetes.ConnectedClusterClientGetResponse, error)
	BeginCreate(ctx context.Context, resourceGroupName, clusterName string, connectedCluster armhybridkubernetes.ConnectedCluster, options *armhybridkubernetes.ConnectedClusterClientBeginCreateOptions) (*runtime.Poller[armhybridkubernetes.ConnectedClusterClientCreateResponse], error)
	BeginDelete(ctx context.Context, resourceGroupName, clusterName string, options *armhybridkubernetes.ConnectedClusterClientBeginDeleteOptions) (*runtime.Poller[armhybridkubernetes.ConnectedClusterClientDeleteResponse], error)
}

// ResourceGroups is the part of armresources.ResourceGroupsClient arc uses.
type ResourceGroups interface {
	Get(ctx context.Context, resourceGroupName string, options *armresources.ResourceGroupsClientGetOptions) (armresources.ResourceGroupsClientGetResponse, error)
	CreateOrUpdate(ctx context.Context, resourceGroupName string, parameters armresources.ResourceGroup, options *armresources.ResourceGroupsClientCreateOrUpdateOptions) (armresources.ResourceGroupsClientCreateOrUpdateResponse, error)
}

// ChartLocator answers where the current agents chart is (the Arc data plane).
type ChartLocator interface {
	LatestChart(ctx context.Context, location, releaseTrain string) (string, error)
}

// AgentReleases installs the agents chart (agents.Helm).
type AgentReleases interface {
	Get(ctx context.Context, namespace, name string) (*agents.Release, error)
	Apply(ctx context.Context, req agents.Request) (bool, error)
	Uninstall(ctx context.Context, namespace, name string, timeout time.Duration) (bool, error)
}

// Proxy is the outbound proxy configuration of a level behind the proxy chain.
type Proxy struct {
	HTTPProxy, HTTPSProxy, NoProxy string
	// CACert is the PEM of the proxy's CA certificate (optional).
	CACert []byte
}

// Enabled reports whether any proxy setting is given.
func (p Proxy) Enabled() bool { return p.HTTPProxy != "" || p.HTTPSProxy != "" }

// Spec is one connected cluster as the connect step describes it.
type Spec struct {
	SubscriptionID string
	TenantID       string
	ResourceGroup  string
	ClusterName    string
	Location       string
	Tags           map[string]string
	Distribution   string // "" = detect from the nodes
	Infrastructure string // "" = detect from the nodes
	Proxy          Proxy
	// Chart overrides the chart location the data plane would answer (air-gapped mirror).
	Chart        agents.ChartRef
	ReleaseTrain string // default "stable"
	AutoUpdate   *bool
	// AgentEnvironment is global.azureEnvironment (AZUREPUBLICCLOUD, ...).
	AgentEnvironment string
	Timeout          time.Duration
}

// ResourceID is the ARM id of the connected cluster.
func (s Spec) ResourceID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Kubernetes/connectedClusters/%s",
		s.SubscriptionID, s.ResourceGroup, s.ClusterName)
}

// Onboarder connects and disconnects clusters.
type Onboarder struct {
	Clusters ConnectedClusters
	Groups   ResourceGroups
	Charts   ChartLocator
	Agents   AgentReleases
	Kube     kubernetes.Interface
	// Poll is how often long-running ARM operations and the Connected wait poll (default 10s).
	Poll time.Duration
	// NewKey makes the agent key pair (default RSA-4096).
	NewKey func() (*rsa.PrivateKey, error)
	// Log receives progress lines for the user (never secrets).
	Log io.Writer
}

func (o *Onboarder) poll() time.Duration {
	if o.Poll > 0 {
		return o.Poll
	}
	return 10 * time.Second
}

func (o *Onboarder) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// IsNotFound reports whether err is an ARM 404.
func IsNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// Onboarding is what the cluster's own agents say about where it is onboarded
// (the azure-arc/azure-clusterconfig ConfigMap the agents chart creates).
type Onboarding struct {
	SubscriptionID, ResourceGroup, ResourceName, Location string
}

// ReadOnboarding returns the cluster's onboarding record, or nil when it has
// none (a terminating azure-arc namespace counts as none).
func ReadOnboarding(ctx context.Context, kube kubernetes.Interface) (*Onboarding, error) {
	ns, err := kube.CoreV1().Namespaces().Get(ctx, AgentNamespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %s: %w", AgentNamespace, err)
	}
	cm, err := kube.CoreV1().ConfigMaps(AgentNamespace).Get(ctx, ClusterConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configmap %s/%s: %w", AgentNamespace, ClusterConfigMap, err)
	}
	return &Onboarding{
		SubscriptionID: cm.Data["AZURE_SUBSCRIPTION_ID"],
		ResourceGroup:  cm.Data["AZURE_RESOURCE_GROUP"],
		ResourceName:   cm.Data["AZURE_RESOURCE_NAME"],
		Location:       cm.Data["AZURE_REGION"],
	}, nil
}

func (ob *Onboarding) matches(s Spec) bool {
	return strings.EqualFold(ob.ResourceGroup, s.ResourceGroup) && strings.EqualFold(ob.ResourceName, s.ClusterName) &&
		(ob.SubscriptionID == "" || strings.EqualFold(ob.SubscriptionID, s.SubscriptionID))
}

func (ob *Onboarding) id() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Kubernetes/connectedClusters/%s",
		ob.SubscriptionID, ob.ResourceGroup, ob.ResourceName)
}

// bounded applies the spec's timeout (none when zero) to ctx.
func (s Spec) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.Timeout > 0 {
		return context.WithTimeout(ctx, s.Timeout)
	}
	return context.WithCancel(ctx)
}

// Connect onboards the cluster (or updates an onboarding to the same resource)
// and returns the connected cluster resource once it reports Connected.
func (o *Onboarder) Connect(ctx context.Context, s Spec) (armhybridkubernetes.ConnectedCluster, error) {
	var zero armhybridkubernetes.ConnectedCluster
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	ob, err := ReadOnboarding(ctx, o.Kube)
	if err != nil {
		return zero, err
	}
	if ob != nil && !ob.matches(s) {
		return zero, fmt.Errorf("the cluster in the kubeconfig is already onboarded to Azure Arc as %s; disconnect it there first (wanted %s)", ob.id(), s.ResourceID())
	}
	if err := o.ensureGroup(ctx, s); err != nil {
		return zero, err
	}
	existing, err := o.Clusters.Get(ctx, s.ResourceGroup, s.ClusterName, nil)
	exists := err == nil
	if err != nil && !IsNotFound(err) {
		return zero, fmt.Errorf("get connected cluster %s: %w", s.ResourceID(), err)
	}
	if exists && ob == nil {
		return zero, fmt.Errorf("connected cluster %s already exists but the cluster in the kubeconfig has no Arc agents (configmap %s/%s): it belongs to another Kubernetes cluster, or a previous onboarding failed half-way; delete the resource or choose another clusterName",
			s.ResourceID(), AgentNamespace, ClusterConfigMap)
	}

	var pubCert, privPEM string
	if exists {
		// Re-onboarding the same resource: keep the key pair the agents already use.
		rel, err := o.Agents.Get(ctx, ReleaseNamespace, ReleaseName)
		if err != nil {
			return zero, err
		}
		privPEM = onboardingKey(rel)
		if existing.Properties != nil && existing.Properties.AgentPublicKeyCertificate != nil {
			pubCert = *existing.Properties.AgentPublicKeyCertificate
		}
		if privPEM == "" || pubCert == "" {
			return zero, fmt.Errorf("connected cluster %s exists but its agent key pair cannot be recovered from Helm release %s/%s; disconnect and connect again", s.ResourceID(), ReleaseNamespace, ReleaseName)
		}
		o.logf("connected cluster %s exists and this cluster's agents point at it: updating", s.ResourceID())
	} else {
		newKey := o.NewKey
		if newKey == nil {
			newKey = func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 4096) }
		}
		key, err := newKey()
		if err != nil {
			return zero, fmt.Errorf("generate agent key pair: %w", err)
		}
		pubCert, privPEM = EncodeKeyPair(key)
	}

	if s.Distribution == "" || s.Infrastructure == "" {
		nodes, err := o.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return zero, fmt.Errorf("list nodes to detect distribution/infrastructure: %w", err)
		}
		d, i := Detect(nodes.Items)
		if s.Distribution == "" {
			s.Distribution = d
		}
		if s.Infrastructure == "" {
			s.Infrastructure = i
		}
	}

	body := armhybridkubernetes.ConnectedCluster{
		Location: to.Ptr(s.Location),
		Identity: &armhybridkubernetes.ConnectedClusterIdentity{Type: to.Ptr(armhybridkubernetes.ResourceIdentityTypeSystemAssigned)},
		Tags:     ptrMap(s.Tags),
		Properties: &armhybridkubernetes.ConnectedClusterProperties{
			AgentPublicKeyCertificate: to.Ptr(pubCert),
			Distribution:              to.Ptr(s.Distribution),
			Infrastructure:            to.Ptr(s.Infrastructure),
		},
	}
	o.logf("PUT %s (distribution %s, infrastructure %s)", s.ResourceID(), s.Distribution, s.Infrastructure)
	poller, err := o.Clusters.BeginCreate(ctx, s.ResourceGroup, s.ClusterName, body, nil)
	if err != nil {
		return zero, fmt.Errorf("create connected cluster %s: %w", s.ResourceID(), err)
	}
	created, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: o.poll()})
	if err != nil {
		return zero, fmt.Errorf("create connected cluster %s: %w", s.ResourceID(), err)
	}
	if st := provisioningState(created.ConnectedCluster); st != "" && st != string(armhybridkubernetes.ProvisioningStateSucceeded) {
		return zero, fmt.Errorf("create connected cluster %s: provisioning state %s", s.ResourceID(), st)
	}

	chartRef := s.Chart
	if chartRef.Location == "" {
		train := s.ReleaseTrain
		if train == "" {
			train = "stable"
		}
		loc, err := o.Charts.LatestChart(ctx, s.Location, train)
		if err != nil {
			return zero, err
		}
		chartRef.Location = loc
	}
	tenant := s.TenantID
	if created.Identity != nil && created.Identity.TenantID != nil && *created.Identity.TenantID != "" {
		tenant = *created.Identity.TenantID
	}
	vals := AgentValues(s, tenant, privPEM)
	o.logf("helm upgrade --install %s %s -n %s", ReleaseName, chartRef.Location, ReleaseNamespace)
	changed, err := o.Agents.Apply(ctx, agents.Request{
		Namespace: ReleaseNamespace, Name: ReleaseName, Chart: chartRef, Values: vals,
		Timeout: remaining(ctx, 10*time.Minute), Wait: true,
	})
	if err != nil {
		return zero, err
	}
	if !changed {
		o.logf("agents release %s/%s is up to date", ReleaseNamespace, ReleaseName)
	}
	return o.waitConnected(ctx, s)
}

func (o *Onboarder) waitConnected(ctx context.Context, s Spec) (armhybridkubernetes.ConnectedCluster, error) {
	last := "unknown"
	for {
		got, err := o.Clusters.Get(ctx, s.ResourceGroup, s.ClusterName, nil)
		if err != nil && ctx.Err() == nil {
			return got.ConnectedCluster, fmt.Errorf("get connected cluster %s: %w", s.ResourceID(), err)
		}
		if err == nil {
			if p := got.Properties; p != nil && p.ConnectivityStatus != nil {
				last = string(*p.ConnectivityStatus)
				if *p.ConnectivityStatus == armhybridkubernetes.ConnectivityStatusConnected {
					o.logf("connected cluster %s is Connected", s.ResourceID())
					return got.ConnectedCluster, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return got.ConnectedCluster, fmt.Errorf("connected cluster %s did not report Connected in time (last connectivity status %s): %w", s.ResourceID(), last, ctx.Err())
		case <-time.After(o.poll()):
		}
	}
}

// Disconnect deletes the connected cluster resource, uninstalls the agents and
// removes their namespaces. Anything already gone counts as done.
func (o *Onboarder) Disconnect(ctx context.Context, s Spec) error {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	ob, err := ReadOnboarding(ctx, o.Kube)
	if err != nil {
		return err
	}
	if ob != nil && !ob.matches(s) {
		return fmt.Errorf("the cluster in the kubeconfig is onboarded as %s, not %s: refusing to disconnect it", ob.id(), s.ResourceID())
	}
	o.logf("DELETE %s", s.ResourceID())
	poller, err := o.Clusters.BeginDelete(ctx, s.ResourceGroup, s.ClusterName, nil)
	switch {
	case IsNotFound(err):
		o.logf("connected cluster %s does not exist", s.ResourceID())
	case err != nil:
		return fmt.Errorf("delete connected cluster %s: %w", s.ResourceID(), err)
	default:
		if _, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: o.poll()}); err != nil && !IsNotFound(err) {
			return fmt.Errorf("delete connected cluster %s: %w", s.ResourceID(), err)
		}
	}
	removed, err := o.Agents.Uninstall(ctx, ReleaseNamespace, ReleaseName, remaining(ctx, 10*time.Minute))
	if err != nil {
		return err
	}
	if removed {
		o.logf("uninstalled Helm release %s/%s", ReleaseNamespace, ReleaseName)
	}
	return o.deleteNamespaces(ctx, AgentNamespace, ReleaseNamespace)
}

// deleteNamespaces deletes the namespaces and waits until each is gone or
// terminating (the namespace controller finishes the rest).
func (o *Onboarder) deleteNamespaces(ctx context.Context, names ...string) error {
	for _, n := range names {
		err := o.Kube.CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", n, err)
		}
	}
	for _, n := range names {
		for {
			ns, err := o.Kube.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && (ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating)) {
				break
			}
			if err != nil {
				return fmt.Errorf("wait for namespace %s deletion: %w", n, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("namespace %s still present: %w", n, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func (o *Onboarder) ensureGroup(ctx context.Context, s Spec) error {
	_, err := o.Groups.Get(ctx, s.ResourceGroup, nil)
	if err == nil {
		return nil
	}
	if !IsNotFound(err) {
		return fmt.Errorf("get resource group %s: %w", s.ResourceGroup, err)
	}
	o.logf("creating resource group %s in %s", s.ResourceGroup, s.Location)
	_, err = o.Groups.CreateOrUpdate(ctx, s.ResourceGroup, armresources.ResourceGroup{Location: to.Ptr(s.Location), Tags: ptrMap(s.Tags)}, nil)
	if err != nil {
		return fmt.Errorf("create resource group %s: %w", s.ResourceGroup, err)
	}
	return nil
}

// EncodeKeyPair returns the agentPublicKeyCertificate (base64 of the DER
// PKCS#1 RSAPublicKey) and the PEM "RSA PRIVATE KEY" the agents are given.
func EncodeKeyPair(key *rsa.PrivateKey) (publicCert, privatePEM string) {
	publicCert = base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&key.PublicKey))
	privatePEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	return publicCert, privatePEM
}

// AgentValues are the Helm values `az connectedk8s connect` passes to the agents chart.
func AgentValues(s Spec, tenantID, privateKeyPEM string) map[string]any {
	env := s.AgentEnvironment
	if env == "" {
		env = "AZUREPUBLICCLOUD"
	}
	global := map[string]any{
		"subscriptionId":       s.SubscriptionID,
		"resourceGroupName":    s.ResourceGroup,
		"resourceName":         s.ClusterName,
		"location":             s.Location,
		"tenantId":             tenantID,
		"kubernetesDistro":     s.Distribution,
		"kubernetesInfra":      s.Infrastructure,
		"onboardingPrivateKey": privateKeyPEM,
		"azureEnvironment":     env,
	}
	if s.Proxy.Enabled() || s.Proxy.NoProxy != "" {
		global["isProxyEnabled"] = true
		global["httpProxy"] = s.Proxy.HTTPProxy
		global["httpsProxy"] = s.Proxy.HTTPSProxy
		global["noProxy"] = s.Proxy.NoProxy
	}
	if len(s.Proxy.CACert) > 0 {
		global["proxyCert"] = string(s.Proxy.CACert)
		global["isCustomCert"] = true
	}
	sys := map[string]any{
		"spnOnboarding":        false,
		"clusterconnect-agent": map[string]any{"enabled": true},
	}
	if s.AutoUpdate != nil {
		sys["azureArcAgents"] = map[string]any{"autoUpdate": *s.AutoUpdate}
	}
	return map[string]any{"global": global, "systemDefaultValues": sys}
}

func onboardingKey(rel *agents.Release) string {
	if rel == nil {
		return ""
	}
	g, _ := rel.Values["global"].(map[string]any)
	k, _ := g["onboardingPrivateKey"].(string)
	return k
}

// Detect guesses the Kubernetes distribution and infrastructure from the
// nodes' labels, provider ids and kubelet versions, like the Azure CLI.
func Detect(nodes []corev1.Node) (distribution, infrastructure string) {
	distribution, infrastructure = "generic", "generic"
	for _, n := range nodes {
		l := n.Labels
		pid := n.Spec.ProviderID
		kv := n.Status.NodeInfo.KubeletVersion
		switch {
		case strings.HasPrefix(pid, "azure://"):
			infrastructure = "azure"
		case strings.HasPrefix(pid, "aws://"):
			infrastructure = "aws"
		case strings.HasPrefix(pid, "gce://"):
			infrastructure = "gcp"
		case strings.HasPrefix(pid, "vsphere://"):
			infrastructure = "vsphere"
		}
		switch {
		case l["kubernetes.azure.com/cluster"] != "":
			distribution = "aks"
		case l["eks.amazonaws.com/nodegroup"] != "" || strings.Contains(kv, "-eks-"):
			distribution = "eks"
		case l["cloud.google.com/gke-nodepool"] != "" || strings.Contains(kv, "-gke."):
			distribution = "gke"
		case l["node.openshift.io/os_id"] != "":
			distribution = "openshift"
		case strings.Contains(kv, "+k3s"):
			distribution = "k3s"
		case l["microk8s.io/cluster"] != "":
			distribution = "microk8s"
		case strings.HasPrefix(pid, "kind://"):
			distribution = "kind"
		}
		if distribution != "generic" {
			break
		}
	}
	return distribution, infrastructure
}

func provisioningState(cc armhybridkubernetes.ConnectedCluster) string {
	if cc.Properties == nil || cc.Properties.ProvisioningState == nil {
		return ""
	}
	return string(*cc.Properties.ProvisioningState)
}

func ptrMap(m map[string]string) map[string]*string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

func remaining(ctx context.Context, def time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return def
}
