package watch_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/watch"
)

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
		return ""
	}
}

func TestReportsStartAndEveryRealChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pn.json")
	if err := os.WriteFile(path, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 10)
	w := &watch.Watcher{Path: path, Settle: 20 * time.Millisecond, Poll: -1, OnChange: func(b []byte) { ch <- string(b) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	if got := next(t, ch); got != "v1" {
		t.Fatalf("start: %q", got)
	}
	// In-place write.
	if err := os.WriteFile(path, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != "v2" {
		t.Fatalf("after write: %q", got)
	}
	// Same content again: no report.
	if err := os.WriteFile(path, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Atomic replace (rename over), as editors do.
	tmp := filepath.Join(dir, ".pn.json.tmp")
	if err := os.WriteFile(tmp, []byte("v3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != "v3" {
		t.Fatalf("after an unchanged write and a replace: %q", got)
	}
	// Kubernetes ConfigMap style: the file is a symlink to a data dir that is swapped.
	k8s := t.TempDir()
	for _, d := range []string{"..v1", "..v2"} {
		if err := os.Mkdir(filepath.Join(k8s, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(k8s, "..v1", "pn.json"), []byte("cm1"), 0o644)
	_ = os.WriteFile(filepath.Join(k8s, "..v2", "pn.json"), []byte("cm2"), 0o644)
	_ = os.Symlink("..v1", filepath.Join(k8s, "..data"))
	_ = os.Symlink("..data/pn.json", filepath.Join(k8s, "pn.json"))
	cancel()
	<-done

	ch2 := make(chan string, 10)
	w2 := &watch.Watcher{Path: filepath.Join(k8s, "pn.json"), Settle: 20 * time.Millisecond, Poll: -1, OnChange: func(b []byte) { ch2 <- string(b) }}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _ = w2.Run(ctx2) }()
	if got := next(t, ch2); got != "cm1" {
		t.Fatalf("configmap start: %q", got)
	}
	_ = os.Symlink("..v2", filepath.Join(k8s, "..data_tmp"))
	if err := os.Rename(filepath.Join(k8s, "..data_tmp"), filepath.Join(k8s, "..data")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch2); got != "cm2" {
		t.Fatalf("configmap swap: %q", got)
	}
}

func TestMissingFileFailsAtStart(t *testing.T) {
	w := &watch.Watcher{Path: filepath.Join(t.TempDir(), "nope.json"), OnChange: func([]byte) {}}
	if err := w.Run(context.Background()); err == nil {
		t.Fatal("want an error for a missing file")
	}
}
