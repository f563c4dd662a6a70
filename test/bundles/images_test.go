package bundles_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
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

// bundleVersion is bundles/VERSION: the version stamped into the images and their tag.
func bundleVersion(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "bundles", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// stagedWorkloadImages are the workload images as a staged manifest names them once a build
// has written the digests: the committed repository, and a digest standing for the build's
// (distinct per workload, so a template resolving to the wrong image shows).
func stagedWorkloadImages(t testing.TB) map[string]imagelock.Image {
	t.Helper()
	ws, err := imagebuild.Workloads(root(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]imagelock.Image{}
	for _, w := range ws {
		out[w] = imagelock.Image{
			Repository: imagelock.Repository(imagebuild.DefaultRegistry, w),
			Digest:     fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("staged "+w))),
		}
	}
	return out
}

// The committed manifests name every workload image by repository and the bundle version's
// tag, with no digest (a committed digest would go stale with every source commit: the build
// writes it into the staged copy); third-party images are pinned by their published digest.
func TestCommittedManifestsNameWorkloadImagesByTag(t *testing.T) {
	ws, err := imagebuild.Workloads(root(t))
	if err != nil {
		t.Fatal(err)
	}
	version := bundleVersion(t)
	named := map[string]bool{}
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
			named[n] = true
			if want := imagelock.Repository(imagebuild.DefaultRegistry, n); r.Repository != want || r.Tag != version || r.Digest != "" {
				t.Errorf("%s: images.%s is repository %q tag %q digest %q; want %q, tag %q (bundles/VERSION) and no digest", b.Name, n, r.Repository, r.Tag, r.Digest, want, version)
			}
		}
	}
	for n := range named {
		if !slices.Contains(ws, n) {
			t.Errorf("images.%s is no workload of workloads/", n)
		}
	}
	for _, w := range ws {
		if !named[w] {
			t.Errorf("workload %s is in no bundle's images", w)
		}
	}
}

// made is what `make bundles` made, once per test binary: every bundle staged
// (build/bundles/build.sh --stage) and the images built with their digests written into the
// staged manifests (edgeframe-images build, as build.sh runs it next).
var made struct {
	once           sync.Once
	dir            string
	staged, layout string
	lock           imagelock.Lock
	err            error
}

// TestMain removes what makeBundles made (shared by the tests of this package).
func TestMain(m *testing.M) {
	code := m.Run()
	if made.dir != "" {
		os.RemoveAll(made.dir)
	}
	os.Exit(code)
}

func makeBundles(t *testing.T) (staged, layout string, lock imagelock.Lock) {
	t.Helper()
	if _, err := os.Stat(caBundle); err != nil {
		t.Skipf("Debian ca-certificates bundle missing: %v", err)
	}
	made.once.Do(func() {
		r := root(t)
		out, err := os.MkdirTemp("", "edgeframe-bundles-")
		if err != nil {
			made.err = err
			return
		}
		made.dir, made.staged, made.layout = out, filepath.Join(out, "bundles"), filepath.Join(out, "images")
		lockPath := filepath.Join(out, "images.lock.json")
		for _, args := range [][]string{
			{"bash", "build/bundles/build.sh", "--stage"},
			{"go", "run", "./build/cmd/edgeframe-images", "build", "--layout", made.layout, "--lock", lockPath,
				"--manifests", filepath.Join(made.staged, "*", "porter.yaml")},
		} {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Dir = r
			cmd.Env = append(os.Environ(), "BUNDLES_OUT="+made.staged)
			start := time.Now()
			if b, err := cmd.CombinedOutput(); err != nil {
				made.err = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, b)
				return
			}
			t.Logf("%s: %s", strings.Join(args[:3], " "), time.Since(start).Round(time.Millisecond))
		}
		made.lock, made.err = imagelock.Load(lockPath)
	})
	if made.err != nil {
		t.Fatal(made.err)
	}
	return made.staged, made.layout, made.lock
}

// layoutDigests reads the index digest of every image of an OCI layout by its ref.name.
func layoutDigests(t *testing.T, dir string) map[string]string {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range im.Manifests {
		out[m.Annotations["org.opencontainers.image.ref.name"]] = m.Digest.String()
	}
	return out
}

var rebuilt struct {
	once sync.Once
	res  *imagebuild.Result
	err  error
}

