// Package imagebuild builds every edgeframe workload image daemonlessly: it compiles each
// workloads/<name>/cmd/<name> as a static binary per platform (gobuild), assembles a
// reproducible multi-platform OCI index (ociimage) and records the result in the image lock
// (imagelock). The same source, build inputs and Go toolchain always give the same digests.
package imagebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/edgeframe/edgeframe/build/imagebuild/gobuild"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/build/imagebuild/ociimage"
)

// Defaults of a build.
const (
	DefaultSource    = "https://github.com/edgeframe/edgeframe"
	DefaultRegistry  = "ghcr.io"
	DefaultCACerts   = "/etc/ssl/certs/ca-certificates.crt"
	DefaultPlatforms = "linux/amd64,linux/arm64"
)

// SourcePaths are the paths whose last commit is the images' revision and creation time:
// everything that goes into a workload binary.
var SourcePaths = []string{"workloads", "pkg", "third_party", "go.mod", "go.sum"}

// Options configure one build.
type Options struct {
	// Root is the repository root (module directory).
	Root string
	// Workloads to build (default: every workloads/<name>/cmd/<name>).
	Workloads []string
	// Platforms to build for.
	Platforms []ociimage.Platform
	// Version, Revision, Source and Created become labels; Version is stamped into the binaries.
	Version  string
	Revision string
	Source   string
	Created  time.Time
	// CACerts is the PEM bundle file copied into every image.
	CACerts string
	// WorkDir receives the binaries (default: a temporary directory removed afterwards).
	WorkDir string
	// Log receives one line per step (may be nil).
	Log func(format string, args ...any)
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.Root == "" {
		errs = append(errs, errors.New("root: required"))
	}
	if len(o.Platforms) == 0 {
		errs = append(errs, errors.New("platforms: at least one required"))
	}
	if o.Version == "" {
		errs = append(errs, errors.New("version: required"))
	}
	if o.Source == "" {
		errs = append(errs, errors.New("source: required"))
	}
	if o.Created.IsZero() {
		errs = append(errs, errors.New("created: required (SOURCE_DATE_EPOCH)"))
	}
	if o.CACerts == "" {
		errs = append(errs, errors.New("ca-certs: required"))
	}
	return errors.Join(errs...)
}

// Result is what a build produced.
type Result struct {
	Options Options
	// GoVersion is the toolchain that compiled the binaries.
	GoVersion string
	// Indexes maps each workload to its multi-platform index.
	Indexes map[string]v1.ImageIndex
}

