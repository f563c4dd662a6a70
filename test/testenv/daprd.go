package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// DaprdSpec configures a self-hosted daprd sidecar.
type DaprdSpec struct {
	AppID string
	// AppPort is the app's port (0 = no app channel, publish-only).
	AppPort int
	// AppProtocol is "grpc" or "http" (default "grpc" when AppPort is set).
	AppProtocol string
	// Resources are written to the resources path: file name → YAML (Components,
	// Resiliency, Subscriptions).
	Resources map[string]string
	// ResourcesDir, when set, is used instead of writing Resources.
	ResourcesDir string
	// Config is the Dapr Configuration YAML (optional).
	Config string
	// ConfigPath, when set, is a Configuration file used instead of Config.
	ConfigPath string
	// Args are extra daprd arguments.
	Args []string
	// Env is added to daprd's environment (secrets for the local env secret store).
	Env []string
	// Command, when set (profile.Daprd sets it), gives daprd's flags and environment for
	// the sidecar's ports and resources instead of spec's: the flags the cluster's sidecar
	// injector builds from the chart profile's pod. AppProtocol is then the chart's.
	Command func(ports DaprdPorts) (args, env []string, err error)
}

// Daprd is a running sidecar.
type Daprd struct {
	*Process
	AppID       string
	HTTPPort    int
	GRPCPort    int
	MetricsPort int
	// GRPCAddr is 127.0.0.1:GRPCPort, what the Dapr Go SDK client dials.
	GRPCAddr string
}

// StartDaprd starts a real daprd (from `make tools`) with the given resources and waits
// until its components are initialised (/v1.0/healthz/outbound answers 204).
func StartDaprd(t testing.TB, spec DaprdSpec) *Daprd {
	t.Helper()
	bin := Tool(t, "daprd")
	if spec.AppID == "" {
		t.Fatal("testenv: DaprdSpec.AppID is required")
	}
	res := spec.ResourcesDir
	if res == "" {
		res = t.TempDir()
		for name, y := range spec.Resources {
			if err := os.WriteFile(filepath.Join(res, name), []byte(y), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := &Daprd{AppID: spec.AppID, HTTPPort: FreePort(t), GRPCPort: FreePort(t), MetricsPort: FreePort(t)}
	d.GRPCAddr = fmt.Sprintf("127.0.0.1:%d", d.GRPCPort)
	var args, env []string
	if spec.Command != nil {
		var err error
		if args, env, err = spec.Command(DaprdPorts{HTTP: d.HTTPPort, GRPC: d.GRPCPort, Internal: FreePort(t),
			Metrics: d.MetricsPort, App: spec.AppPort, ResourcesDir: res, ConfigPath: spec.ConfigPath}); err != nil {
			t.Fatal(err)
		}
	} else {
		args, env = localSidecar(t, res, spec, d)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", d.HTTPPort)
	d.Process = StartProcess(t, ProcSpec{
		Name:         "daprd-" + spec.AppID,
		Path:         bin,
		Args:         append(args, spec.Args...),
		Env:          append(env, spec.Env...),
		ReadyTimeout: 60 * time.Second,
		Ready:        supervise.HTTPReady(url),
	})
	return d
}

// localSidecar is daprd's command line from spec alone (resources a test wrote itself).
func localSidecar(t testing.TB, res string, spec DaprdSpec, d *Daprd) (args, env []string) {
	args = []string{
		"--app-id", spec.AppID,
		"--resources-path", res,
		"--dapr-http-port", strconv.Itoa(d.HTTPPort),
		"--dapr-grpc-port", strconv.Itoa(d.GRPCPort),
		"--dapr-internal-grpc-port", strconv.Itoa(FreePort(t)),
		"--metrics-port", strconv.Itoa(d.MetricsPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--log-as-json",
	}
	if spec.AppPort != 0 {
		proto := spec.AppProtocol
		if proto == "" {
			proto = "grpc"
		}
		args = append(args, "--app-port", strconv.Itoa(spec.AppPort), "--app-protocol", proto, "--app-channel-address", "127.0.0.1")
	}
	if spec.ConfigPath != "" {
		args = append(args, "--config", spec.ConfigPath)
	} else if spec.Config != "" {
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(cfg, []byte(spec.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", cfg)
	}
	return args, nil
}

// DaprdPorts are what StartDaprd chose for a sidecar: its ports and resource paths.
type DaprdPorts struct {
	HTTP, GRPC, Internal, Metrics, App int
	ResourcesDir, ConfigPath           string
}
