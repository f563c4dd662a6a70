// Package gobuild compiles Go main packages into static, reproducible binaries for a
// target platform: CGO_ENABLED=0, -trimpath, no VCS stamp, an empty build id and a pinned
// GOAMD64/GOARM64 baseline, so the same source and toolchain give the same bytes whatever
// the checkout path, the commit or the host.
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// VersionVar is the variable the version is stamped into (see pkg/version).
const VersionVar = "github.com/edgeframe/edgeframe/pkg/version.Version"

// Spec is one compilation.
type Spec struct {
	// Dir is the module directory the package path is resolved in.
	Dir string
	// Package is the main package, e.g. "./workloads/opcplc/cmd/opcplc".
	Package string
	// OS and Arch are the target GOOS/GOARCH (e.g. linux, arm64).
	OS, Arch string
	// Version is stamped into VersionVar (empty: not stamped).
	Version string
	// Out is the output file.
	Out string
}

// Validate reports every missing field at once.
func (s Spec) Validate() error {
	var errs []error
	if s.Package == "" {
		errs = append(errs, errors.New("gobuild: package: required"))
	}
	if s.OS == "" {
		errs = append(errs, errors.New("gobuild: os: required"))
	}
	if s.Arch == "" {
		errs = append(errs, errors.New("gobuild: arch: required"))
	}
	if s.Out == "" {
		errs = append(errs, errors.New("gobuild: out: required"))
	}
	return errors.Join(errs...)
}

// Args returns the `go build` arguments for the spec.
func (s Spec) Args() []string {
	ld := "-s -w -buildid="
	if s.Version != "" {
		ld += " -X " + VersionVar + "=" + s.Version
	}
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ld, "-o", s.Out, s.Package}
}

// Env returns the environment of the compiler: the caller's environment with every
// variable that changes the output pinned.
func (s Spec) Env(base []string) []string {
	pinned := map[string]string{
		"CGO_ENABLED":  "0",
		"GOOS":         s.OS,
		"GOARCH":       s.Arch,
		"GOAMD64":      "v1",
		"GOARM64":      "v8.0",
		"GOFLAGS":      "-mod=readonly",
		"GOEXPERIMENT": "",
	}
	env := make([]string, 0, len(base)+len(pinned))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := pinned[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range pinned {
		env = append(env, k+"="+v)
	}
	return env
}

// Build compiles the spec with the go command found as "go" on PATH (or $GO).
func Build(ctx context.Context, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Out), 0o755); err != nil {
		return fmt.Errorf("gobuild: %w", err)
	}
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.CommandContext(ctx, goBin, s.Args()...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gobuild: go build %s for %s/%s: %w\n%s", s.Package, s.OS, s.Arch, err, out.String())
	}
	return nil
}
