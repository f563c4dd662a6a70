// Package arcflux is the arcflux Porter mixin: it implements porter's mixin
// contract (version, schema, build, lint, install, upgrade, uninstall, invoke)
// for three typed commands — connect (Azure Arc onboarding), flux (the
// microsoft.flux extension and a Flux configuration) and status.
package arcflux

import (
	"fmt"
	"io"
	"os"
	"time"
)

// DefaultOutputsDir is where porter collects step outputs inside the bundle image.
const DefaultOutputsDir = "/cnab/app/porter/outputs"

// Mixin carries the streams, environment and seams of one invocation.
type Mixin struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Getenv reads the environment (credentials arrive as env vars).
	Getenv func(string) string
	// OutputsDir is where step outputs are written (DefaultOutputsDir).
	OutputsDir string
	// Debug prints diagnostics to Err (PORTER_DEBUG=true or --debug).
	Debug bool
	// Azure builds the Azure clients (SDK with azidentity by default).
	Azure AzureFactory
	// Kube builds the Kubernetes clients for a kubeconfig (client-go + Helm SDK by default).
	Kube KubeFactory
	// Poll is the polling interval of long-running operations (default 10s).
	Poll time.Duration
}

// New returns a mixin wired to the process's streams and environment.
func New() *Mixin {
	return &Mixin{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Getenv:     os.Getenv,
		OutputsDir: DefaultOutputsDir,
		Debug:      os.Getenv("PORTER_DEBUG") == "true",
	}
}

func (m *Mixin) getenv(k string) string {
	if m.Getenv == nil {
		return os.Getenv(k)
	}
	return m.Getenv(k)
}

func (m *Mixin) debugf(format string, args ...any) {
	if m.Debug && m.Err != nil {
		fmt.Fprintf(m.Err, "DEBUG "+format+"\n", args...)
	}
}