// rebuild builds every image again, in this process, from a clean copy of the image sources
// in another directory, with the build inputs makeBundles' build recorded.
func rebuild(t *testing.T) *imagebuild.Result {
	t.Helper()
	_, _, lock := makeBundles(t)
	rebuilt.once.Do(func() {
		dir, err := os.MkdirTemp("", "edgeframe-repro-")
		if err != nil {
			rebuilt.err = err
			return
		}
		defer os.RemoveAll(dir)
		for _, p := range imagebuild.SourcePaths {
			if out, err := exec.Command("cp", "-R", filepath.Join(root(t), p), dir).CombinedOutput(); err != nil {
				rebuilt.err = fmt.Errorf("copy %s: %v: %s", p, err, out)
				return
			}
		}
		o, err := imagebuild.FromLock(dir, lock, caBundle)
		if err != nil {
			rebuilt.err = err
			return
		}
		start := time.Now()
		rebuilt.res, rebuilt.err = imagebuild.Build(context.Background(), o)
		t.Logf("second build, in %s: %s", dir, time.Since(start).Round(time.Millisecond))
	})
	if rebuilt.err != nil {
		t.Fatal(rebuilt.err)
	}
	return rebuilt.res
}

func indexDigest(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// The workload images are reproducible: a second build of the same source, from a copy in
// another directory, gives the same index digest for every workload as the build `make
// bundles` ran, so a digest in a published bundle names exactly what its source builds.
func TestWorkloadImagesAreReproducible(t *testing.T) {
	testkit.SkipShort(t, "two builds of every workload image")
	_, layoutDir, lock := makeBundles(t)
	first := layoutDigests(t, layoutDir)
	res := rebuild(t)
	if len(first) == 0 || len(res.Indexes) != len(first) {
		t.Fatalf("built %d and %d images", len(first), len(res.Indexes))
	}
	names := make([]string, 0, len(first))
	for n := range first {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if first[n] != lock.Images[n].Digest {
			t.Errorf("%s: the layout has %s, the build's lock %s", n, first[n], lock.Images[n].Digest)
		}
		if again := indexDigest(t, res.Indexes[n]); again != first[n] {
			t.Errorf("%s: make bundles built %s, a second build %s", n, first[n], again)
		} else {
			t.Logf("%s %s reproduced", n, again)
		}
	}
}

// What `make bundles` does leaves in every staged manifest the digest of each workload image
// just built (read back from the OCI layout the build wrote) and changes nothing else: the
// staged manifest is the committed one plus one digest line per workload image.
func TestStagedManifestsCarryTheDigestsJustBuilt(t *testing.T) {
	testkit.SkipShort(t, "staging every bundle and a build of every workload image")
	staged, layoutDir, _ := makeBundles(t)
	built := layoutDigests(t, layoutDir)
	version := bundleVersion(t)
	for _, b := range loadBundles(t) {
		p := filepath.Join(staged, b.Name, "porter.yaml")
		refs, err := bundleimages.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		var digestLines []string
		for n, ref := range refs {
			if ref.ThirdParty {
				continue
			}
			want := bundleimages.Ref{Repository: imagelock.Repository(imagebuild.DefaultRegistry, n), Digest: built[n], Tag: version}
			if built[n] == "" || ref != want {
				t.Errorf("%s: staged images.%s is %+v, want %+v (the image just built)", b.Name, n, ref, want)
			}
			digestLines = append(digestLines, fmt.Sprintf("    digest: %q\n", ref.Digest))
		}
		committed, _ := os.ReadFile(b.Path)
		text, _ := os.ReadFile(p)
		rest := string(text)
		for _, l := range digestLines {
			rest = strings.Replace(rest, l, "", 1)
		}
		if rest != string(committed) {
			t.Errorf("%s: the staged manifest differs from %s in more than the workload digests", b.Name, b.Path)
		}
	}
}

// A published workload image is pulled back from a registry and its entrypoint runs from
// the pulled root file system as the image user.
func TestPublishedWorkloadImagesPullBackAndRun(t *testing.T) {
	testkit.SkipShort(t, "a build of every workload image and a local registry")
	if runtime.GOOS != "linux" {
		t.Skip("runs linux binaries")
	}
	res := rebuild(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	reg := u.Host
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
			if built := indexDigest(t, res.Indexes[n]); img.Digest != built {
				t.Fatalf("published %s, built %s", img.Digest, built)
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
				cf.Config.Labels["org.opencontainers.image.version"] != pubLock.Build.Version {
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
