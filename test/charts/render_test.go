package charts

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/test/testkit"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

var standardLabels = []string{
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
	"app.kubernetes.io/managed-by", "helm.sh/chart", "app.kubernetes.io/part-of",
}

// TestProfilesLintAndRender lints (as helm lint --strict) and renders every release of every
// profile, and checks what every chart promises: standard labels, the restricted Pod
// Security profile, requests/limits, probes and a NOTES.txt.
func TestProfilesLintAndRender(t *testing.T) {
	testkit.SkipShort(t, "helm lint --strict and a render of every release of every profile (seconds of CPU)")
	for _, p := range profiles(t) {
		t.Run(p.Name, func(t *testing.T) {
			for _, r := range p.Releases {
				vals, err := p.Values(r)
				if err != nil {
					t.Fatal(err)
				}
				if err := chartrender.Lint(r.ChartDir(chartsDir), r.Namespace, vals); err != nil {
					t.Errorf("helm lint --strict %s (%s/%s): %v", r.Chart, r.Namespace, r.Name, err)
				}
				files := renderRelease(t, p, r)
				if strings.TrimSpace(files["templates/NOTES.txt"]) == "" {
					t.Errorf("%s: NOTES.txt is empty", r.Chart)
				}
				objs := objects(t, chartrender.Manifests(files))
				if len(objs) == 0 {
					t.Fatalf("%s rendered no object", r.Chart)
				}
				for _, o := range objs {
					checkObject(t, fmt.Sprintf("%s/%s %s %s", r.Namespace, r.Name, o.GetKind(), o.GetName()), o)
				}
			}
		})
	}
}

func checkObject(t *testing.T, at string, o *unstructured.Unstructured) {
	t.Helper()
	labels := o.GetLabels()
	for _, l := range standardLabels {
		if labels[l] == "" {
			t.Errorf("%s: label %s missing", at, l)
		}
	}
	if o.GetKind() != "Deployment" {
		return
	}
	pod, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
	if v, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot"); !v {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", at)
	}
	if v, _, _ := unstructured.NestedString(pod, "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
		t.Errorf("%s: pod seccompProfile is %q, want RuntimeDefault", at, v)
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	if len(containers) == 0 {
		t.Errorf("%s: no containers", at)
	}
	for _, c := range containers {
		cm := c.(map[string]any)
		name := cm["name"]
		if v, _, _ := unstructured.NestedBool(cm, "securityContext", "readOnlyRootFilesystem"); !v {
			t.Errorf("%s container %s: readOnlyRootFilesystem is not true", at, name)
		}
		if v, found, _ := unstructured.NestedBool(cm, "securityContext", "allowPrivilegeEscalation"); !found || v {
			t.Errorf("%s container %s: allowPrivilegeEscalation is not false", at, name)
		}
		if drop, _, _ := unstructured.NestedStringSlice(cm, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
			t.Errorf("%s container %s: capabilities.drop = %v, want [ALL]", at, name, drop)
		}
		for _, k := range []string{"requests", "limits"} {
			if m, _, _ := unstructured.NestedMap(cm, "resources", k); len(m) == 0 {
				t.Errorf("%s container %s: no resources.%s", at, name, k)
			}
		}
		for _, probe := range []string{"livenessProbe", "readinessProbe"} {
			if _, ok := cm[probe]; !ok {
				t.Errorf("%s container %s: no %s", at, name, probe)
			}
		}
	}
}

// TestImagesByDigest: every chart's images can be pinned by digest.
func TestImagesByDigest(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	img := map[string]any{"digest": digest}
	cases := []struct {
		chart string
		vals  map[string]any
		want  string
	}{
		{"mosquitto", map[string]any{"image": img}, "eclipse-mosquitto@" + digest},
		{"envoy-proxy", map[string]any{"image": img, "upstreamDNS": map[string]any{"resolvers": []any{"168.63.129.16"}}}, "envoyproxy/envoy@" + digest},
		{"observability", map[string]any{"image": img}, "otel/opentelemetry-collector-contrib@" + digest},
		{"edge-workloads", map[string]any{"tempsensor": map[string]any{"enabled": true, "image": img}}, "ghcr.io/edgeframe/tempsensor@" + digest},
	}
	for _, c := range cases {
		files := renderChart(t, c.chart, c.chart, "default", c.vals)
		if !strings.Contains(chartrender.Manifests(files), "image: "+c.want+"\n") {
			t.Errorf("%s: rendered image is not %s", c.chart, c.want)
		}
	}
}

