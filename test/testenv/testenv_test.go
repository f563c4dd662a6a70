package testenv_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
	"github.com/edgeframe/edgeframe/test/testkit"
)

func TestMosquittoCarriesAMessageAndSurvivesKill(t *testing.T) {
	b := testenv.StartMosquitto(t, testenv.MosquittoSpec{})
	sub := testenv.Subscribe(t, b.URL, "telemetry/#")
	testenv.Publish(t, b.URL, "telemetry/x", []byte("hello"))
	if m := testenv.Receive(t, sub, 5*time.Second); string(m.Payload) != "hello" || m.Topic != "telemetry/x" {
		t.Fatalf("got %+v", m)
	}
	pid := b.PID()
	b.Kill()
	if !b.Exited() {
		t.Fatal("kill did not end the broker")
	}
	b.Restart(t)
	if b.PID() == pid || b.PID() == 0 {
		t.Fatalf("restart kept pid %d", pid)
	}
	// the auto-reconnecting subscriber resubscribes (clean session) after the restart
	testkit.Eventually(t, 10*time.Second, "a message after the broker restart", func() bool {
		testenv.Publish(t, b.URL, "telemetry/y", []byte("again"))
		select {
		case m := <-sub:
			return string(m.Payload) == "again"
		case <-time.After(500 * time.Millisecond):
			return false
		}
	})
}

func TestDaprdPublishesToMosquitto(t *testing.T) {
	b := profile.StartMosquitto(t, "l2")
	sub := testenv.Subscribe(t, b.URL, "telemetry/#")
	d := testenv.StartDaprd(t, profile.Daprd(t, "l2", "tempsensor", b.URL))
	testenv.DaprPublishHTTP(t, d, "edge-pubsub", "telemetry/testenv", `{"v":1}`)
	m := testenv.Receive(t, sub, 10*time.Second)
	if m.Topic != "telemetry/testenv" {
		t.Fatalf("topic %q", m.Topic)
	}
	if len(m.Payload) == 0 {
		t.Fatal("empty payload")
	}
}

// A relative executable path is relative to the test's working directory, not to the
// child's own directory (exec would otherwise resolve it against ProcSpec.Dir).
func TestStartProcessResolvesRelativePathFromOurDirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	script := "#!/bin/sh\ntouch " + marker + "\nsleep 30\n"
	if err := os.WriteFile(filepath.Join(root, "bin", "child"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	testenv.StartProcess(t, testenv.ProcSpec{
		Name: "child", Path: "bin/child", Dir: t.TempDir(),
		Ready: func(context.Context) error { _, err := os.Stat(marker); return err },
	})
}
