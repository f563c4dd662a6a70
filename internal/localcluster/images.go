package localcluster

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/edgeframe/edgeframe/build/imagebuild"
	"github.com/edgeframe/edgeframe/build/imagebuild/ociimage"
	"github.com/edgeframe/edgeframe/internal/toolcache"
)

var amd64 = ociimage.Platform{OS: "linux", Arch: "amd64"}

// Image is an image imported into the node's containerd.
type Image struct {
	// Name is the tagged reference (repository:tag).
	Name string
	// Repository and Digest address it by content, as the charts' image.digest values do.
	Repository, Digest string
}

// Ref is repository@digest.
func (i Image) Ref() string { return i.Repository + "@" + i.Digest }

// ImportNodeImages builds and imports the sandbox (pause) and CoreDNS images.
func (c Config) ImportNodeImages(ctx context.Context, t Tools) error {
	pauseBin := c.path("images", "edgeframe-pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", pauseBin, "./internal/localcluster/cmd/edgeframe-pause")
	cmd.Dir, cmd.Env = c.Repo, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build pause: %w: %s", err, out)
	}
	pause, err := c.contentImage(SandboxImage, []string{"/pause"}, "65535:65535", map[string]string{pauseBin: "/pause"})
	if err != nil {
		return err
	}
	coredns, err := c.contentImage(CoreDNSImage, []string{"/coredns"}, "", map[string]string{t.CoreDNS: "/coredns"})
	if err != nil {
		return err
	}
	_, err = c.importImages(ctx, t, map[string]v1.Image{SandboxImage: pause, CoreDNSImage: coredns}, nil)
	return err
}

// contentImage assembles an image from host files (host path → image path) plus the shared
// libraries each dynamically linked one needs (found with ldd).
func (c Config) contentImage(name string, entry []string, user string, files map[string]string) (v1.Image, error) {
	caCerts, err := os.ReadFile(imagebuild.DefaultCACerts)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	seen := map[string]bool{}
	var out []ociimage.File
	add := func(host, in string) error {
		if seen[in] {
			return nil
		}
		seen[in] = true
		b, err := os.ReadFile(host)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		out = append(out, ociimage.File{Path: in, Mode: 0o755, Data: b})
		return nil
	}
	for host, in := range files {
		if err := add(host, in); err != nil {
			return nil, err
		}
		libs, err := sharedLibs(host)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", name, err)
		}
		for _, l := range libs {
			if err := add(l, l); err != nil {
				return nil, err
			}
		}
	}
	return ociimage.ContentImage(ociimage.Content{
		Name: name, Platform: amd64, Created: time.Unix(1, 0).UTC(), CACerts: caCerts,
		Files: out, Entrypoint: entry, User: user,
	})
}

var lddPath = regexp.MustCompile(`(?m)(?:=>\s*)?(/\S+)\s+\(0x`)

// sharedLibs lists the shared objects (and the loader) a binary links, by their paths on this
// machine; none for a static binary.
func sharedLibs(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") || strings.Contains(string(out), "statically linked") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, out)
	}
	var libs []string
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
		// glibc loads libgcc_s at run time (pthread_exit, cancellation); ldd does not list it:
		// without it mosquitto aborts with "libgcc_s.so.1 must be installed for pthread_exit".
		if filepath.Base(m[1]) == "libc.so.6" {
			if gcc := filepath.Join(filepath.Dir(m[1]), "libgcc_s.so.1"); fileExists(gcc) {
				libs = append(libs, gcc)
			}
		}
	}
	return libs, nil
}

// importImages writes images and indexes into one OCI layout (each annotated with its full
// reference) and imports it into containerd's k8s.io namespace, each also named
// repository@digest so that digest references resolve without a registry.
func (c Config) importImages(ctx context.Context, t Tools, images map[string]v1.Image, indexes map[string]v1.ImageIndex) (map[string]Image, error) {
	dir, err := os.MkdirTemp(c.path("images"), "layout-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, err
	}
	out := map[string]Image{}
	ann := func(ref string) layout.Option {
		return layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})
	}
	for ref, img := range images {
		if err := p.AppendImage(img, ann(ref)); err != nil {
			return nil, fmt.Errorf("layout %s: %w", ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out[ref] = Image{Name: ref, Repository: repository(ref), Digest: d.String()}
	}
	for ref, idx := range indexes {
		if err := p.AppendIndex(idx, ann(ref)); err != nil {
			return nil, fmt.Errorf("layout %s: %w", ref, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return nil, err
		}
		out[ref] = Image{Name: ref, Repository: repository(ref), Digest: d.String()}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, dir)) }()
	cmd := exec.CommandContext(ctx, t.Ctr, "--address", c.containerdSock(), "-n", "k8s.io",
		"images", "import", "--all-platforms", "-")
	cmd.Stdin = pr
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ctr images import: %w: %s", err, b)
	}
	// Kubelet asks CRI for repository@digest (the charts' image.digest): name the image so.
	for ref, img := range out {
		if _, err := run(ctx, t.Ctr, "--address", c.containerdSock(), "-n", "k8s.io", "images", "tag", "--force", ref, img.Ref()); err != nil {
			return nil, err
		}
		c.Log.Info("imported image", "ref", ref, "digest", img.Digest)
	}
	return out, nil
}