// TestBadValuesRejected: values.schema.json rejects bad values with a message naming the field.
func TestBadValuesRejected(t *testing.T) {
	cases := []struct {
		name  string
		chart string
		vals  map[string]any
		want  []string // substrings of the error
	}{
		{"unknown level", "mosquitto", map[string]any{"level": "l5"}, []string{"/level", "l2"}},
		{"typo in a key", "mosquitto", map[string]any{"bridge": map[string]any{"adress": "x:1"}}, []string{"/bridge", "adress"}},
		{"bridge without address", "mosquitto", map[string]any{"bridge": map[string]any{"enabled": true}}, []string{"/bridge/address"}},
		{"bridge address without port", "mosquitto", map[string]any{"bridge": map[string]any{"enabled": true, "address": "parent"}}, []string{"/bridge/address"}},
		{"port out of range", "mosquitto", map[string]any{"listeners": map[string]any{"internal": map[string]any{"port": 70000}}}, []string{"/listeners/internal/port"}},
		{"negative queue limit", "mosquitto", map[string]any{"queue": map[string]any{"maxQueuedMessages": -1}}, []string{"/queue/maxQueuedMessages"}},
		{"bad ACL access", "mosquitto", map[string]any{"acl": []any{map[string]any{"user": "u", "rules": []any{map[string]any{"access": "all", "topic": "a"}}}}}, []string{"/acl/0/rules/0/access"}},
		{"bad digest", "mosquitto", map[string]any{"image": map[string]any{"digest": "sha256:xyz"}}, []string{"/image/digest"}},
		{"relative path", "mosquitto", map[string]any{"paths": map[string]any{"data": "data/"}}, []string{"/paths/data"}},
		{"child proxy without parent", "envoy-proxy", map[string]any{"parent": map[string]any{"enabled": true}}, []string{"/parent/address"}},
		{"bad allow-list name", "envoy-proxy", map[string]any{"allowList": map[string]any{"customDomains": []any{"http://x.com"}}}, []string{"/allowList/customDomains/0"}},
		{"wildcard in exact list", "envoy-proxy", map[string]any{"allowList": map[string]any{"arcDomains": []any{"*.x.com"}}}, []string{"/allowList/arcDomains/0"}},
		{"top-level proxy without upstream resolvers", "envoy-proxy", map[string]any{}, []string{"/upstreamDNS/resolvers", "minItems"}},
		{"kafka server name not a name", "envoy-proxy", map[string]any{"upstreamDNS": map[string]any{"resolvers": []any{"168.63.129.16"}}, "listeners": map[string]any{"kafka": map[string]any{"enabled": true, "serverNames": []any{"*"}}}}, []string{"/listeners/kafka/serverNames/0"}},
		{"resolver not an IP", "envoy-proxy", map[string]any{"upstreamDNS": map[string]any{"resolvers": []any{"dns.example"}}}, []string{"/upstreamDNS/resolvers/0"}},
		{"missing proxy ip", "dns-override", map[string]any{}, []string{"/proxy/ip"}},
		{"broker URL without port", "dapr-components", map[string]any{"pubsub": map[string]any{"url": "tcp://mosquitto"}}, []string{"/pubsub/url"}},
		{"credentials inline in the URL", "dapr-components", map[string]any{"pubsub": map[string]any{"url": "tcp://u:p@mosquitto:1883"}}, []string{"/pubsub/url"}},
		{"QoS 3", "dapr-components", map[string]any{"pubsub": map[string]any{"qos": 3}}, []string{"/pubsub/qos"}},
		{"unknown secret store", "dapr-components", map[string]any{"secretStore": map[string]any{"type": "vault"}}, []string{"/secretStore/type"}},
		{"bad duration", "dapr-components", map[string]any{"resiliency": map[string]any{"timeout": "10 seconds"}}, []string{"/resiliency/timeout"}},
		{"subscription without scopes", "dapr-components", map[string]any{"subscriptions": []any{map[string]any{"name": "s", "topic": "t", "route": "/t"}}}, []string{"/subscriptions/0", "scopes"}},
		{"sampling rate above 1", "dapr-components", map[string]any{"configuration": map[string]any{"tracing": map[string]any{"samplingRate": "2"}}}, []string{"/configuration/tracing/samplingRate"}},
		{"publishednodes without endpoint", "edge-workloads", map[string]any{"opcpublisher": map[string]any{"publishedNodes": []any{map[string]any{"OpcNodes": []any{map[string]any{"Id": "i=1"}}}}}}, []string{"/opcpublisher/publishedNodes/0", "EndpointUrl"}},
		{"gateway without app port", "edge-workloads", map[string]any{"datagateway": map[string]any{"enabled": true, "dapr": map[string]any{"appPort": 0}}}, []string{"/datagateway/dapr/appPort"}},
		{"workload identity without client id", "edge-workloads", map[string]any{"datagateway": map[string]any{"workloadIdentity": map[string]any{"enabled": true}}}, []string{"/datagateway/workloadIdentity", "clientId"}},
		{"two publishers", "edge-workloads", map[string]any{"opcpublisher": map[string]any{"replicas": 2}}, []string{"/opcpublisher/replicas", "maximum"}},
		{"two gateways", "edge-workloads", map[string]any{"datagateway": map[string]any{"replicas": 2}}, []string{"/datagateway/replicas", "maximum"}},
		{"two sensors with one MQTT client id", "edge-workloads", map[string]any{"tempsensor": map[string]any{"replicas": 2}}, []string{"/tempsensor/replicas", "maximum"}},
		{"bad env name", "edge-workloads", map[string]any{"tempsensor": map[string]any{"env": map[string]any{"1BAD": "x"}}}, []string{"/tempsensor/env"}},
		{"network policy namespace", "edge-workloads", map[string]any{"networkPolicy": map[string]any{"egress": []any{map[string]any{"namespace": "Edge_L3"}}}}, []string{"/networkPolicy/egress/0/namespace"}},
		{"parent exporter without endpoint", "observability", map[string]any{"exporters": map[string]any{"parent": map[string]any{"enabled": true}}}, []string{"/exporters/parent", "endpoint"}},
		{"otlp endpoint not a URL", "observability", map[string]any{"exporters": map[string]any{"otlp": map[string]any{"enabled": true, "endpoint": "collector:4318"}}}, []string{"/exporters/otlp/endpoint"}},
		{"workload memory limit below its measured peak", "edge-workloads", map[string]any{"tempsensor": map[string]any{"enabled": true, "resources": map[string]any{"limits": map[string]any{"memory": "32Mi"}}}}, []string{"tempsensor.resources.limits.memory", "below 48Mi"}},
		{"workload memory not in Mi or Gi", "edge-workloads", map[string]any{"datagateway": map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "200M"}}}}, []string{"/datagateway/resources/limits/memory"}},
		{"sidecar memory limit below its measured peak", "edge-workloads", map[string]any{"datagateway": map[string]any{"dapr": map[string]any{"memoryLimitMiB": 128}}}, []string{"/datagateway/dapr/memoryLimitMiB", "minimum"}},
		{"broker memory limit below a full queue", "mosquitto", map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "128Mi"}}}, []string{"resources.limits.memory", "below 192Mi", "queue.maxQueuedBytes"}},
		{"unbounded broker queue", "mosquitto", map[string]any{"queue": map[string]any{"maxQueuedBytes": 0}}, []string{"/queue/maxQueuedBytes", "minimum"}},
		{"memory limit in bytes", "observability", map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "512000000"}}}, []string{"/resources/limits/memory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.chart == "dns-override" && c.name != "missing proxy ip" {
				c.vals["proxy"] = map[string]any{"ip": "10.0.0.10"}
			}
			_, err := chartrender.Render(context.Background(), chartDir(c.chart), c.vals)
			if err == nil {
				t.Fatalf("%s accepted %v", c.chart, c.vals)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestProfileValidation: a broken profile.yaml is reported field by field.
func TestProfileValidation(t *testing.T) {
	p := chartrender.Profile{
		Dir:        t.TempDir(),
		Namespaces: []string{"edge-system", "Bad_NS"},
		Releases: []chartrender.ProfileRelease{
			{Name: "mosquitto", Chart: "mosquitto", Namespace: "edge-l9"},
			{Name: "mosquitto", Chart: "", Namespace: "edge-system", Values: "missing.yaml"},
			{Name: "mosquitto", Chart: "mosquitto", Namespace: "edge-system"},
		},
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("broken profile accepted")
	}
	for _, w := range []string{"namespaces[1]", "releases[0].namespace", "releases[1].chart", "releases[1].values", "releases[2]: release edge-system/mosquitto appears twice"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

// TestChartsLintWithCIValues: as chart-testing's `ct lint`, every application chart ships
// ci/*-values.yaml and is `helm lint --strict` clean (and renders) with each of them; a chart
// whose defaults leave a required value empty (dns-override's proxy.ip) is linted only with
// its ci values, never skipped.
func TestChartsLintWithCIValues(t *testing.T) {
	dirs, err := chartrender.Charts(chartsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "ci", "*-values.yaml"))
		if len(files) == 0 {
			t.Errorf("%s: no ci/*-values.yaml (chart-testing values)", d)
			continue
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			vals := map[string]any{}
			if err := yaml.Unmarshal(b, &vals); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := chartrender.Lint(d, "default", vals); err != nil {
				t.Errorf("helm lint --strict %s -f %s: %v", d, f, err)
			}
			if _, err := chartrender.Render(context.Background(), d, vals); err != nil {
				t.Errorf("render %s -f %s: %v", d, f, err)
			}
		}
	}
}

// TestChartDependencies: edge-lib is an ordinary dependency (Chart.yaml file:// repository +
// a committed Chart.lock in sync), never a symbolic link, and `helm dependency build` (the
// Helm SDK's) builds every chart from it.
func TestChartDependencies(t *testing.T) {
	dirs, err := chartrender.Charts(chartsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type()&fs.ModeSymlink != 0 {
				t.Errorf("%s is a symbolic link", p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := chartrender.LoadChart(d)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if ch.Lock == nil || len(ch.Lock.Dependencies) != 1 || ch.Lock.Dependencies[0].Name != "edge-lib" {
			t.Errorf("%s: Chart.lock does not lock edge-lib: %+v", d, ch.Lock)
		}
	}
	staged := t.TempDir()
	if err := chartrender.StageCharts(chartsDir, staged); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		tgz, _ := filepath.Glob(filepath.Join(staged, filepath.Base(d), "charts", "edge-lib-*.tgz"))
		if len(tgz) != 1 {
			t.Errorf("helm dependency build of %s wrote %v, want charts/edge-lib-<version>.tgz", filepath.Base(d), tgz)
		}
	}
	// A stale lock is refused, as `helm dependency build` refuses it.
	bad := filepath.Join(t.TempDir(), "charts")
	if err := chartrender.StageCharts(chartsDir, bad); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(bad, "mosquitto", "Chart.lock")
	b, _ := os.ReadFile(lock)
	if err := os.WriteFile(lock, []byte(strings.Replace(string(b), "version: 0.1.0", "version: 0.0.9", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(bad, "mosquitto", "charts")); err != nil {
		t.Fatal(err)
	}
	if _, err := chartrender.LoadChart(filepath.Join(bad, "mosquitto")); err == nil || !strings.Contains(err.Error(), "Chart.lock") {
		t.Errorf("a stale Chart.lock was accepted: %v", err)
	}
}

// TestMosquittoCertManager: with cert-manager on, the server and bridge client certificates
// are Certificates writing the Secrets the broker mounts.
func TestMosquittoCertManager(t *testing.T) {
	files := renderChart(t, "mosquitto", "mosquitto", "edge-l3", map[string]any{
		"level":       "l3",
		"certManager": map[string]any{"enabled": true, "extraDnsNames": []any{"mqtt.l3.edge.internal"}},
		"bridge":      map[string]any{"enabled": true, "address": "mqtt.l4.edge.internal:8883"},
	})
	objs := objects(t, chartrender.Manifests(files))
	server := find(t, objs, "Certificate", "mosquitto-server")
	client := find(t, objs, "Certificate", "mosquitto-bridge-client")
	if s, _, _ := unstructured.NestedString(server.Object, "spec", "secretName"); s != "mosquitto-server-tls" {
		t.Errorf("server certificate writes %q", s)
	}
	names, _, _ := unstructured.NestedStringSlice(server.Object, "spec", "dnsNames")
	if !strings.Contains(strings.Join(names, ","), "mosquitto-bridge.edge-l3.svc.cluster.local") || !strings.Contains(strings.Join(names, ","), "mqtt.l3.edge.internal") {
		t.Errorf("server certificate names %v", names)
	}
	if cn, _, _ := unstructured.NestedString(client.Object, "spec", "commonName"); cn != "bridge-l3" {
		t.Errorf("bridge client certificate CN %q, want bridge-l3 (the parent's ACL user)", cn)
	}
	if s, _, _ := unstructured.NestedString(client.Object, "spec", "secretName"); s != "mosquitto-bridge-tls" {
		t.Errorf("bridge client certificate writes %q", s)
	}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && strings.Contains(chartrender.Manifests(files), "PRIVATE KEY") {
			t.Errorf("a private key is in ConfigMap %s", o.GetName())
		}
	}
}

// workloadDeployment renders edge-workloads with vals and returns the Deployment of workload name.
func workloadDeployment(t *testing.T, name string, vals map[string]any) appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	for _, o := range objects(t, chartrender.Manifests(renderChart(t, "edge-workloads", "edge-workloads", "default", vals))) {
		if o.GetKind() == "Deployment" && strings.Contains(o.GetName(), name) {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("%s: no Deployment rendered", name)
	return d
}

// The producers keep their sequences in a state volume passed as --state-dir: an emptyDir
// by default, an existing claim when set — then one pod at a time (Recreate).
func TestProducerStateVolume(t *testing.T) {
	for _, name := range []string{"tempsensor", "opcpublisher"} {
		for _, claim := range []string{"", "seq-" + name} {
			w := map[string]any{"enabled": true}
			if claim != "" {
				w["state"] = map[string]any{"existingClaim": claim}
			}
			d := workloadDeployment(t, name, map[string]any{name: w})
			spec := d.Spec.Template.Spec
			var vol *corev1.Volume
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == "state" {
					vol = &spec.Volumes[i]
				}
			}
			var app *corev1.Container
			for i := range spec.Containers {
				if spec.Containers[i].Name == name {
					app = &spec.Containers[i]
				}
			}
			if vol == nil || app == nil {
				t.Fatalf("%s (claim %q): state volume %v, container %v", name, claim, vol, app)
			}
			if !slices.Contains(app.Args, "--state-dir=/var/lib/"+name) {
				t.Errorf("%s: args %v lack --state-dir=/var/lib/%s", name, app.Args, name)
			}
			mounted := false
			for _, m := range app.VolumeMounts {
				mounted = mounted || m.Name == "state" && m.MountPath == "/var/lib/"+name
			}
			if !mounted {
				t.Errorf("%s: the state volume is not mounted at /var/lib/%s: %v", name, name, app.VolumeMounts)
			}
			switch {
			case claim == "" && vol.EmptyDir == nil:
				t.Errorf("%s: default state volume %+v, want an emptyDir", name, vol.VolumeSource)
			case claim != "" && (vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != claim):
				t.Errorf("%s: state volume %+v, want claim %s", name, vol.VolumeSource, claim)
			case claim != "" && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType:
				t.Errorf("%s: strategy %q with a claim, want Recreate", name, d.Spec.Strategy.Type)
			}
		}
	}
}

// TestSidecarWorkloadsNeverRunTwoPods: every sidecar connects to the broker with the client id
// {appID} (the pub/sub consumerID), one session per app id. Two pods of one workload at once —
// replicas 2, or the old and the new pod of a rolling update — would take that session over from
// each other in a loop, so every workload with a sidecar runs one pod and is replaced with Recreate.
func TestSidecarWorkloadsNeverRunTwoPods(t *testing.T) {
	comp := renderChart(t, "dapr-components", "dapr-components", "edge-l2", nil)["templates/pubsub.yaml"]
	if !strings.Contains(comp, "name: consumerID\n      value: \"{appID}\"") {
		t.Fatalf("the pub/sub component's consumerID is no longer {appID}; revisit this test:\n%s", comp)
	}
	for _, name := range []string{"opcpublisher", "tempsensor", "datagateway"} {
		d := workloadDeployment(t, name, map[string]any{name: map[string]any{"enabled": true}})
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("%s: strategy %q, want Recreate (a rolling update runs two sidecars with one MQTT client id)", name, d.Spec.Strategy.Type)
		}
	}
}

// A workload pod without a service-account token must not start daprd's built-in Kubernetes
// secret store: daprd exits at start with "stat /home/nonroot/.kube/config: no such file"
// (found on the real node, internal/localcluster). With workload identity the token is mounted.
func TestDaprPodsWithoutTokenDisableTheBuiltinSecretStore(t *testing.T) {
	const key = "dapr.io/disable-builtin-k8s-secret-store"
	for _, name := range []string{"tempsensor", "opcpublisher", "datagateway"} {
		for _, wi := range []bool{false, true} {
			if wi && name != "datagateway" {
				continue
			}
			w := map[string]any{"enabled": true}
			if wi {
				w["workloadIdentity"] = map[string]any{"enabled": true, "clientId": "00000000-0000-0000-0000-000000000000"}
			}
			d := workloadDeployment(t, name, map[string]any{name: w})
			spec := d.Spec.Template
			tokenless := spec.Spec.AutomountServiceAccountToken != nil && !*spec.Spec.AutomountServiceAccountToken
			if spec.Annotations["dapr.io/enabled"] != "true" {
				t.Fatalf("%s: not a Dapr pod", name)
			}
			if got := spec.Annotations[key] == "true"; got != tokenless {
				t.Errorf("%s (workload identity %v): automount token %v but %s=%q", name, wi, !tokenless, key, spec.Annotations[key])
			}
		}
	}
}

// The publisher's default published nodes connect with UseSecurity: false, so opcplc must
// offer SecurityPolicy None (--ut) in that release; it did not, and on the real node the
// publisher never connected ("no endpoint offers security mode None"). With security on
// everywhere, None stays off.
func TestOPCPLCOffersNoneOnlyWhenThePublisherUsesIt(t *testing.T) {
	for _, secure := range []bool{false, true} {
		pub := map[string]any{"enabled": true}
		if secure {
			pub["publishedNodes"] = []any{map[string]any{
				"EndpointUrl": "opc.tcp://opcplc:50000", "UseSecurity": true, "DataSetWriterGroup": "g", "DataSetWriterId": "w",
				"OpcNodes": []any{map[string]any{"Id": "ns=2;s=x"}},
			}}
		}
		d := workloadDeployment(t, "opcplc", map[string]any{"opcplc": map[string]any{"enabled": true}, "opcpublisher": pub})
		args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
		if got := strings.Contains(args, "--ut"); got == secure {
			t.Errorf("publisher UseSecurity %v: opcplc args %q", secure, args)
		}
	}
}
