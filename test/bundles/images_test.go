package bundles_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/edgeframe/edgeframe/build/imagebuild"
	"github.com/edgeframe/edgeframe/build/imagebuild/bundleimages"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
	"github.com/edgeframe/edgeframe/build/publish"
	"github.com/edgeframe/edgeframe/test/testkit"
)

const caBundle = "/etc/ssl/certs/ca-certificates.crt"

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func loadLock(t *testing.T) imagelock.Lock {
	t.Helper()
	l, err := imagelock.Load(filepath.Join(root(t), imagelock.DefaultPath))
	if err != nil {
		t.Fatalf("%v (run `make images`)", err)
	}
	return l
}

// Every workload with a main package is locked, and every manifest's images: entries carry
// the locked repository and digest.
func TestManifestImagesAreTheLockedDigests(t *testing.T) {
	lock := loadLock(t)
	ws, err := imagebuild.Workloads(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if _, ok := lock.Images[w]; !ok {
			t.Errorf("workload %s has no image in %s (run `make images`)", w, imagelock.DefaultPath)
		}
	}
	for _, b := range loadBundles(t) {
		refs, err := bundleimages.Read(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		for n, r := range refs {
			if r.ThirdParty {
				if !digestRE.MatchString(r.Digest) || r.Repository == "" {
					t.Errorf("%s: third-party images.%s is %s@%s, want a repository pinned by sha256 digest", b.Name, n, r.Repository, r.Digest)
				}
				continue
			}
			img, ok := lock.Images[n]
			if !ok {
				t.Errorf("%s: images.%s is not a locked workload image", b.Name, n)
				continue
			}
			if r.Repository != img.Repository || r.Digest != img.Digest {
				t.Errorf("%s: images.%s is %s@%s, the lock has %s (run `make images`)", b.Name, n, r.Repository, r.Digest, img.Ref())
			}
		}
	}
}

var rebuilt struct {
	once sync.Once
	res  *imagebuild.Result
	err  error
}

// rebuild builds every locked image from this source with the lock's build inputs, once.
func rebuild(t *testing.T, lock imagelock.Lock) *imagebuild.Result {
	t.Helper()
	if _, err := os.Stat(caBundle); err != nil {
		t.Skipf("Debian ca-certificates bundle missing: %v", err)
	}
	gv, err := imagebuild.GoVersion(context.Background(), root(t))
	if err != nil {
		t.Fatal(err)
	}
	if gv != lock.Build.Go {
		t.Skipf("the lock was built with %s, this toolchain is %s: digests can only be compared with the same toolchain", lock.Build.Go, gv)
	}
	rebuilt.once.Do(func() {
		o, err := imagebuild.FromLock(root(t), lock, caBundle)
		if err != nil {
			rebuilt.err = err
			return
		}
		rebuilt.res, rebuilt.err = imagebuild.Build(context.Background(), o)
	})
	if rebuilt.err != nil {
		t.Fatal(rebuilt.err)
	}
	return rebuilt.res
}

// Every image digest in the bundles is what `make images` produces from this source.
func TestLockedDigestsRebuildFromThisSource(t *testing.T) {
	testkit.SkipShort(t, "a rebuild of every workload image")
	lock := loadLock(t)
	res := rebuild(t, lock)
	names := make([]string, 0, len(lock.Images))
	for n := range lock.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d, err := res.Indexes[n].Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != lock.Images[n].Digest {
			t.Errorf("%s: this source builds %s, the lock has %s (run `make images`)", n, d, lock.Images[n].Digest)
		} else {
			t.Logf("%s %s reproduced", n, d)
		}
	}
}

// A published workload image is pulled back from a registry and its entrypoint runs from
// the pulled root file system as the image user.
func TestPublishedWorkloadImagesPullBackAndRun(t *testing.T) {
	testkit.SkipShort(t, "a rebuild of every workload image and a local registry")
	if runtime.GOOS != "linux" {
		t.Skip("runs linux binaries")
	}
	lock := loadLock(t)
	res := rebuild(t, lock)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	reg := u.Host
	// The same indexes under the test registry.
	pubLock, err := res.Lock(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := (publish.Target{Registry: reg, Insecure: true}).Images(ctx, pubLock, res.Indexes); err != nil {
		t.Fatal(err)
	}
	for n, img := range pubLock.Images {
		t.Run(n, func(t *testing.T) {
			if img.Digest != lock.Images[n].Digest {
				t.Fatalf("published %s, locked %s", img.Digest, lock.Images[n].Digest)
			}
			ref, err := name.NewDigest(img.Ref(), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			pulled, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
			if err != nil {
				t.Fatal(err)
			}
			cf, err := pulled.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != "65532:65532" || cf.Config.Labels["org.opencontainers.image.source"] == "" ||
				cf.Config.Labels["org.opencontainers.image.version"] != lock.Build.Version {
				t.Errorf("config user %q labels %v", cf.Config.User, cf.Config.Labels)
			}
			dir := t.TempDir()
			if _, err := imagetest.Unpack(pulled, dir); err != nil {
				t.Fatal(err)
			}
			out, code := imagetest.RunEntrypoint(t, dir, cf.Config, "--help")
			if code > 2 || !strings.Contains(strings.ToLower(out), "usage") {
				t.Fatalf("%s --help exited %d:\n%s", n, code, out)
			}
		})
	}
}
