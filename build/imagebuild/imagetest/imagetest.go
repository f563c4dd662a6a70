// Package imagetest helps the image tests: it compiles the small testdata/hello entrypoint
// for a set of platforms, finds the repository root, and unpacks an image's root file
// system so its entrypoint can be run from it.
package imagetest

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/edgeframe/edgeframe/build/imagebuild/gobuild"
	"github.com/edgeframe/edgeframe/build/imagebuild/ociimage"
)

// Root returns the repository root (the directory holding go.mod) above the working directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Hello compiles build/imagebuild/testdata/hello for each platform, stamping version.
func Hello(t testing.TB, version string, platforms ...ociimage.Platform) map[ociimage.Platform]string {
	t.Helper()
	root := Root(t)
	out := map[ociimage.Platform]string{}
	for _, p := range platforms {
		bin := filepath.Join(t.TempDir(), "hello")
		if err := gobuild.Build(context.Background(), gobuild.Spec{
			Dir: root, Package: "./build/imagebuild/testdata/hello",
			OS: p.OS, Arch: p.Arch, Version: version, Out: bin,
		}); err != nil {
			t.Fatal(err)
		}
		out[p] = bin
	}
	return out
}

// Unpack writes the flattened file system of img under dir (regular files, directories
// and symlinks; modes kept) and returns the tar headers by path.
func Unpack(img v1.Image, dir string) (map[string]*tar.Header, error) {
	// The unpacked root must be traversable by the image's non-root user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	headers := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers, nil
		}
		if err != nil {
			return nil, err
		}
		name := filepath.Clean(h.Name)
		if strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			return nil, fmt.Errorf("unsafe path %q in image", h.Name)
		}
		headers[name] = h
		target := filepath.Join(dir, name)
		defer chown(target, h)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(h.Mode).Perm()|0o700); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return nil, err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, target); err != nil {
				return nil, err
			}
		}
	}
}

// RunEntrypoint runs the image's entrypoint from its unpacked root file system with the
// image's environment, working directory and arguments, and returns its combined output
// and exit code (a binary that cannot be started fails the test).
// As root it runs chrooted into the file system as the image's user (what a container
// runtime does, minus namespaces); otherwise it runs the binary in place with the
// environment's absolute paths moved under root.
func RunEntrypoint(t testing.TB, root string, cfg v1.Config, args ...string) (string, int) {
	t.Helper()
	if len(cfg.Entrypoint) == 0 {
		t.Fatal("image has no entrypoint")
	}
	argv := append(append(append([]string{}, cfg.Entrypoint[1:]...), cfg.Cmd...), args...)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command(cfg.Entrypoint[0], argv...)
		cmd.Path = cfg.Entrypoint[0]
		cmd.Env = cfg.Env
		cmd.Dir = cfg.WorkingDir
		uid, gid, err := parseUser(cfg.User)
		if err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: uid, Gid: gid},
		}
	} else {
		cmd = exec.Command(filepath.Join(root, cfg.Entrypoint[0]), argv...)
		for _, kv := range cfg.Env {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(v, "/") && !strings.Contains(v, ":") {
				v = filepath.Join(root, v)
			}
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("entrypoint %v: %v\n%s", cfg.Entrypoint, err, out)
	}
	return string(out), 0
}

func parseUser(s string) (uint32, uint32, error) {
	u, g, ok := strings.Cut(s, ":")
	if !ok {
		g = u
	}
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("image user %q: want uid:gid", s)
	}
	gid, err := strconv.ParseUint(g, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("image user %q: want uid:gid", s)
	}
	return uint32(uid), uint32(gid), nil
}

// chown gives an unpacked entry its owner from the image when running as root.
func chown(path string, h *tar.Header) {
	if os.Geteuid() == 0 {
		_ = os.Lchown(path, h.Uid, h.Gid)
		if h.Typeflag == tar.TypeDir {
			_ = os.Chmod(path, os.FileMode(h.Mode).Perm()|os.FileMode(h.Mode)&os.ModeSticky)
		}
	}
}
