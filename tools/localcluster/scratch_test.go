package localcluster

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/tools/imagebuild/imagetest"
)

func TestScratchContainerd(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	dir := "/tmp/efscratch"
	os.RemoveAll(dir)
	c := Config{StateDir: dir, Repo: imagetest.Root(t), Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	for _, d := range []string{"containerd", "images", "cni/net.d"} {
		os.MkdirAll(c.path(d), 0o755)
	}
	tl := Tools{Containerd: toolPath("containerd"), Ctr: toolPath("ctr"), Shim: toolPath("containerd-shim-runc-v2"), Runc: toolPath("runc"), CoreDNS: toolPath("coredns")}
	os.WriteFile(c.path("containerd", "config.toml"), []byte(c.containerdConfig(tl)), 0o600)
	s := &State{}
	env := []string{"PATH=" + filepath.Dir(tl.Shim) + ":" + os.Getenv("PATH")}
	if err := c.start(s, "containerd", tl.Containerd, []string{"--config", c.path("containerd", "config.toml")}, env); err != nil {
		t.Fatal(err)
	}
	defer stop(s.Procs[0], 10*time.Second)
	ctx := context.Background()
	if err := poll(ctx, "containerd", time.Minute, func(ctx context.Context) error {
		_, err := run(ctx, tl.Ctr, "--address", c.containerdSock(), "version")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportNodeImages(ctx, tl); err != nil {
		t.Fatal(err)
	}
	out, err := run(ctx, tl.Ctr, "--address", c.containerdSock(), "-n", "k8s.io", "images", "ls", "-q")
	t.Log(out, err)
}