// Workloads lists the workloads that have a main package at workloads/<name>/cmd/<name>.
func Workloads(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "workloads"))
	if err != nil {
		return nil, fmt.Errorf("workloads: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "workloads", e.Name(), "cmd", e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ParsePlatforms parses "linux/amd64,linux/arm64".
func ParsePlatforms(s string) ([]ociimage.Platform, error) {
	var out []ociimage.Platform
	var errs []error
	for _, f := range strings.Split(s, ",") {
		p, err := ociimage.ParsePlatform(strings.TrimSpace(f))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Build compiles and assembles the images.
func Build(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("image build: %w", err)
	}
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if len(o.Workloads) == 0 {
		ws, err := Workloads(o.Root)
		if err != nil {
			return nil, err
		}
		if len(ws) == 0 {
			return nil, fmt.Errorf("image build: no workloads/<name>/cmd/<name>/main.go under %s", o.Root)
		}
		o.Workloads = ws
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("image build: ca-certs: %w", err)
	}
	goVersion, err := GoVersion(ctx, o.Root)
	if err != nil {
		return nil, err
	}
	work := o.WorkDir
	if work == "" {
		work, err = os.MkdirTemp("", "edgeframe-images-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	res := &Result{Options: o, GoVersion: goVersion, Indexes: map[string]v1.ImageIndex{}}
	for _, name := range o.Workloads {
		spec := ociimage.Spec{
			Name:     name,
			Binaries: map[ociimage.Platform]string{},
			Created:  o.Created,
			Labels:   Labels(o),
			CACerts:  certs,
		}
		for _, p := range o.Platforms {
			out := filepath.Join(work, p.OS+"-"+p.Arch, name)
			logf("go build ./workloads/%s/cmd/%s for %s", name, name, p)
			if err := gobuild.Build(ctx, gobuild.Spec{
				Dir: o.Root, Package: "./workloads/" + name + "/cmd/" + name,
				OS: p.OS, Arch: p.Arch, Version: o.Version, Out: out,
			}); err != nil {
				return nil, err
			}
			spec.Binaries[p] = out
		}
		idx, err := ociimage.Index(spec)
		if err != nil {
			return nil, err
		}
		// Materialise now: the binaries may live in a temporary directory.
		if _, err := idx.Digest(); err != nil {
			return nil, fmt.Errorf("image %s: %w", name, err)
		}
		res.Indexes[name] = idx
	}
	return res, nil
}

// Labels are the OCI labels of every image of a build.
func Labels(o Options) map[string]string {
	l := map[string]string{
		ociimage.LabelSource:  o.Source,
		ociimage.LabelVersion: o.Version,
	}
	if o.Revision != "" {
		l[ociimage.LabelRevision] = o.Revision
	}
	return l
}

// Lock returns the image lock of the result with repositories under registry.
func (r *Result) Lock(registry string) (imagelock.Lock, error) {
	l := imagelock.Lock{
		Build: imagelock.Build{
			Version:  r.Options.Version,
			Revision: r.Options.Revision,
			Source:   r.Options.Source,
			Created:  r.Options.Created.UTC(),
			Go:       r.GoVersion,
		},
		Images: map[string]imagelock.Image{},
	}
	for _, p := range r.Options.Platforms {
		l.Build.Platforms = append(l.Build.Platforms, p.String())
	}
	for name, idx := range r.Indexes {
		img, err := lockImage(imagelock.Repository(registry, name), idx)
		if err != nil {
			return imagelock.Lock{}, fmt.Errorf("image %s: %w", name, err)
		}
		l.Images[name] = img
	}
	return l, nil
}

func lockImage(repo string, idx v1.ImageIndex) (imagelock.Image, error) {
	d, err := idx.Digest()
	if err != nil {
		return imagelock.Image{}, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return imagelock.Image{}, err
	}
	img := imagelock.Image{Repository: repo, Digest: d.String(), Platforms: map[string]string{}}
	for _, desc := range m.Manifests {
		if desc.Platform != nil {
			img.Platforms[desc.Platform.OS+"/"+desc.Platform.Architecture] = desc.Digest.String()
		}
	}
	return img, nil
}

// WriteLayout writes every index into an OCI image layout directory, each tagged with the
// annotation org.opencontainers.image.ref.name = <name>.
func (r *Result) WriteLayout(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	for _, n := range slices.Sorted(maps.Keys(r.Indexes)) {
		if err := p.AppendIndex(r.Indexes[n], layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": n,
		})); err != nil {
			return fmt.Errorf("oci layout %s: %s: %w", dir, n, err)
		}
	}
	return nil
}

// FromLock returns options that reproduce the build recorded in a lock.
func FromLock(root string, l imagelock.Lock, caCerts string) (Options, error) {
	ps, err := ParsePlatforms(strings.Join(l.Build.Platforms, ","))
	if err != nil {
		return Options{}, err
	}
	names := make([]string, 0, len(l.Images))
	for n := range l.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	return Options{
		Root: root, Workloads: names, Platforms: ps,
		Version: l.Build.Version, Revision: l.Build.Revision, Source: l.Build.Source,
		Created: l.Build.Created, CACerts: caCerts,
	}, nil
}

// GoVersion returns `go env GOVERSION` of the toolchain that builds in root.
func GoVersion(ctx context.Context, root string) (string, error) {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	cmd := exec.CommandContext(ctx, goBin, "env", "GOVERSION")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		v = runtime.Version()
	}
	return v, nil
}

// SourceRevision returns the last commit touching SourcePaths and its commit time: the
// reproducible revision and SOURCE_DATE_EPOCH of the images. Committing a bundle or a
// chart does not move it.
//
// rev limits the search to the history of that commit ("" = HEAD).
func SourceRevision(ctx context.Context, root, rev string) (string, time.Time, error) {
	args := []string{"log", "-1", "--format=%H %ct"}
	if rev != "" {
		args = append(args, rev)
	}
	args = append(append(args, "--"), SourcePaths...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("git log: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", time.Time{}, fmt.Errorf("git log: no commit touches %s", strings.Join(SourcePaths, " "))
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("git log: commit time %q: %w", f[1], err)
	}
	return f[0], time.Unix(sec, 0).UTC(), nil
}

// Mismatch is an image whose rebuilt digest differs from the lock.
type Mismatch struct {
	Name           string
	Locked, Actual string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: lock has %s, this source builds %s", m.Name, m.Locked, m.Actual)
}

// Verify rebuilds every image of the lock with the lock's build inputs and reports the
// images whose digest differs. A different Go toolchain is an error of its own: it
// changes every binary, so the comparison would prove nothing.
func Verify(ctx context.Context, root string, l imagelock.Lock, caCerts string, log func(string, ...any)) ([]Mismatch, error) {
	gv, err := GoVersion(ctx, root)
	if err != nil {
		return nil, err
	}
	if gv != l.Build.Go {
		return nil, fmt.Errorf("image lock was built with %s, this toolchain is %s: digests compare only under one toolchain", l.Build.Go, gv)
	}
	o, err := FromLock(root, l, caCerts)
	if err != nil {
		return nil, err
	}
	o.Log = log
	res, err := Build(ctx, o)
	if err != nil {
		return nil, err
	}
	var bad []Mismatch
	for _, n := range o.Workloads {
		d, err := res.Indexes[n].Digest()
		if err != nil {
			return nil, err
		}
		if d.String() != l.Images[n].Digest {
			bad = append(bad, Mismatch{Name: n, Locked: l.Images[n].Digest, Actual: d.String()})
		}
	}
	return bad, nil
}

// ExportGit writes the tree of commit rev of the repository at root into a new temporary
// directory (git archive) and returns it; the caller removes it.
func ExportGit(ctx context.Context, root, rev string) (string, error) {
	dir, err := os.MkdirTemp("", "edgeframe-src-")
	if err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
	archive.Dir = root
	var stderr bytes.Buffer
	archive.Stderr = &stderr
	tarOut, err := archive.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	untar.Stdin = tarOut
	if err := archive.Start(); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	uerr := untar.Run()
	if err := archive.Wait(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("git archive %s: %w: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	if uerr != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("untar %s: %w", rev, uerr)
	}
	return dir, nil
}
