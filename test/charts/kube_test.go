package charts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testenv/kubeenv"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// cluster is a real API server with Dapr's CRDs and the clients the tests use.
type cluster struct {
	api     *kubeenv.API
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	disc    discovery.DiscoveryInterface
	charts  map[string]*chart.Chart
	created map[string]bool // namespaces created so far
}

func newCluster(t *testing.T, api *kubeenv.API) *cluster {
	t.Helper()
	c := &cluster{api: api, charts: map[string]*chart.Chart{}, created: map[string]bool{}}
	var err error
	if c.cs, err = kubernetes.NewForConfig(api.RESTConfig); err != nil {
		t.Fatal(err)
	}
	if c.dyn, err = dynamic.NewForConfig(api.RESTConfig); err != nil {
		t.Fatal(err)
	}
	if c.disc, err = discovery.NewDiscoveryClientForConfig(api.RESTConfig); err != nil {
		t.Fatal(err)
	}
	applyDaprCRDs(t, api.RESTConfig)
	c.coreDNS(t, aksCorefile)
	return c
}

// applyDaprCRDs creates the CRDs shipped in the dapr module and waits until they are served.
func applyDaprCRDs(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ext, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(moduleDir(t, daprModule), "charts", "dapr", "crds", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no CRDs in the dapr module")
	}
	ctx := context.Background()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create CRD %s: %v", crd.Name, err)
		}
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range got.Status.Conditions {
				if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("CRD %s not established: %v", crd.Name, err)
		}
	}
}

// restrictedNamespaces creates the namespaces (if missing) enforcing the restricted Pod
// Security profile.
func (c *cluster) restrictedNamespaces(t *testing.T, names []string) {
	t.Helper()
	for _, n := range names {
		if c.created[n] {
			continue
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce":         "restricted",
			"pod-security.kubernetes.io/enforce-version": "latest",
		}}}
		if _, err := c.cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", n, err)
		}
		c.created[n] = true
	}
}