// repository is ref without its tag.
func repository(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// tarDir writes dir as an uncompressed tar (paths relative to dir).
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// DaprControlPlane are the control-plane binaries in the dapr image. Not the scheduler: its
// dependency github.com/diagridio/go-etcd-cron is not served by the module proxy here.
var DaprControlPlane = []string{"operator", "injector", "sentry", "placement"}

// AppImages are the images of the bundle's install, by the porter.yaml image key (workloads) or
// by role: mosquitto, and the Dapr images by component (daprd, operator, injector, …).
type AppImages struct {
	Workloads map[string]Image
	Mosquitto Image
	Kubectl   Image
	Dapr      map[string]Image
}

// ImportAppImages builds every image the install needs and imports it: the four workloads with
// the project's image builder (linux/amd64, from the working tree), mosquitto assembled from
// the Debian package, and the Dapr control plane and daprd from `make tools`' builds.
func (c Config) ImportAppImages(ctx context.Context, daprVersion string) (AppImages, error) {
	t, err := FindTools()
	if err != nil {
		return AppImages{}, err
	}
	res, err := imagebuild.Build(ctx, imagebuild.Options{
		Root: c.Repo, Platforms: []ociimage.Platform{amd64}, Version: "local", Revision: "local",
		Source: imagebuild.DefaultSource, Created: time.Unix(1, 0).UTC(), CACerts: imagebuild.DefaultCACerts,
		Log: func(f string, a ...any) { c.Log.Info(fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return AppImages{}, err
	}
	indexes := map[string]v1.ImageIndex{}
	refOf := map[string]string{}
	for name, idx := range res.Indexes {
		ref := "ghcr.io/edgeframe/" + name + ":local"
		indexes[ref], refOf[name] = idx, ref
	}
	mosq := toolPath("mosquitto")
	if mosq == "" {
		return AppImages{}, fmt.Errorf("mosquitto is not installed: run `make tools` (build/tools/00-mosquitto.sh)")
	}
	daprd := toolPath("daprd")
	if daprd == "" {
		return AppImages{}, fmt.Errorf("daprd is not installed: run `make tools` (build/tools/10-daprd.sh)")
	}
	// The Dapr chart runs one image per component, ghcr.io/dapr/<name>:<version>, each with
	// its binary at /<name>.
	cp := filepath.Join(toolcache.Dir(), "dapr-control-plane-"+daprVersion)
	dapr := map[string]string{"daprd": daprd}
	for _, b := range DaprControlPlane {
		if _, err := os.Stat(filepath.Join(cp, b)); err != nil {
			return AppImages{}, fmt.Errorf("dapr %s %s is not built: run `make tools` (build/tools/37-dapr-control-plane.sh)", b, daprVersion)
		}
		dapr[b] = filepath.Join(cp, b)
	}
	images := map[string]v1.Image{}
	mosqRef := "localhost/edgeframe/mosquitto:debian"
	if images[mosqRef], err = c.contentImage(mosqRef, []string{"/usr/sbin/mosquitto"}, "1883:1883", map[string]string{mosq: "/usr/sbin/mosquitto"}); err != nil {
		return AppImages{}, err
	}
	// The dns-override hook Jobs run /bin/kubectl (registry.k8s.io/kubectl): the same
	// Kubernetes version's kubectl from `make tools`.
	kubectl := toolPath("kubectl")
	if kubectl == "" {
		return AppImages{}, fmt.Errorf("kubectl is not installed: run `make tools` (build/tools/30-kubernetes.sh)")
	}
	kubectlRef := "registry.k8s.io/kubectl:local"
	if images[kubectlRef], err = c.contentImage(kubectlRef, []string{"/bin/kubectl"}, "", map[string]string{kubectl: "/bin/kubectl"}); err != nil {
		return AppImages{}, err
	}
	daprRefs := map[string]string{}
	for name, bin := range dapr {
		ref := "ghcr.io/dapr/" + name + ":" + daprVersion
		daprRefs[name] = ref
		if images[ref], err = c.contentImage(ref, []string{"/" + name}, "", map[string]string{bin: "/" + name}); err != nil {
			return AppImages{}, err
		}
	}
	got, err := c.importImages(ctx, t, images, indexes)
	if err != nil {
		return AppImages{}, err
	}
	out := AppImages{Workloads: map[string]Image{}, Mosquitto: got[mosqRef], Kubectl: got[kubectlRef], Dapr: map[string]Image{}}
	for name, ref := range daprRefs {
		out.Dapr[name] = got[ref]
	}
	for name, ref := range refOf {
		out.Workloads[name] = got[ref]
	}
	return out, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
