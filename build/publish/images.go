package publish

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
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

// ChartRepository is <Registry>/edgeframe/charts (charts are pushed as <it>/<name>:<version>).
func (t Target) ChartRepository() string { return t.Registry + "/edgeframe/charts" }

// Charts packages every application chart under chartsDir and pushes it (Package,
// PushOCI), then asks the registry for each manifest digest.
// It returns the lock entries by chart name.
func (t Target) Charts(ctx context.Context, chartsDir string) (map[string]imagelock.Chart, error) {
	tmp, err := os.MkdirTemp("", "edgeframe-charts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	archives, err := Package(ctx, chartsDir, tmp, "")
	if err != nil {
		return nil, err
	}
	refs, err := PushOCI(ctx, archives, "oci://"+t.ChartRepository(), PushOptions{PlainHTTP: t.Insecure})
	if err != nil {
		return nil, err
	}
	var nopts []name.Option
	if t.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if t.Transport != nil {
		ropts = append(ropts, remote.WithTransport(t.Transport))
	}
	out := map[string]imagelock.Chart{}
	for _, r := range refs {
		tag, err := name.NewTag(r, nopts...)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", r, err)
		}
		desc, err := remote.Head(tag, ropts...)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", r, err)
		}
		repo := tag.Context().String()
		chartName := repo[strings.LastIndex(repo, "/")+1:]
		fmt.Fprintf(t.out(), "pushed oci://%s@%s\n", r, desc.Digest)
		out[chartName] = imagelock.Chart{Repository: repo, Version: tag.TagStr(), Digest: desc.Digest.String()}
	}
	return out, nil
}
