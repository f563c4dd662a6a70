package selfhosted

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dapr/dapr/pkg/injector/patcher"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// WorkloadsChart is the chart of every level's workloads (their Deployments carry the dapr.io
// annotations the sidecar injector reads).
const WorkloadsChart = "edge-workloads"

// SidecarSpec is what a local daprd changes in the sidecar Dapr's injector would add to the
// app's pod: the ports and addresses (every sidecar of a run shares the loopback interface),
// the resource and configuration paths (files instead of Kubernetes objects), and the mode.
type SidecarSpec struct {
	Level, AppID                                  string
	HTTPPort, GRPCPort, InternalPort, MetricsPort int
	// AppPort is the app channel's port (0: the app only publishes).
	AppPort int
	// Files are the sidecar's rendered resources (RenderDapr).
	Files DaprFiles
}

// Sidecar is a local daprd's command line and environment.
type Sidecar struct {
	// Args are daprd's flags.
	Args []string
	// Env is the environment the injector gives daprd from the pod's annotations
	// (dapr.io/env: GOMEMLIMIT, GOGC, ...), "NAME=value".
	Env []string
	// MemoryLimit and MemoryRequest are the sidecar container's memory limit and request in
	// bytes (dapr.io/sidecar-memory-limit / -request), 0 when the profile sets none.
	MemoryLimit, MemoryRequest int64
}

// localOverrides are the daprd flags a local sidecar sets itself (ports, addresses, paths);
// dropped are the injector's flags that only mean something in a cluster (the control plane,
// the pod's public health port, mTLS through Sentry, the Kubernetes secret store).
var (
	localOverrides = []string{"--dapr-http-port", "--dapr-grpc-port", "--dapr-internal-grpc-port",
		"--metrics-port", "--dapr-listen-addresses", "--app-port", "--app-channel-address", "--config"}
	dropped = []string{"--mode", "--control-plane-address", "--sentry-address", "--placement-host-address",
		"--scheduler-host-address", "--dapr-public-port", "--enable-mtls", "--disable-builtin-k8s-secret-store"}
)

// RenderSidecar renders the profile's edge-workloads release of s.Level, finds the pod of
// s.AppID, and builds its sidecar with Dapr's own injector code (dapr/pkg/injector/patcher):
// the same flags, environment and resources a cluster's injector would give it, with only
// the ports, addresses and paths local.
func RenderSidecar(ctx context.Context, chartsDir string, s SidecarSpec) (Sidecar, error) {
	pod, err := renderPod(ctx, chartsDir, s.Level, s.AppID)
	if err != nil {
		return Sidecar{}, fmt.Errorf("sidecar of %s: %w", s.AppID, err)
	}
	ctr, err := injectedSidecar(pod)
	if err != nil {
		return Sidecar{}, fmt.Errorf("sidecar of %s: profile %s: %w", s.AppID, s.Level, err)
	}
	out := Sidecar{Args: localArgs(ctr.Args[1:], s), Env: literalEnv(ctr.Env, "NAMESPACE")}
	if q, ok := ctr.Resources.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimit = q.Value()
	}
	if q, ok := ctr.Resources.Requests[corev1.ResourceMemory]; ok {
		out.MemoryRequest = q.Value()
	}
	return out, nil
}

