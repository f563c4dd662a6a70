package charts

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// aksCorefile is the Corefile AKS ships: it imports the coredns-custom ConfigMap's keys
// (mounted at custom/): *.override inside the default server block, *.server as new blocks.
const aksCorefile = `.:53 {
    errors
    ready
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
    import custom/*.override
}
import custom/*.server
`

// kindCorefile is a Corefile that does not import coredns-custom (kind, kubeadm, EKS).
const kindCorefile = `.:53 {
    errors
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa
    forward . /etc/resolv.conf
    cache 30
    reload
}
`

// coreDNS gives the cluster what every cluster has in kube-system: CoreDNS's Corefile
// ConfigMap (with corefile) and its Deployment (the dns-override hooks restart it).
func (c *cluster) coreDNS(t *testing.T, corefile string) {
	t.Helper()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Data: map[string]string{"Corefile": corefile}}
	if _, err := c.cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
		_, err = c.cs.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"k8s-app": "kube-dns"}
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "coredns", Image: "registry.k8s.io/coredns/coredns:v1.11.3"}}},
			},
		},
	}
	if _, err := c.cs.AppsV1().Deployments("kube-system").Create(ctx, d, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// customKeys returns the data of kube-system/coredns-custom.
func (c *cluster) customKeys(t *testing.T) map[string]string {
	t.Helper()
	cm, err := c.cs.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "coredns-custom", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("kube-system/coredns-custom: %v", err)
	}
	return cm.Data
}

// restartedAt is the rollout-restart annotation of CoreDNS's pod template.
func (c *cluster) restartedAt(t *testing.T) string {
	t.Helper()
	d, err := c.cs.AppsV1().Deployments("kube-system").Get(context.Background(), "coredns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
}

// edgeframeKeys renders dns-override with vals and returns the keys it adds to coredns-custom.
func edgeframeKeys(t *testing.T, vals map[string]any) map[string]string {
	t.Helper()
	apply := configMapData(t, renderChart(t, "dns-override", "dns-override", "edge-system", vals), "dns-override-manifests", "apply.yaml")
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict([]byte(apply), &cm); err != nil {
		t.Fatalf("apply.yaml: %v\n%s", err, apply)
	}
	if cm.Name != "coredns-custom" || cm.Namespace != "kube-system" || len(cm.Data) < 2 {
		t.Fatalf("apply.yaml is not edgeframe's keys of kube-system/coredns-custom:\n%s", apply)
	}
	for k := range cm.Data {
		if !strings.HasPrefix(k, "edgeframe") || !strings.HasSuffix(k, ".override") {
			t.Errorf("apply.yaml sets key %q outside edgeframe*.override", k)
		}
	}
	return cm.Data
}

// TestDNSOverrideOwnsOnlyItsKeys installs dns-override into a real API server that authorizes
// with RBAC, on a cluster that ships kube-system/coredns-custom with keys of its own (as AKS
// does): install, upgrade and uninstall change only edgeframe's keys — the hook Jobs run with
// the chart's ServiceAccount and Role — every other key survives, CoreDNS is restarted after
// each change, and a Corefile that does not import the custom ConfigMap is refused.
func TestDNSOverrideOwnsOnlyItsKeys(t *testing.T) {
	testkit.SkipShort(t, "etcd and kube-apiserver")
	c := newCluster(t, kubeenv.StartAPIServerWith(t, kubeenv.Options{RBAC: true}))
	ctx := context.Background()
	foreign := map[string]string{
		"aks.server":        "example.com:53 {\n  forward . 10.1.2.3\n}\n",
		"operator.override": "log\n",
	}
	shipped := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns-custom", Namespace: "kube-system",
			Labels: map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists", "k8s-app": "kube-dns"}},
		Data: maps.Clone(foreign),
	}
	if _, err := c.cs.CoreV1().ConfigMaps("kube-system").Create(ctx, shipped, metav1.CreateOptions{FieldManager: "addon-manager"}); err != nil {
		t.Fatal(err)
	}
	c.restrictedNamespaces(t, []string{"edge-system"})
	vals := releaseOf(t, profileNamed(t, "l4"), "dns-override").Values
	check := func(step string, ours map[string]string, others map[string]string) {
		t.Helper()
		got := c.customKeys(t)
		for k, v := range others {
			if got[k] != v {
				t.Errorf("%s: key %s of another owner is %q, want %q", step, k, got[k], v)
			}
		}
		for k, v := range ours {
			if got[k] != v {
				t.Errorf("%s: edgeframe key %s is %q, want %q", step, k, got[k], v)
			}
		}
		if len(got) != len(others)+len(ours) {
			t.Errorf("%s: coredns-custom has keys %v, want %v plus %v", step, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(others)), slices.Sorted(maps.Keys(ours)))
		}
	}

	// Install over the shipped ConfigMap.
	if _, err := c.installChart(t, "dns-override", "dns-override", "edge-system", vals, false); err != nil {
		t.Fatalf("install over a shipped coredns-custom: %v", err)
	}
	want := edgeframeKeys(t, vals)
	check("install", want, foreign)
	restart1 := c.restartedAt(t)
	if restart1 == "" {
		t.Error("install: CoreDNS was not restarted")
	}

	// Someone adds a key after the install; an upgrade with a shorter allow-list removes
	// edgeframe's stale keys and keeps theirs.
	cm, err := c.cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns-custom", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["site.override"] = "errors\n"
	if _, err := c.cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	others := maps.Clone(foreign)
	others["site.override"] = "errors\n"
	shorter := merge(vals, map[string]any{"allowList": map[string]any{"wildcardDomains": []any{"*.servicebus.windows.net"}}})
	wantShorter := edgeframeKeys(t, shorter)
	if len(wantShorter) >= len(want) {
		t.Fatalf("the shorter allow-list renders %d keys, the default %d", len(wantShorter), len(want))
	}
	if _, err := c.installChart(t, "dns-override", "dns-override", "edge-system", shorter, true); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	check("upgrade", wantShorter, others)

	// Uninstall removes edgeframe's keys only; the ConfigMap stays.
	c.uninstallRelease(t, "dns-override", "edge-system")
	check("uninstall", nil, others)

	// A Corefile that does not import coredns-custom: CoreDNS would ignore the keys.
	c.coreDNS(t, kindCorefile)
	_, err = c.installChart(t, "dns-override", "dns-override", "edge-system", vals, false)
	if err == nil || !strings.Contains(err.Error(), "import custom/*") {
		t.Fatalf("install with a Corefile that ignores coredns-custom: %v, want a refusal naming the import", err)
	}
	check("refused install", nil, others)

	// Where the cluster has no coredns-custom, server-side apply creates it; uninstall leaves it empty.
	c.coreDNS(t, aksCorefile)
	if err := c.cs.CoreV1().ConfigMaps("kube-system").Delete(ctx, "coredns-custom", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.installChart(t, "dns-override", "dns-override", "edge-system", vals, false); err != nil {
		t.Fatalf("install without coredns-custom: %v", err)
	}
	check("install without a shipped ConfigMap", want, nil)
	c.uninstallRelease(t, "dns-override", "edge-system")
	check("uninstall without a shipped ConfigMap", nil, nil)
}

// profileNamed returns the profile called name.
func profileNamed(t *testing.T, name string) (p chartrender.Profile) {
	t.Helper()
	for _, q := range profiles(t) {
		if q.Name == name {
			return q
		}
	}
	t.Fatalf("no profile %s", name)
	return p
}
