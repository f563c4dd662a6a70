package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/internal/topology"
)

// E2EOptions tune the end-to-end run.
type E2EOptions struct {
	// Run is how long the producers run in total (the L3 broker is deleted at half time).
	Run time.Duration
	// Drain bounds the wait for every produced id to reach the sink once production stops.
	Drain time.Duration
	// KeepInstalled skips the uninstall (to look around with kubectl).
	KeepInstalled bool
}

// Summary is what the end-to-end run printed.
type Summary struct {
	NodeUpSeconds, InstallSeconds, TimeToReadySeconds float64
	Pods                                              []PodSummary
	Injected                                          []string
	// Unstarted are the releases whose pods cannot run here, with their objects checked.
	Unstarted                       map[string]string
	Readyz                          map[string]string
	PodSecurity                     map[string]string
	Produced, Delivered, Duplicates int
	Missing                         []string
	L3Restart                       string
	Steps                           []StepResult
	NotInstalled                    []string
	Leftovers                       []string
}

// PodSummary is one pod after the install.
type PodSummary struct {
	Namespace, Name, Phase string
	Ready                  bool
	Containers             []string
}

// BundleImages resolves the manifest's ${ bundle.images.<key> } to the local images: the
// workloads, mosquitto (Debian) and kubectl (the dns-override hooks) built here; Envoy and the
// OpenTelemetry collector have no image here (no Go module or Debian package for Envoy; the
// collector contrib distribution is not built here) and resolve to a local name with no
// digest, which containerd never finds and never pulls from anywhere.
func BundleImages(img AppImages) map[string]Image {
	out := map[string]Image{"mosquitto": img.Mosquitto, "kubectl": img.Kubectl,
		"envoy":          {Repository: "localhost/edgeframe/unavailable-envoy"},
		"otel-collector": {Repository: "localhost/edgeframe/unavailable-otelcol-contrib"},
	}
	for k, v := range img.Workloads {
		out[k] = v
	}
	return out
}

// ReleaseImages are the values set per repository chart beyond the manifest's.
func ReleaseImages(daprVersion string) map[string]map[string]string {
	return map[string]map[string]string{
		// The published dapr chart carries its version as global.tag; the source chart "edge".
		// The scheduler cannot be built here (see DaprControlPlane): the one non-image
		// override turns it off; edgeframe uses no Dapr jobs, actors or workflows.
		"dapr/dapr": {"global.tag": daprVersion, "global.scheduler.enabled": "false"},
	}
}

// E2E brings the node up if needed, installs the all-in-one bundle, verifies the data path
// across a deletion of the L3 broker, uninstalls and returns the summary.
func (c Config) E2E(ctx context.Context, o E2EOptions) (*Summary, error) {
	if o.Run == 0 {
		o.Run = 90 * time.Second
	}
	if o.Drain == 0 {
		o.Drain = 3 * time.Minute
	}
	s := &Summary{Readyz: map[string]string{}, PodSecurity: map[string]string{}, Unstarted: map[string]string{}}
	start := time.Now()
	if err := c.Up(ctx); err != nil {
		return s, fmt.Errorf("cluster up: %w", err)
	}
	s.NodeUpSeconds = time.Since(start).Seconds()
	m, err := LoadManifest(filepath.Join(c.Repo, "porter.yaml"))
	if err != nil {
		return s, err
	}
	daprVersion, _ := m.Parameter("dapr-version")
	images, err := c.ImportAppImages(ctx, daprVersion)
	if err != nil {
		return s, err
	}
	passwords, err := c.SiteSecrets(ctx)
	if err != nil {
		return s, fmt.Errorf("site secrets: %w", err)
	}
	ex := &Executor{
		Config: c, Manifest: m, Images: BundleImages(images),
		Charts:    map[string]string{"dapr/dapr": filepath.Join(daprModuleDir(daprVersion), "charts", "dapr")},
		ImageSets: ReleaseImages(daprVersion),
	}
	s.NotInstalled = []string{
		"envoy-proxy: no Envoy binary here (no Go module, no Debian package); its objects are installed and checked, its pod cannot start",
		"otel-collector: the OpenTelemetry collector contrib image is not built here; its objects are installed, its pod cannot start",
		"dapr scheduler: github.com/diagridio/go-etcd-cron is not served by the module proxy; installed with global.scheduler.enabled=false",
	}
	installStart := time.Now()
	steps, err := ex.Run(ctx, "install")
	s.Steps = append(s.Steps, steps...)
	s.InstallSeconds = time.Since(installStart).Seconds()
	if err != nil {
		return s, fmt.Errorf("install: %w", err)
	}
	if err := c.waitWorkloads(ctx); err != nil {
		return s, err
	}
	s.TimeToReadySeconds = time.Since(installStart).Seconds()
	verr := c.verify(ctx, s, passwords, o)
	if o.KeepInstalled {
		return s, verr
	}
	steps, err = ex.Run(ctx, "uninstall")
	s.Steps = append(s.Steps, steps...)
	if err != nil {
		return s, errors.Join(verr, fmt.Errorf("uninstall: %w", err))
	}
	if s.Leftovers, err = c.leftovers(ctx); err != nil {
		return s, errors.Join(verr, err)
	}
	if len(s.Leftovers) > 0 {
		verr = errors.Join(verr, fmt.Errorf("uninstall left edgeframe objects: %s", strings.Join(s.Leftovers, ", ")))
	}
	if err := c.RecycleVolumes(ctx); err != nil {
		verr = errors.Join(verr, err)
	}
	return s, verr
}