// helm returns a Helm SDK action configuration for namespace.
func (c *cluster) helm(t *testing.T, namespace string) *action.Configuration {
	t.Helper()
	cfg := new(action.Configuration)
	if err := cfg.Init(kube.GetConfig(c.api.Kubeconfig, "", namespace), namespace, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (c *cluster) chart(t *testing.T, name string) *chart.Chart {
	t.Helper()
	if ch, ok := c.charts[name]; ok {
		return ch
	}
	ch, err := chartrender.LoadChart(chartDir(name))
	if err != nil {
		t.Fatal(err)
	}
	c.charts[name] = ch
	return ch
}

// install installs (or upgrades, when upgrade is set) release r of profile p with the
// profile's values merged with extra. Helm's hooks are run by runHooks (no kubelet runs a
// hook Job next to this API server).
func (c *cluster) install(t *testing.T, p chartrender.Profile, r chartrender.ProfileRelease, extra map[string]any, upgrade bool) *release.Release {
	t.Helper()
	vals, err := p.Values(r)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := c.installChart(t, r.Chart, r.Name, r.Namespace, merge(vals, extra), upgrade)
	if err != nil {
		t.Fatalf("profile %s: helm install/upgrade %s/%s (%s): %v", p.Name, r.Namespace, r.Name, r.Chart, err)
	}
	return rel
}

// installChart installs or upgrades chart as release name in namespace, then runs the
// release's post-install or post-upgrade hook Jobs.
func (c *cluster) installChart(t *testing.T, chartName, name, namespace string, vals map[string]any, upgrade bool) (*release.Release, error) {
	t.Helper()
	cfg := c.helm(t, namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rel *release.Release
	var err error
	event := release.HookPostInstall
	if upgrade {
		u := action.NewUpgrade(cfg)
		u.Namespace, u.Timeout, u.DisableHooks = namespace, time.Minute, true
		rel, err = u.RunWithContext(ctx, name, c.chart(t, chartName), vals)
		event = release.HookPostUpgrade
	} else {
		i := action.NewInstall(cfg)
		i.ReleaseName, i.Namespace, i.Timeout, i.DisableHooks = name, namespace, time.Minute, true
		rel, err = i.RunWithContext(ctx, c.chart(t, chartName), vals)
	}
	if err != nil {
		return nil, err
	}
	if rel.Info.Status != release.StatusDeployed {
		t.Fatalf("release %s/%s is %s", namespace, name, rel.Info.Status)
	}
	c.runHooks(t, rel, event)
	return rel, nil
}

func (c *cluster) uninstall(t *testing.T, r chartrender.ProfileRelease) {
	t.Helper()
	c.uninstallRelease(t, r.Name, r.Namespace)
}

// uninstallRelease runs the release's pre-delete hook Jobs, then uninstalls it.
func (c *cluster) uninstallRelease(t *testing.T, name, namespace string) {
	t.Helper()
	cfg := c.helm(t, namespace)
	rel, err := action.NewGet(cfg).Run(name)
	if err != nil {
		t.Fatalf("helm get %s/%s: %v", namespace, name, err)
	}
	c.runHooks(t, rel, release.HookPreDelete)
	u := action.NewUninstall(cfg)
	u.Timeout, u.DisableHooks = time.Minute, true
	if _, err := u.Run(name); err != nil {
		t.Fatalf("helm uninstall %s/%s: %v", namespace, name, err)
	}
}

// runHooks does what Helm and the kubelet do with the release's hook Jobs for event: each
// Job's pod must pass the namespace's Pod Security admission (server-side dry run), then its
// init containers and containers run in order — each a kubectl command (the hook image is
// kubectl only) run by the real kubectl as the Job's ServiceAccount, with the Job's ConfigMap
// volumes read from the API server into files.
func (c *cluster) runHooks(t *testing.T, rel *release.Release, event release.HookEvent) {
	t.Helper()
	for _, h := range rel.Hooks {
		if h.Kind != "Job" || !slices.Contains(h.Events, event) {
			continue
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(h.Manifest), &job); err != nil {
			t.Fatalf("hook %s: %v", h.Name, err)
		}
		tmpl, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&job.Spec.Template)
		if err != nil {
			t.Fatal(err)
		}
		c.dryRunPod(t, rel.Namespace, job.Name, tmpl)
		dir := t.TempDir()
		mounts := map[string]string{} // volume name → local directory
		for _, v := range job.Spec.Template.Spec.Volumes {
			local := filepath.Join(dir, "volumes", v.Name)
			if err := os.MkdirAll(local, 0o755); err != nil {
				t.Fatal(err)
			}
			mounts[v.Name] = local
			if v.ConfigMap == nil {
				continue
			}
			cm, err := c.cs.CoreV1().ConfigMaps(rel.Namespace).Get(context.Background(), v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("hook %s: volume %s: %v", job.Name, v.Name, err)
			}
			for k, d := range cm.Data {
				if err := os.WriteFile(filepath.Join(local, k), []byte(d), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		sa := fmt.Sprintf("system:serviceaccount:%s:%s", rel.Namespace, job.Spec.Template.Spec.ServiceAccountName)
		spec := job.Spec.Template.Spec
		// A failed pod is retried, its init containers again, up to the Job's backoffLimit
		// (the Job controller waits 10 s and more between pods; 1 s here).
		attempts := 1
		if job.Spec.BackoffLimit != nil {
			attempts += int(*job.Spec.BackoffLimit)
		}
		var failure string
		for a := 0; a < attempts; a++ {
			if a > 0 {
				time.Sleep(time.Second)
			}
			failure = ""
			for _, ctr := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
				if len(ctr.Command) != 1 || filepath.Base(ctr.Command[0]) != "kubectl" {
					t.Fatalf("hook %s container %s: command %v is not kubectl", job.Name, ctr.Name, ctr.Command)
				}
				args := []string{"--kubeconfig", c.api.Kubeconfig, "--as", sa}
				for _, arg := range ctr.Args {
					for _, m := range ctr.VolumeMounts {
						if strings.HasPrefix(arg, m.MountPath+"/") {
							arg = mounts[m.Name] + strings.TrimPrefix(arg, m.MountPath)
							break
						}
					}
					args = append(args, arg)
				}
				cmd := exec.Command(toolOrSkip(t, "kubectl"), args...)
				cmd.Env = append(os.Environ(), "HOME="+dir)
				out, err := cmd.CombinedOutput()
				if err != nil {
					failure = fmt.Sprintf("container %s: kubectl %s: %v\n%s", ctr.Name, strings.Join(ctr.Args, " "), err, out)
					t.Logf("hook %s (%s) attempt %d: %s", job.Name, event, a+1, failure)
					break
				}
				t.Logf("hook %s (%s) %s: %s", job.Name, event, ctr.Name, strings.TrimSpace(string(out)))
			}
			if failure == "" {
				break
			}
		}
		if failure != "" {
			t.Fatalf("hook %s (%s) failed %d times: %s", job.Name, event, attempts, failure)
		}
	}
}

// merge returns a deep merge of b over a.
func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = merge(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// podSecurityDryRun submits a Pod made from every Deployment's template in rel with a
// server-side dry run: the namespace's restricted Pod Security admission judges it.
func (c *cluster) podSecurityDryRun(t *testing.T, rel *release.Release) int {
	t.Helper()
	n := 0
	for _, o := range objects(t, rel.Manifest) {
		if o.GetKind() != "Deployment" {
			continue
		}
		tmpl, _, _ := unstructured.NestedMap(o.Object, "spec", "template")
		c.dryRunPod(t, rel.Namespace, o.GetName(), tmpl)
		n++
	}
	return n
}

// dryRunPod submits a Pod made from a pod template with a server-side dry run.
func (c *cluster) dryRunPod(t *testing.T, namespace, owner string, tmpl map[string]any) {
	t.Helper()
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": tmpl["metadata"], "spec": tmpl["spec"]}}
	pod.SetName(owner + "-dryrun")
	_, err := c.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace(namespace).
		Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Errorf("pod of %s/%s rejected: %v", namespace, owner, err)
	}
}

// finishClaimDeletion does the controller-manager's part of deleting claims (there is none
// next to this bare API server): Helm deleted them, the pvc-protection finalizer holds them.
func (c *cluster) finishClaimDeletion(t *testing.T, namespaces []string) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range namespaces {
		pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, pvc := range pvcs.Items {
			if pvc.DeletionTimestamp == nil {
				continue // not deleted by the uninstall: leftovers reports it
			}
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			if _, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, pvc.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
	}
}

// leftovers lists every namespaced object in namespaces (except what the cluster itself puts
// there) plus the edgeframe-labelled objects in kube-system.
func (c *cluster) leftovers(t *testing.T, namespaces []string) []string {
	t.Helper()
	lists, err := c.disc.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		t.Fatal(err)
	}
	var out []string
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, res := range l.APIResources {
			if !strings.Contains(strings.Join(res.Verbs, ","), "list") || res.Name == "events" {
				continue
			}
			gvr := gv.WithResource(res.Name)
			check := func(ns, selector string) {
				items, err := c.dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
				if err != nil {
					return
				}
				for _, it := range items.Items {
					if (res.Name == "serviceaccounts" && it.GetName() == "default") || (res.Name == "configmaps" && it.GetName() == "kube-root-ca.crt") {
						continue
					}
					out = append(out, fmt.Sprintf("%s %s/%s", res.Name, ns, it.GetName()))
				}
			}
			for _, ns := range namespaces {
				check(ns, "")
			}
			check("kube-system", "app.kubernetes.io/part-of=edgeframe")
		}
	}
	sort.Strings(out)
	return out
}

// TestInstallProfilesIntoAPIServer installs every profile with the Helm SDK into a real
// kube-apiserver + etcd that has Dapr's CRDs (so our Component, Resiliency, Configuration and
// Subscription objects are validated by the API server), checks every pod template against
// the restricted Pod Security profile, upgrades with changed values and uninstalls, leaving
// nothing behind.
func TestInstallProfilesIntoAPIServer(t *testing.T) {
	c := newCluster(t, kubeenv.StartAPIServer(t))
	c.restrictedNamespaces(t, []string{"psa-probe"})
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "root", Namespace: "psa-probe"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.cs.CoreV1().Pods("psa-probe").Create(context.Background(), bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("a pod without security context was not rejected by Pod Security admission: %v", err)
	}

	for _, p := range profiles(t) {
		t.Run(p.Name, func(t *testing.T) {
			c.restrictedNamespaces(t, p.Namespaces)
			pods := 0
			daprKinds := map[string]int{}
			for _, r := range p.Releases {
				rel := c.install(t, p, r, nil, false)
				pods += c.podSecurityDryRun(t, rel)
				for _, o := range objects(t, rel.Manifest) {
					if strings.HasPrefix(o.GetAPIVersion(), "dapr.io/") {
						daprKinds[o.GetKind()]++
						gvr := schema.GroupVersionResource{Group: "dapr.io", Version: strings.TrimPrefix(o.GetAPIVersion(), "dapr.io/"), Resource: strings.ToLower(o.GetKind()) + "s"}
						if o.GetKind() == "Resiliency" {
							gvr.Resource = "resiliencies"
						}
						if _, err := c.dyn.Resource(gvr).Namespace(r.Namespace).Get(context.Background(), o.GetName(), metav1.GetOptions{}); err != nil {
							t.Errorf("%s %s/%s not stored: %v", o.GetKind(), r.Namespace, o.GetName(), err)
						}
					}
				}
			}
			t.Logf("profile %s: %d releases installed, %d pod templates pass restricted Pod Security, Dapr objects %v", p.Name, len(p.Releases), pods, daprKinds)

			// Upgrade with changed values: the broker's queue limit reaches its ConfigMap.
			for _, r := range p.Releases {
				if r.Chart != "mosquitto" {
					continue
				}
				c.install(t, p, r, map[string]any{"queue": map[string]any{"maxQueuedMessages": 4242}}, true)
				cm, err := c.cs.CoreV1().ConfigMaps(r.Namespace).Get(context.Background(), r.Name+"-config", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(cm.Data["mosquitto.conf"], "max_queued_messages 4242\n") {
					t.Errorf("upgrade did not change %s/%s-config", r.Namespace, r.Name)
				}
				break
			}

			for i := len(p.Releases) - 1; i >= 0; i-- {
				c.uninstall(t, p.Releases[i])
			}
			c.finishClaimDeletion(t, p.Namespaces)
			if left := c.leftovers(t, p.Namespaces); len(left) > 0 {
				t.Errorf("uninstall left %d objects behind: %v", len(left), left)
			}
		})
	}
}
