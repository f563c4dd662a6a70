package arc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/hybridkubernetes/armhybridkubernetes"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/edgeframe/edgeframe/mixin/pkg/agents"
	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
	"github.com/edgeframe/edgeframe/test/azurefake"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
)

const sub = "00000000-0000-0000-0000-000000000001"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// key returns one RSA-4096 key for the whole test binary (generating it is slow).
func key(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 4096)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

// dataPlane is the Arc data plane's GetLatestHelmPackagePath, answering chart.
func dataPlane(t *testing.T, chart string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/azure-arc-k8sagents/GetLatestHelmPackagePath" || r.URL.Query().Get("api-version") != "2019-11-01-preview" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"repositoryPath": chart})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

type env struct {
	arm  *azurefake.ARM
	ob   *arc.Onboarder
	kube kubernetes.Interface
	helm *agents.Helm
	log  *strings.Builder
	dp   *[]string
}

func newEnv(t *testing.T, kubeconfig string, kube kubernetes.Interface) *env {
	t.Helper()
	a := azurefake.New(sub)
	f, err := armhybridkubernetes.NewClientFactory(sub, azurefake.Credential(), a.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	rg, err := armresources.NewResourceGroupsClient(sub, azurefake.Credential(), a.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	chart, _ := filepath.Abs(filepath.Join("testdata", "azure-arc-k8sagents"))
	dp, calls := dataPlane(t, chart)
	h := agents.FromKubeconfig(kubeconfig, "", nil)
	log := &strings.Builder{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	return &env{
		arm: a, kube: kube, helm: h, log: log, dp: calls,
		ob: &arc.Onboarder{
			Clusters: f.NewConnectedClusterClient(), Groups: rg,
			Charts: arc.DataPlane{Endpoint: func(string) string { return dp.URL }, Credential: azurefake.Credential(), Scope: "https://management.azure.com/.default"},
			Agents: h, Kube: kube, Poll: 5 * time.Millisecond, Log: log,
			NewKey: func() (*rsa.PrivateKey, error) { return key(t), nil },
		},
	}
}

func spec() arc.Spec {
	return arc.Spec{
		SubscriptionID: sub, TenantID: "tenant-from-env", ResourceGroup: "rg-edge-l3", ClusterName: "l3-site-01",
		Location: "westeurope", Tags: map[string]string{"edge.layer": "l3"},
		Proxy:   arc.Proxy{HTTPProxy: "http://proxy.l4:3128", HTTPSProxy: "http://proxy.l4:3128", NoProxy: "10.0.0.0/8,.svc", CACert: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
		Timeout: 2 * time.Minute,
	}
}

// TestConnectAgainstRealAPIServer: the agent Helm install on a real kube-apiserver,
// ARM on the SDK fakes, the data plane over HTTP.
func TestConnectAgainstRealAPIServer(t *testing.T) {
	k := kubeenv.StartAPIServer(t)
	kube, err := kubernetes.NewForConfig(k.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// a k3s node so the distribution is detected
	_, err = kube.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-node-1"},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.31.4+k3s1"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, k.Kubeconfig, kube)
	e.arm.ConnectAfterGets = 2

	t.Run("connect onboards", func(t *testing.T) {
		cc, err := e.ob.Connect(ctx, spec())
		if err != nil {
			t.Fatal(err)
		}
		if *cc.Properties.ConnectivityStatus != armhybridkubernetes.ConnectivityStatusConnected {
			t.Fatalf("status %s", *cc.Properties.ConnectivityStatus)
		}
		if _, ok := e.arm.Group("rg-edge-l3"); !ok {
			t.Fatal("resource group not created")
		}
		stored, _ := e.arm.Cluster("rg-edge-l3", "l3-site-01")
		p := stored.Properties
		if *p.Distribution != "k3s" || *p.Infrastructure != "generic" || *stored.Identity.Type != armhybridkubernetes.ResourceIdentityTypeSystemAssigned || *stored.Tags["edge.layer"] != "l3" {
			t.Fatalf("PUT body: distribution %s infrastructure %s identity %s tags %v", *p.Distribution, *p.Infrastructure, *stored.Identity.Type, stored.Tags)
		}
		// agentPublicKeyCertificate is base64 DER PKCS#1 of the key the agents got
		der, err := base64.StdEncoding.DecodeString(*p.AgentPublicKeyCertificate)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		if pub.N.BitLen() != 4096 {
			t.Fatalf("agent key has %d bits", pub.N.BitLen())
		}

		rel, err := e.helm.Get(ctx, arc.ReleaseNamespace, arc.ReleaseName)
		if err != nil || rel == nil {
			t.Fatalf("release: %v %v", rel, err)
		}
		if rel.Revision != 1 || rel.ChartName != "azure-arc-k8sagents" || rel.Status != "deployed" {
			t.Fatalf("release %+v", rel)
		}
		g := rel.Values["global"].(map[string]any)
		want := map[string]any{
			"subscriptionId": sub, "resourceGroupName": "rg-edge-l3", "resourceName": "l3-site-01", "location": "westeurope",
			"tenantId": e.arm.TenantID, "kubernetesDistro": "k3s", "kubernetesInfra": "generic", "azureEnvironment": "AZUREPUBLICCLOUD",
			"isProxyEnabled": true, "httpsProxy": "http://proxy.l4:3128", "noProxy": "10.0.0.0/8,.svc", "isCustomCert": true,
		}
		for k, v := range want {
			if g[k] != v {
				t.Errorf("global.%s = %v, want %v", k, g[k], v)
			}
		}
		block, _ := pem.Decode([]byte(g["onboardingPrivateKey"].(string)))
		if block == nil || block.Type != "RSA PRIVATE KEY" {
			t.Fatal("onboardingPrivateKey is not an RSA PRIVATE KEY PEM")
		}
		priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil || priv.PublicKey.N.Cmp(pub.N) != 0 {
			t.Fatal("onboarding private key does not match the public key on the resource")
		}
		sys := rel.Values["systemDefaultValues"].(map[string]any)
		if sys["spnOnboarding"] != false || sys["clusterconnect-agent"].(map[string]any)["enabled"] != true {
			t.Errorf("systemDefaultValues = %v", sys)
		}
		// the chart's objects are really in the cluster
		cm, err := kube.CoreV1().ConfigMaps(arc.AgentNamespace).Get(ctx, arc.ClusterConfigMap, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data["AZURE_RESOURCE_NAME"] != "l3-site-01" || cm.Data["KUBERNETES_DISTRO"] != "k3s" {
			t.Fatalf("cluster config %v", cm.Data)
		}
		if len(*e.dp) != 1 || !strings.Contains((*e.dp)[0], "releaseTrain=stable") || !strings.Contains((*e.dp)[0], "auth=Bearer ") {
			t.Fatalf("data plane calls %v", *e.dp)
		}
	})

	t.Run("connect twice changes nothing", func(t *testing.T) {
		before, _ := e.arm.Cluster("rg-edge-l3", "l3-site-01")
		if _, err := e.ob.Connect(ctx, spec()); err != nil {
			t.Fatal(err)
		}
		rel, _ := e.helm.Get(ctx, arc.ReleaseNamespace, arc.ReleaseName)
		if rel.Revision != 1 {
			t.Fatalf("release revision %d after the second connect, want 1", rel.Revision)
		}
		after, _ := e.arm.Cluster("rg-edge-l3", "l3-site-01")
		if *after.Properties.AgentPublicKeyCertificate != *before.Properties.AgentPublicKeyCertificate {
			t.Fatal("second connect replaced the agent key")
		}
		if n := e.arm.CallCount(azurefake.GroupPut); n != 1 {
			t.Fatalf("resource group PUT %d times", n)
		}
	})

	t.Run("connect with changed settings upgrades the release", func(t *testing.T) {
		s := spec()
		s.Proxy = arc.Proxy{}
		if _, err := e.ob.Connect(ctx, s); err != nil {
			t.Fatal(err)
		}
		rel, _ := e.helm.Get(ctx, arc.ReleaseNamespace, arc.ReleaseName)
		if rel.Revision != 2 {
			t.Fatalf("revision %d, want 2", rel.Revision)
		}
		if _, ok := rel.Values["global"].(map[string]any)["httpsProxy"]; ok {
			t.Fatal("proxy values still set")
		}
	})

	t.Run("onboarded elsewhere is an error that says where", func(t *testing.T) {
		s := spec()
		s.ResourceGroup, s.ClusterName = "rg-other", "other-name"
		_, err := e.ob.Connect(ctx, s)
		if err == nil || !strings.Contains(err.Error(), "already onboarded to Azure Arc as /subscriptions/"+sub+"/resourceGroups/rg-edge-l3/providers/Microsoft.Kubernetes/connectedClusters/l3-site-01") {
			t.Fatalf("err = %v", err)
		}
		if err := e.ob.Disconnect(ctx, s); err == nil || !strings.Contains(err.Error(), "refusing to disconnect") {
			t.Fatalf("disconnect of another resource: %v", err)
		}
	})

	t.Run("uninstall removes everything and is idempotent", func(t *testing.T) {
		if err := e.ob.Disconnect(ctx, spec()); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.arm.Cluster("rg-edge-l3", "l3-site-01"); ok {
			t.Fatal("connected cluster resource still present")
		}
		if rel, err := e.helm.Get(ctx, arc.ReleaseNamespace, arc.ReleaseName); err != nil || rel != nil {
			t.Fatalf("release still present: %+v %v", rel, err)
		}
		for _, n := range []string{arc.AgentNamespace, arc.ReleaseNamespace} {
			ns, err := kube.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
			if err == nil && ns.DeletionTimestamp == nil {
				t.Fatalf("namespace %s not deleted", n)
			}
		}
		if err := e.ob.Disconnect(ctx, spec()); err != nil {
			t.Fatalf("second disconnect: %v", err)
		}
	})
}

func TestConnectRefusesResourceOfAnotherCluster(t *testing.T) {
	k := kubeenv.StartAPIServer(t)
	kube, err := kubernetes.NewForConfig(k.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, k.Kubeconfig, kube)
	e.arm.PutCluster("rg-edge-l3", "l3-site-01", armhybridkubernetes.ConnectedCluster{Location: to.Ptr("westeurope")})
	_, err = e.ob.Connect(context.Background(), spec())
	if err == nil || !strings.Contains(err.Error(), "already exists but the cluster in the kubeconfig has no Arc agents") {
		t.Fatalf("err = %v", err)
	}
	if e.arm.CallCount(azurefake.ClusterPut) != 0 {
		t.Fatal("the other cluster's resource was overwritten")
	}
}

func TestConnectFailures(t *testing.T) {
	k := kubeenv.StartAPIServer(t)
	kube, err := kubernetes.NewForConfig(k.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		arm  func(*azurefake.ARM)
		spec func(*arc.Spec)
		want string
	}{
		{"failed provisioning", func(a *azurefake.ARM) { a.FailProvisioning[azurefake.ClusterPut] = true }, nil, "provisioning state Failed"},
		{"conflict", func(a *azurefake.ARM) {
			a.Fail[azurefake.ClusterPut] = azurefake.Failure{Status: 409, Code: "Conflict"}
		}, nil, "RESPONSE 409"},
		{"forbidden resource group", func(a *azurefake.ARM) {
			a.Fail[azurefake.GroupGet] = azurefake.Failure{Status: 403, Code: "AuthorizationFailed"}
		}, nil, "get resource group rg-edge-l3"},
		{"never connects", func(a *azurefake.ARM) { a.NeverConnect = true }, func(s *arc.Spec) { s.Timeout = 3 * time.Second; s.Proxy = arc.Proxy{} }, "did not report Connected in time (last connectivity status Connecting)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, k.Kubeconfig, kube)
			tc.arm(e.arm)
			s := spec()
			if tc.spec != nil {
				tc.spec(&s)
			}
			_, err := e.ob.Connect(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			// leave the API server clean for the next case
			_ = e.ob.Disconnect(context.Background(), s)
		})
	}
}

func TestThrottledARMIsRetried(t *testing.T) {
	k := kubeenv.StartAPIServer(t)
	kube, err := kubernetes.NewForConfig(k.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, k.Kubeconfig, kube)
	e.arm.Throttle[azurefake.ClusterPut] = 2
	e.arm.Throttle[azurefake.ClusterGet] = 1
	s := spec()
	if _, err := e.ob.Connect(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if n := e.arm.CallCount(azurefake.ClusterPut); n != 3 {
		t.Fatalf("PUT attempts %d, want 3", n)
	}
}