func daprModuleDir(version string) string {
	gomodcache := os.Getenv("GOMODCACHE")
	if gomodcache == "" {
		if gp := os.Getenv("GOPATH"); gp != "" {
			gomodcache = filepath.Join(gp, "pkg", "mod")
		} else {
			home, _ := os.UserHomeDir()
			gomodcache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	return filepath.Join(gomodcache, "github.com", "dapr", "dapr@v"+version)
}

// dataPath are the pods the data path needs ready: the brokers and the workloads.
var dataPath = []struct{ ns, name string }{
	{"edge-l2", "mosquitto"}, {"edge-l3", "mosquitto"}, {"edge-l4", "mosquitto"},
	{"edge-l2", "opcplc"}, {"edge-l2", "opcpublisher"}, {"edge-l2", "tempsensor"}, {"edge-l4", "datagateway"},
}

func (c Config) waitWorkloads(ctx context.Context) error {
	for _, w := range dataPath {
		w := w
		if err := poll(ctx, w.ns+"/"+w.name, 6*time.Minute, func(ctx context.Context) error {
			out, err := c.kubectl(ctx, "-n", w.ns, "get", "deploy", "-l", "app.kubernetes.io/name="+w.name,
				"-o", "jsonpath={range .items[*]}{.status.readyReplicas}/{.status.replicas}{end}")
			if err != nil {
				return err
			}
			if out != "1/1" {
				return fmt.Errorf("ready/replicas %q", out)
			}
			return nil
		}); err != nil {
			return errors.Join(err, c.describeNotReady(ctx, w.ns))
		}
	}
	return nil
}

// describeNotReady returns the state of the namespace's pods that are not ready (for errors).
func (c Config) describeNotReady(ctx context.Context, ns string) error {
	out, _ := c.kubectl(ctx, "-n", ns, "get", "pods", "-o", "wide")
	ev, _ := c.kubectl(ctx, "-n", ns, "get", "events", "--sort-by=.lastTimestamp")
	lines := strings.Split(strings.TrimSpace(ev), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Errorf("pods in %s:\n%s\nlast events:\n%s", ns, out, strings.Join(lines, "\n"))
}

type podList struct {
	Items []struct {
		Metadata struct {
			Name, Namespace string
			Labels          map[string]string
		}
		Spec struct {
			Containers []struct{ Name string }
		}
		Status struct {
			Phase             string
			PodIP             string
			ContainerStatuses []struct {
				Name  string
				Ready bool
			}
		}
	}
}

func (c Config) pods(ctx context.Context, namespaces ...string) (podList, error) {
	var all podList
	for _, ns := range namespaces {
		out, err := c.kubectl(ctx, "-n", ns, "get", "pods", "-o", "json")
		if err != nil {
			return all, err
		}
		var l podList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return all, fmt.Errorf("pods %s: %w", ns, err)
		}
		all.Items = append(all.Items, l.Items...)
	}
	return all, nil
}

var bundleNamespaces = []string{"dapr-system", "edge-system", "edge-l2", "edge-l3", "edge-l4"}

func (c Config) verify(ctx context.Context, s *Summary, passwords map[string]string, o E2EOptions) error {
	var errs []error
	pl, err := c.pods(ctx, bundleNamespaces...)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range pl.Items {
		ps := PodSummary{Namespace: p.Metadata.Namespace, Name: p.Metadata.Name, Phase: p.Status.Phase, Ready: true}
		for _, cs := range p.Status.ContainerStatuses {
			ps.Containers = append(ps.Containers, cs.Name)
			ps.Ready = ps.Ready && cs.Ready
		}
		s.Pods = append(s.Pods, ps)
		app := p.Metadata.Labels["app.kubernetes.io/name"]
		if p.Metadata.Labels["app.kubernetes.io/part-of"] != "edgeframe" || app == "mosquitto" || app == "envoy-proxy" || app == "otel-collector" || app == "observability" {
			continue
		}
		for _, ctr := range p.Spec.Containers {
			if ctr.Name == "daprd" {
				s.Injected = append(s.Injected, p.Metadata.Namespace+"/"+app)
			}
		}
		// A workload may report not ready for a moment after its pod turned Ready (an app
		// container starts before its injected daprd); poll until green, with a deadline.
		url := fmt.Sprintf("http://%s:8080/readyz", p.Status.PodIP)
		key := p.Metadata.Namespace + "/" + app
		err := poll(ctx, key+" /readyz", time.Minute, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				s.Readyz[key] = err.Error()
				return err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			s.Readyz[key] = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
			if resp.StatusCode != http.StatusOK {
				return errors.New(s.Readyz[key])
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	sort.Strings(s.Injected)
	for _, want := range []string{"edge-l2/opcpublisher", "edge-l2/tempsensor", "edge-l4/datagateway"} {
		found := false
		for _, got := range s.Injected {
			found = found || got == want
		}
		if !found {
			errs = append(errs, fmt.Errorf("%s: no daprd sidecar injected", want))
		}
	}
	// Pod Security: would the running pods be admitted under "restricted"? The API server
	// answers a server-side dry run of the namespace label with a warning per violating pod.
	for _, ns := range []string{"edge-l2", "edge-l3", "edge-l4"} {
		out, err := c.kubectl(ctx, "label", "--dry-run=server", "--overwrite", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if strings.Contains(out, "violate") {
			s.PodSecurity[ns] = strings.TrimSpace(out)
			errs = append(errs, fmt.Errorf("%s: pods violate restricted: %s", ns, out))
		} else {
			s.PodSecurity[ns] = "restricted: ok"
		}
	}
	if err := c.checkUnstarted(ctx, s); err != nil {
		errs = append(errs, err)
	}
	if err := c.dataPath(ctx, s, passwords, o); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkUnstarted checks the objects of the releases whose image cannot exist here: the Envoy
// proxy's ConfigMap, Deployment and Service (at the ClusterIP the DNS override resolves the
// allow-listed names to), the collector's, and the DNS override's.
func (c Config) checkUnstarted(ctx context.Context, s *Summary) error {
	var errs []error
	check := func(release, ns string, args ...string) {
		out, err := c.kubectl(ctx, append([]string{"-n", ns, "get"}, args...)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", release, err))
			s.Unstarted[release] = "missing: " + strings.Join(args, " ")
			return
		}
		s.Unstarted[release] = strings.TrimSpace(strings.Join([]string{s.Unstarted[release], strings.Join(strings.Fields(out), " ")}, " "))
	}
	check("envoy-proxy", "edge-system", "configmap,deployment,service", "-l", "app.kubernetes.io/instance=envoy-proxy", "-o", "name")
	ip, err := c.kubectl(ctx, "-n", "edge-system", "get", "svc", "envoy-proxy", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil || ip != "10.0.0.200" {
		errs = append(errs, fmt.Errorf("envoy-proxy Service clusterIP %q (%v), want 10.0.0.200 as the DNS override says", ip, err))
	}
	check("otel-collector", "edge-system", "configmap,deployment,service", "-l", "app.kubernetes.io/instance=otel-collector", "-o", "name")
	// The single-cluster default (parameter dns-override=false) writes no kube-system/coredns-custom:
	// the release's own objects are what there is to check.
	check("dns-override", "edge-system", "configmap,serviceaccount,role,rolebinding", "-l", "app.kubernetes.io/instance=dns-override", "-o", "name")
	return errors.Join(errs...)
}

// dataPath taps the L2 broker (every id produced there), deletes the L3 broker pod at half
// time, stops the producers, and waits until every id reached the gateway's file sink, read
// from the sink's volume on this machine.
func (c Config) dataPath(ctx context.Context, s *Summary, passwords map[string]string, o E2EOptions) error {
	ip, err := c.kubectl(ctx, "-n", "edge-l2", "get", "svc", "mosquitto", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		return err
	}
	tap, err := topology.NewTap("l2", fmt.Sprintf("tcp://%s:1883", ip), "edge-pubsub", passwords["edge-l2"], false)
	if err != nil {
		return err
	}
	defer tap.Close()
	sinkDir, err := c.sinkDir(ctx)
	if err != nil {
		return err
	}
	sink := topology.NewSinkReader(sinkDir)
	delivered := map[string]int{}
	collect := func() {
		for _, d := range sink.Poll() {
			delivered[d.ID]++
		}
	}
	half := time.Now().Add(o.Run / 2)
	for time.Now().Before(half) {
		collect()
		time.Sleep(time.Second)
	}
	if tap.Count() == 0 {
		return errors.New("no message reached the L2 broker in the first half of the run")
	}
	del := time.Now()
	if _, err := c.kubectl(ctx, "-n", "edge-l3", "delete", "pod", "-l", "app.kubernetes.io/name=mosquitto", "--wait=true"); err != nil {
		return err
	}
	if err := poll(ctx, "L3 broker back", 3*time.Minute, func(ctx context.Context) error {
		out, err := c.kubectl(ctx, "-n", "edge-l3", "get", "deploy", "-l", "app.kubernetes.io/name=mosquitto", "-o", "jsonpath={.items[0].status.readyReplicas}")
		if err != nil {
			return err
		}
		if out != "1" {
			return errors.New("not ready")
		}
		return nil
	}); err != nil {
		return err
	}
	s.L3Restart = fmt.Sprintf("deleted at +%.0fs of the run, ready again after %.1fs", o.Run.Seconds()/2, time.Since(del).Seconds())
	for time.Now().Before(half.Add(o.Run / 2)) {
		collect()
		time.Sleep(time.Second)
	}
	// Stop producing, then drain.
	for _, w := range []string{"tempsensor", "opcpublisher"} {
		if _, err := c.kubectl(ctx, "-n", "edge-l2", "scale", "deploy", "-l", "app.kubernetes.io/name="+w, "--replicas=0"); err != nil {
			return err
		}
	}
	_ = poll(ctx, "producers stopped", 2*time.Minute, func(ctx context.Context) error {
		out, err := c.kubectl(ctx, "-n", "edge-l2", "get", "pods", "-l", "app.kubernetes.io/name in (tempsensor,opcpublisher)", "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return errors.New("still running: " + out)
		}
		return nil
	})
	var rep topology.Report
	_ = poll(ctx, "every produced id at the sink", o.Drain, func(context.Context) error {
		collect()
		rep = topology.Verify(tap.IDs(), delivered)
		if len(rep.Missing) > 0 {
			return fmt.Errorf("%d missing", len(rep.Missing))
		}
		return nil
	})
	s.Produced, s.Delivered, s.Duplicates, s.Missing = rep.Produced, rep.Delivered, rep.Duplicates, rep.Missing
	if rep.Produced == 0 {
		return errors.New("no message produced")
	}
	if len(rep.Missing) > 0 {
		return fmt.Errorf("%d of %d produced ids never reached the sink: %v", len(rep.Missing), rep.Produced, head(rep.Missing, 10))
	}
	return nil
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sinkDir is the gateway's local file sink on its buffer volume: <volume>/telemetry.
func (c Config) sinkDir(ctx context.Context) (string, error) {
	pv, err := c.kubectl(ctx, "-n", "edge-l4", "get", "pvc", "-l", "app.kubernetes.io/name=datagateway", "-o", "jsonpath={.items[0].spec.volumeName}")
	if err != nil {
		return "", err
	}
	path, err := c.kubectl(ctx, "get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}")
	if err != nil {
		return "", err
	}
	if path == "" {
		return "", fmt.Errorf("gateway buffer volume %q has no hostPath", pv)
	}
	return filepath.Join(path, "telemetry"), nil
}

// leftovers lists what the uninstall left: the bundle's namespaces, Helm releases anywhere,
// and any object labelled part-of=edgeframe (namespaced or not).
func (c Config) leftovers(ctx context.Context) ([]string, error) {
	var left []string
	for _, ns := range bundleNamespaces {
		if out, err := c.kubectl(ctx, "get", "namespace", ns, "--ignore-not-found", "-o", "name"); err != nil {
			return nil, err
		} else if strings.TrimSpace(out) != "" {
			left = append(left, strings.TrimSpace(out))
		}
	}
	out, err := c.kubectl(ctx, "get", "secrets", "-A", "-l", "owner=helm", "-o", "name")
	if err != nil {
		return nil, err
	}
	left = append(left, strings.Fields(out)...)
	kinds := "configmaps,secrets,services,deployments,statefulsets,daemonsets,persistentvolumeclaims,networkpolicies,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations"
	out, err = c.kubectl(ctx, "get", kinds, "-A", "-l", "app.kubernetes.io/part-of=edgeframe", "-o", "name")
	if err != nil {
		return nil, err
	}
	left = append(left, strings.Fields(out)...)
	return left, nil
}

// Print writes the summary.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\n== edgeframe on a real local node ==\n")
	fmt.Fprintf(w, "node up %.0fs, bundle install %.0fs, time to ready (install start -> data path ready) %.0fs\n",
		s.NodeUpSeconds, s.InstallSeconds, s.TimeToReadySeconds)
	fmt.Fprintf(w, "\npods after install:\n")
	for _, p := range s.Pods {
		fmt.Fprintf(w, "  %-12s %-48s %-9s ready=%-5v %s\n", p.Namespace, p.Name, p.Phase, p.Ready, strings.Join(p.Containers, ","))
	}
	fmt.Fprintf(w, "\ninjected daprd sidecars: %s\n", strings.Join(s.Injected, ", "))
	keys := make([]string, 0, len(s.Readyz))
	for k := range s.Readyz {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "/readyz:\n")
	for _, k := range keys {
		fmt.Fprintf(w, "  %-24s %s\n", k, s.Readyz[k])
	}
	fmt.Fprintf(w, "pod security (restricted):\n")
	for _, ns := range []string{"edge-l2", "edge-l3", "edge-l4"} {
		fmt.Fprintf(w, "  %-8s %s\n", ns, s.PodSecurity[ns])
	}
	fmt.Fprintf(w, "L3 broker: %s\n", s.L3Restart)
	fmt.Fprintf(w, "ids produced %d, delivered %d, missing %d, duplicates %d\n", s.Produced, s.Delivered, len(s.Missing), s.Duplicates)
	fmt.Fprintf(w, "\nsteps:\n")
	for _, st := range s.Steps {
		note := ""
		if st.NotRun != "" {
			note = "  NOT RUN: " + st.NotRun
		}
		fmt.Fprintf(w, "  %-9s %-6s %-16s %-12s %5.1fs  %s%s\n", st.Action, st.Mixin, st.Release, st.Namespace, st.Seconds, st.Description, note)
	}
	for _, r := range []string{"envoy-proxy", "otel-collector", "dns-override"} {
		fmt.Fprintf(w, "objects of %s: %s\n", r, s.Unstarted[r])
	}
	for _, n := range s.NotInstalled {
		fmt.Fprintf(w, "not running here: %s\n", n)
	}
	fmt.Fprintf(w, "left after uninstall: %d %s\n", len(s.Leftovers), strings.Join(s.Leftovers, " "))
}
