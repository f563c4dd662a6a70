package arc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/edgeframe/edgeframe/mixin/pkg/arc"
)

func TestDetect(t *testing.T) {
	node := func(labels map[string]string, provider, kubelet string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.NodeSpec{ProviderID: provider},
			Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubelet}}}
	}
	cases := []struct {
		name        string
		nodes       []corev1.Node
		distro, inf string
	}{
		{"none", nil, "generic", "generic"},
		{"k3s", []corev1.Node{node(nil, "k3s://edge-1", "v1.31.4+k3s1")}, "k3s", "generic"},
		{"aks", []corev1.Node{node(map[string]string{"kubernetes.azure.com/cluster": "MC_rg"}, "azure:///subscriptions/x", "v1.30.0")}, "aks", "azure"},
		{"eks", []corev1.Node{node(map[string]string{"eks.amazonaws.com/nodegroup": "ng"}, "aws:///eu-west-1a/i-1", "v1.30.0-eks-abc")}, "eks", "aws"},
		{"gke", []corev1.Node{node(map[string]string{"cloud.google.com/gke-nodepool": "p"}, "gce://proj/zone/n", "v1.30.0-gke.1")}, "gke", "gcp"},
		{"openshift on vsphere", []corev1.Node{node(map[string]string{"node.openshift.io/os_id": "rhcos"}, "vsphere://4211", "v1.29.0")}, "openshift", "vsphere"},
		{"kind", []corev1.Node{node(nil, "kind://docker/kind/kind-control-plane", "v1.31.0")}, "kind", "generic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, i := arc.Detect(tc.nodes)
			if d != tc.distro || i != tc.inf {
				t.Fatalf("Detect = %s/%s, want %s/%s", d, i, tc.distro, tc.inf)
			}
		})
	}
}

func TestAgentValuesWithoutProxy(t *testing.T) {
	v := arc.AgentValues(arc.Spec{SubscriptionID: "s", ResourceGroup: "rg", ClusterName: "c", Location: "westeurope", Distribution: "k3s", Infrastructure: "generic"}, "t", "KEY")
	g := v["global"].(map[string]any)
	if _, ok := g["isProxyEnabled"]; ok {
		t.Fatal("proxy values without a proxy")
	}
	if g["azureEnvironment"] != "AZUREPUBLICCLOUD" || g["onboardingPrivateKey"] != "KEY" || g["tenantId"] != "t" {
		t.Fatalf("global = %v", g)
	}
	no := false
	v = arc.AgentValues(arc.Spec{AutoUpdate: &no, AgentEnvironment: "AZUREUSGOVERNMENTCLOUD"}, "t", "KEY")
	if v["systemDefaultValues"].(map[string]any)["azureArcAgents"].(map[string]any)["autoUpdate"] != false ||
		v["global"].(map[string]any)["azureEnvironment"] != "AZUREUSGOVERNMENTCLOUD" {
		t.Fatalf("values = %v", v)
	}
}

func TestDataPlaneErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"server error", http.StatusInternalServerError, "boom", "HTTP 500: boom"},
		{"no path", http.StatusOK, `{"other":"x"}`, "no repositoryPath"},
		{"ok", http.StatusOK, `{"repositoryPath":"mcr.microsoft.com/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			got, err := arc.DataPlane{Endpoint: func(string) string { return srv.URL }}.LatestChart(context.Background(), "westeurope", "stable")
			if tc.want == "" {
				if err != nil || !strings.HasSuffix(got, "azure-arc-k8sagents:1.21.10") {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if got := arc.EndpointFor("azure.cn")("China North 3"); got != "https://chinanorth3.dp.kubernetesconfiguration.azure.cn" {
		t.Fatalf("endpoint %s", got)
	}
}
