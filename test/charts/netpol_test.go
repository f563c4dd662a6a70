package charts

import (
	"sort"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// peers returns the namespaces the NetworkPolicies of objs let pods reach (egress) or be
// reached from (ingress), by namespaceSelector.
func peers(t *testing.T, objs []*unstructured.Unstructured, direction string) []string {
	t.Helper()
	key := map[string]string{"egress": "to", "ingress": "from"}[direction]
	seen := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "NetworkPolicy" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "spec", direction)
		for _, r := range rules {
			ps, _, _ := unstructured.NestedSlice(r.(map[string]any), key)
			for _, p := range ps {
				if ns, ok, _ := unstructured.NestedString(p.(map[string]any), "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"); ok {
					seen[ns] = true
				}
			}
		}
	}
	var out []string
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// TestSingleClusterNetworkPolicies: in single-cluster mode each level reaches only the level
// above (plus DNS, the Dapr control plane and the shared platform), and is reached only from
// the level below.
func TestSingleClusterNetworkPolicies(t *testing.T) {
	var p chartrender.Profile
	for _, q := range profiles(t) {
		if q.Name == "single-cluster" {
			p = q
		}
	}
	want := map[string]struct{ egress, ingress string }{
		"edge-l2": {"dapr-system,edge-l3,edge-system,kube-system", ""},
		"edge-l3": {"dapr-system,edge-l4,edge-system,kube-system", "edge-l2"},
		"edge-l4": {"dapr-system,edge-system,kube-system", "edge-l3"},
	}
	found := 0
	for _, r := range p.Releases {
		if r.Chart != "edge-workloads" {
			continue
		}
		found++
		objs := objects(t, chartrender.Manifests(renderRelease(t, p, r)))
		deny := false
		for _, o := range objs {
			if o.GetKind() == "NetworkPolicy" && strings.HasSuffix(o.GetName(), "default-deny") {
				types, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "policyTypes")
				deny = strings.Join(types, ",") == "Ingress,Egress"
			}
		}
		if !deny {
			t.Errorf("%s: no default-deny NetworkPolicy for ingress and egress", r.Namespace)
		}
		w := want[r.Namespace]
		if got := strings.Join(peers(t, objs, "egress"), ","); got != w.egress {
			t.Errorf("%s egress to %q, want %q", r.Namespace, got, w.egress)
		}
		if got := strings.Join(peers(t, objs, "ingress"), ","); got != w.ingress {
			t.Errorf("%s ingress from %q, want %q", r.Namespace, got, w.ingress)
		}
	}
	if found != 3 {
		t.Fatalf("single-cluster profile has %d edge-workloads releases, want 3", found)
	}
}
