// Package cluster runs the all-in-one bundle on a real single-node Kubernetes built on this
// machine (internal/localcluster): install, data path across an L3 broker deletion, uninstall,
// and the node's teardown restoring the machine.
package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagetest"
	"github.com/edgeframe/edgeframe/internal/localcluster"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

func TestBundleOnARealNode(t *testing.T) {
	testkit.SkipShort(t, "a real kubelet node (minutes)")
	need := func(msg string) {
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		need("the node needs root")
	}
	if _, err := localcluster.FindTools(); err != nil {
		need(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	c := localcluster.Config{
		StateDir: localcluster.DefaultStateDir(), Repo: imagetest.Root(t),
		Log: slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	ownNode := !c.Running()
	if ownNode {
		// A node of our own: bring it down at the end and check that the machine is restored.
		c.StateDir = t.TempDir() + "/cluster"
		before, err := localcluster.ReadSysctls(localcluster.Sysctls)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Down(context.Background()); err != nil {
				t.Errorf("down: %v", err)
			}
			after, err := localcluster.ReadSysctls(localcluster.Sysctls)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range before {
				if after[k] != v {
					t.Errorf("kernel setting %s is %s after down, was %s", k, after[k], v)
				}
			}
			if _, err := os.Stat("/sys/class/net/" + localcluster.Bridge); err == nil {
				t.Errorf("bridge %s left after down", localcluster.Bridge)
			}
			if _, err := os.Stat(c.StateDir); err == nil {
				t.Errorf("state dir %s left after down", c.StateDir)
			}
		})
	}
	s, err := c.E2E(ctx, localcluster.E2EOptions{Run: 90 * time.Second})
	var out strings.Builder
	if s != nil {
		s.Print(&out)
	}
	t.Log(out.String())
	if err != nil {
		t.Log(tail(logs.String(), 60))
		t.Fatal(err)
	}
	if s.Produced == 0 || len(s.Missing) != 0 {
		t.Fatalf("produced %d, missing %d", s.Produced, len(s.Missing))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
