// Package publish pushes the workload images (multi-platform indexes, by digest and tagged
// with the version) and the edgeframe Helm charts (OCI artifacts, Helm's media types) to a
// registry, and reports the digests the registry holds so the image lock can record them.
package publish

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/edgeframe/edgeframe/tools/imagebuild/imagelock"
)

// Target is where and how to push.
type Target struct {
	// Registry is host[:port][/path]; images go to <Registry>/edgeframe/<name>,
	// charts to <Registry>/edgeframe/charts/<chart>.
	Registry string
	// Insecure talks plain HTTP (local registries).
	Insecure bool
	// Transport overrides the HTTP transport (tests; nil: default).
	Transport http.RoundTripper
	// Out receives one line per pushed artifact (nil: discarded).
	Out io.Writer
}

func (t Target) out() io.Writer {
	if t.Out == nil {
		return io.Discard
	}
	return t.Out
}

// Image pushes one index as <repository>:<tag> and checks the registry holds the digest.
func (t Target) Image(ctx context.Context, repository, tag string, idx v1.ImageIndex) (string, error) {
	var opts []name.Option
	if t.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(repository+":"+tag, opts...)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", repository, err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if t.Transport != nil {
		ropts = append(ropts, remote.WithTransport(t.Transport))
	}
	if err := remote.WriteIndex(ref, idx, ropts...); err != nil {
		return "", fmt.Errorf("publish %s: %w", ref, err)
	}
	want, err := idx.Digest()
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(ref, ropts...)
	if err != nil {
		return "", fmt.Errorf("publish %s: verify: %w", ref, err)
	}
	if desc.Digest != want {
		return "", fmt.Errorf("publish %s: registry holds %s, pushed %s", ref, desc.Digest, want)
	}
	fmt.Fprintf(t.out(), "pushed %s@%s\n", ref.Context(), want)
	return want.String(), nil
}

// Images pushes every index of the lock's workloads; the lock's repositories must already
// point at the target registry.
func (t Target) Images(ctx context.Context, lock imagelock.Lock, indexes map[string]v1.ImageIndex) error {
	names := make([]string, 0, len(indexes))
	for n := range indexes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		img, ok := lock.Images[n]
		if !ok {
			return fmt.Errorf("publish: image %s is not in the lock", n)
		}
		d, err := t.Image(ctx, img.Repository, lock.Build.Version, indexes[n])
		if err != nil {
			return err
		}
		if d != img.Digest {
			return fmt.Errorf("publish %s: pushed %s, lock says %s", n, d, img.Digest)
		}
	}
	return nil
}

// ChartDirs lists the application charts under dir (every <dir>/<name>/Chart.yaml whose
// type is not "library").
func ChartDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(p, "Chart.yaml")); err != nil {
			continue
		}
		ch, err := loader.LoadDir(p)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", p, err)
		}
		if ch.Metadata.Type == "library" {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// ChartRepository is <Registry>/edgeframe/charts (charts are pushed as <it>/<name>:<version>).
func (t Target) ChartRepository() string { return t.Registry + "/edgeframe/charts" }

// Charts packages and pushes each chart directory, returning the lock entries by chart name.
func (t Target) Charts(ctx context.Context, dirs []string) (map[string]imagelock.Chart, error) {
	copts := []registry.ClientOption{registry.ClientOptWriter(io.Discard)}
	if t.Insecure {
		copts = append(copts, registry.ClientOptPlainHTTP())
	}
	if t.Transport != nil {
		copts = append(copts, registry.ClientOptHTTPClient(&http.Client{Transport: t.Transport}))
	}
	client, err := registry.NewClient(copts...)
	if err != nil {
		return nil, fmt.Errorf("publish charts: %w", err)
	}
	tmp, err := os.MkdirTemp("", "edgeframe-charts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := map[string]imagelock.Chart{}
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ch, err := loader.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", dir, err)
		}
		tgz, err := chartutil.Save(ch, tmp)
		if err != nil {
			return nil, fmt.Errorf("chart %s: package: %w", dir, err)
		}
		data, err := os.ReadFile(tgz)
		if err != nil {
			return nil, err
		}
		ref := fmt.Sprintf("%s/%s:%s", t.ChartRepository(), ch.Name(), ch.Metadata.Version)
		res, err := client.Push(data, ref)
		if err != nil {
			return nil, fmt.Errorf("chart %s: push %s: %w", dir, ref, err)
		}
		fmt.Fprintf(t.out(), "pushed oci://%s@%s\n", ref, res.Manifest.Digest)
		out[ch.Name()] = imagelock.Chart{
			Repository: t.ChartRepository() + "/" + ch.Name(),
			Version:    ch.Metadata.Version,
			Digest:     res.Manifest.Digest,
		}
	}
	return out, nil
}
