package charts

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// bundleOutput returns the helm3 step output name of a bundle manifest: the resource it
// reads and its JSONPath.
func bundleOutput(t *testing.T, manifest, name string) (resource, namespace, jsonPath string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", manifest))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Install []map[string]struct {
			Outputs []struct {
				Name, ResourceType, ResourceName, Namespace, JSONPath string
			} `json:"outputs"`
		} `json:"install"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	for _, step := range m.Install {
		for _, o := range step["helm3"].Outputs {
			if o.Name == name {
				return o.ResourceType + "/" + o.ResourceName, o.Namespace, o.JSONPath
			}
		}
	}
	t.Fatalf("%s: no helm3 output %s", manifest, name)
	return "", "", ""
}

// TestChainedProxyAddressIsReachableFromTheChild installs a parent level's proxy (profiles l4
// and l3) into a real API server, gives its Service the internal load balancer address a cloud
// controller would, and reads the infrastructure bundle's proxy-address and the platform
// bundle's broker-address outputs the way the helm3 mixin does (kubectl -o jsonpath). What a
// child level receives must be that load balancer address — not a ClusterIP, which exists only
// inside the parent's cluster and is the same pinned address in every level, so the child would
// chain to itself — and the child's proxy, rendered with it as parent.address, must point there.
// A child whose parent address is its own ClusterIP is refused by the chart.
func TestChainedProxyAddressIsReachableFromTheChild(t *testing.T) {
	testkit.SkipShort(t, "etcd and kube-apiserver")
	c := newCluster(t, kubeenv.StartAPIServer(t))
	ctx := context.Background()
	lbIP := map[string]string{"l4": "10.4.0.7", "l3": "10.3.0.7"}
	child := map[string]string{"l4": "l3", "l3": "l2"}
	outputs := [][2]string{{"bundles/infrastructure/porter.yaml", "proxy-address"}, {"bundles/platform/porter.yaml", "broker-address"}}
	for _, parent := range []string{"l4", "l3"} {
		p := profileNamed(t, parent)
		ns := "parent-" + parent
		c.restrictedNamespaces(t, []string{ns})
		childVals := releaseOf(t, profileNamed(t, child[parent]), "envoy-proxy").Values
		for _, rel := range releasesOf(t, p, "envoy-proxy") {
			r, vals := rel.ProfileRelease, rel.Values
			// Each level is its own cluster; here the parent's release gets a namespace and a
			// ClusterIP of its own in the one test API server.
			vals = merge(vals, map[string]any{"service": map[string]any{"clusterIP": ""}})
			if _, err := c.installChart(t, r.Chart, r.Name, ns, vals, false); err != nil {
				t.Fatal(err)
			}
			svc, err := c.cs.CoreV1().Services(ns).Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				t.Errorf("profile %s: the proxy Service is %s: a child cluster cannot reach it", parent, svc.Spec.Type)
			}
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: lbIP[parent]}}
			if _, err := c.cs.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, o := range outputs {
				res, _, jsonPath := bundleOutput(t, o[0], o[1])
				out, err := exec.Command(toolOrSkip(t, "kubectl"), "--kubeconfig", c.api.Kubeconfig,
					"get", res, "-n", ns, "-o", "jsonpath="+jsonPath).CombinedOutput()
				if err != nil {
					t.Fatalf("%s %s: kubectl: %v\n%s", o[0], o[1], err, out)
				}
				addr := strings.TrimSpace(string(out))
				if addr != lbIP[parent] {
					t.Errorf("%s output %s of level %s is %q (ClusterIP %s), want the load balancer address %s", o[0], o[1], parent, addr, svc.Spec.ClusterIP, lbIP[parent])
				}
				if net.ParseIP(addr) == nil {
					continue
				}
				cv := merge(childVals, map[string]any{"parent": map[string]any{"address": addr}})
				b := bootstrap(t, cv)
				for _, cl := range b.GetStaticResources().GetClusters() {
					if cl.GetName() != "parent_https" {
						continue
					}
					got := cl.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress()
					own, _ := childVals["service"].(map[string]any)["clusterIP"].(string)
					if got != addr || got == own {
						t.Errorf("child %s chains to %q (its own ClusterIP %s), want the parent's %s", child[parent], got, own, addr)
					}
				}
			}
		}
	}
	// The chart refuses a parent address equal to the proxy's own ClusterIP.
	self := map[string]any{"parent": map[string]any{"enabled": true, "address": "10.0.0.200"}, "service": map[string]any{"clusterIP": "10.0.0.200"}}
	if _, err := chartrender.Render(ctx, chartDir("envoy-proxy"), self); err == nil || !strings.Contains(err.Error(), "parent.address") {
		t.Errorf("a proxy chained to its own ClusterIP was accepted: %v", err)
	}
}