// WorkloadEnv is the environment the profile's edge-workloads release gives the container of
// app at level, "NAME=value" (GOMEMLIMIT, GOGC, the trace sampler, ...): the variables with a
// literal value, less the collector's cluster address (no collector runs locally).
func WorkloadEnv(ctx context.Context, chartsDir, level, app string) ([]string, error) {
	pod, err := renderPod(ctx, chartsDir, level, app)
	if err != nil {
		return nil, fmt.Errorf("environment of %s: %w", app, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == app {
			return literalEnv(c.Env, "OTEL_EXPORTER_OTLP_ENDPOINT"), nil
		}
	}
	return nil, fmt.Errorf("environment of %s: profile %s: its pod has no container %s", app, level, app)
}

// literalEnv lists the variables with a literal value as "NAME=value", less the Dapr control
// plane's (DAPR_*) and those named in skip.
func literalEnv(env []corev1.EnvVar, skip ...string) []string {
	var out []string
	for _, e := range env {
		if e.ValueFrom == nil && e.Value != "" && !strings.HasPrefix(e.Name, "DAPR_") && !slices.Contains(skip, e.Name) {
			out = append(out, e.Name+"="+e.Value)
		}
	}
	return out
}

// renderPod renders the profile's edge-workloads release of level and returns the pod of the
// Deployment that runs a container named app.
func renderPod(ctx context.Context, chartsDir, level, app string) (*corev1.Pod, error) {
	rel, err := LoadRelease(chartsDir, level, WorkloadsChart)
	if err != nil {
		return nil, err
	}
	files, err := rel.Render(ctx, chartsDir, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, text := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			var d appsv1.Deployment
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				if c.Name == app {
					pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
					pod.Namespace = rel.Release.Namespace
					return pod, nil
				}
				names = append(names, c.Name)
			}
		}
	}
	slices.Sort(names)
	return nil, fmt.Errorf("profile %s: no Deployment runs a container %s (it runs %v)", rel.Profile.Name, app, names)
}

// injectedSidecar runs Dapr's injector patcher on pod and returns the daprd container it adds.
func injectedSidecar(pod *corev1.Pod) (corev1.Container, error) {
	c := patcher.NewSidecarConfig(pod)
	c.SetFromPodAnnotations()
	c.Namespace = pod.Namespace
	patch, err := c.GetPatch()
	if err != nil {
		return corev1.Container{}, fmt.Errorf("dapr sidecar injector: %w", err)
	}
	for _, op := range patch {
		path, err := op.Path()
		if err != nil || op.Kind() != "add" || path != patcher.PatchPathContainers+"/-" {
			continue
		}
		raw := op["value"]
		if raw == nil {
			continue
		}
		var ctr corev1.Container
		if err := json.Unmarshal(*raw, &ctr); err != nil {
			return corev1.Container{}, fmt.Errorf("dapr sidecar injector's container: %w", err)
		}
		if ctr.Name == "daprd" && len(ctr.Args) > 0 {
			return ctr, nil
		}
	}
	return corev1.Container{}, fmt.Errorf("dapr sidecar injector added no daprd container (is dapr.io/enabled \"true\"?)")
}

// localArgs keeps the injector's flags except the cluster-only ones and those a local sidecar
// sets itself, and appends the local ones.
func localArgs(in []string, s SidecarSpec) []string {
	var out []string
	for i := 0; i < len(in); i++ {
		name, _, inline := strings.Cut(in[i], "=")
		// the injector writes a boolean flag alone and any other as two arguments; no value it
		// writes starts with "--" (negative numbers have one dash)
		takesValue := !inline && i+1 < len(in) && !strings.HasPrefix(in[i+1], "--")
		if slices.Contains(dropped, name) || slices.Contains(localOverrides, name) {
			if takesValue {
				i++
			}
			continue
		}
		out = append(out, in[i])
		if takesValue {
			out = append(out, in[i+1])
			i++
		}
	}
	out = append(out,
		"--dapr-http-port", strconv.Itoa(s.HTTPPort),
		"--dapr-grpc-port", strconv.Itoa(s.GRPCPort),
		"--dapr-internal-grpc-port", strconv.Itoa(s.InternalPort),
		"--metrics-port", strconv.Itoa(s.MetricsPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--resources-path", s.Files.ResourcesDir,
	)
	if s.Files.ConfigPath != "" {
		out = append(out, "--config", s.Files.ConfigPath)
	}
	if s.AppPort != 0 {
		out = append(out, "--app-port", strconv.Itoa(s.AppPort), "--app-channel-address", "127.0.0.1")
	}
	return out
}
