package main

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/topology"
	"github.com/edgeframe/edgeframe/test/testenv"
)

func TestParseFlagsAndEnv(t *testing.T) {
	o, err := parse([]string{"--duration=30s", "--data-dir", "/x"}, testkit.Env(map[string]string{"EDGEFRAME_DEMO_RATE": "250", "EDGEFRAME_DEMO_DURATION": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 30*time.Second || o.rate != 250 || o.dataDir != "/x" || o.basePort != 18830 {
		t.Fatalf("got %+v", o)
	}
	for _, bad := range [][]string{{"--rate=fast"}, {"--nope"}, {"extra"}, {"--duration=-1s"}} {
		if _, err := parse(bad, testkit.Env(nil)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parse(nil, testkit.Env(map[string]string{"EDGEFRAME_DEMO_RATE": "x"})); err == nil || !strings.Contains(err.Error(), "EDGEFRAME_DEMO_RATE") {
		t.Errorf("bad env: %v", err)
	}
}

func TestMissingPiecesAreOneLineEach(t *testing.T) {
	o, _ := parse([]string{"--bin-dir", t.TempDir(), "--charts-dir", t.TempDir()}, testkit.Env(nil))
	_, err := o.config(time.Now())
	if err == nil {
		t.Fatal("accepted an empty bin dir")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(line, "make") && !strings.Contains(line, "repository root") {
			t.Errorf("line does not say how to fix it: %q", line)
		}
	}
	if !strings.Contains(err.Error(), "workload opcplc: binary not built: run `make build`") {
		t.Errorf("no line for opcplc:\n%v", err)
	}
}

// binDir builds every workload and links it into a bin directory, as `make build` does.
func binDir(t *testing.T) string {
	dir := t.TempDir()
	for _, w := range []string{topology.OPCPLC, topology.OPCPublisher, topology.TempSensor, topology.DataGateway} {
		if err := os.Symlink(testenv.BuildWorkload(t, w), filepath.Join(dir, w)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDemoRunsTheTopologyPrintsTheTableAndLeavesNoOrphans(t *testing.T) {
	testenv.Tool(t, "mosquitto")
	testenv.Tool(t, "daprd")
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	o, err := parse([]string{"--duration=25s", "--rate=20", "--data-dir", t.TempDir(), "--bin-dir", binDir(t),
		"--charts-dir", filepath.Join(root, "charts"), "--base-port", "0"}, testkit.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	t.Log(s)
	for _, want := range []string{"L2  mosquitto", "L4 msg/s", "summary after", "missing 0", "every child process stopped"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
