package interop_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
)

// issue 13: a publishednodes.json broken at runtime (here: truncated mid-write) keeps
// the last good configuration publishing and reports the error; a good file is then
// applied again.
func TestPublisherKeepsLastGoodConfigOnBrokenFile(t *testing.T) {
	testkit.SkipShort(t, "opcplc, opcpublisher, daprd and mosquitto")
	rig := startPubRig(t)
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "1", "--vfr", "100"}})
	good := plcPN(plc.Endpoint, "cfg", 0)
	pub := rig.startPublisher(t, "opcpublisher", good, "--bs", "1")
	pf := filepath.Join(pub.Spec.Dir, "publishednodes.json")

	flowing := func(what string) {
		t.Helper()
		since := time.Now()
		n := 0
		collect(t, rig.sub, 20*time.Second, func(rs []received) bool {
			n = 0
			for _, r := range rs {
				if r.topic == "telemetry/opcua/cfg" && r.at.After(since) {
					n++
				}
			}
			return n >= 5
		})
		if n < 5 {
			t.Fatalf("%s: %d messages in 20 s\n%s", what, n, pub.Log())
		}
	}
	flowing("good file")

	if err := os.WriteFile(pf, []byte(good[:len(good)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	waitLog(t, pub, `"level":"ERROR","msg":"publishednodes.json problem"`) // the watcher read it
	flowing("after the file broke")
	if !strings.Contains(pub.Log(), "the last good configuration keeps running") {
		t.Errorf("the log does not say that the last good configuration keeps running")
	}
	if strings.Contains(pub.Log(), "writer removed") {
		t.Errorf("a writer was removed for a broken file")
	}

	// A good file is applied again (a new group shows it).
	if err := os.WriteFile(pf, []byte(plcPN(plc.Endpoint, "cfg2", 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	rs := collect(t, rig.sub, 20*time.Second, func(rs []received) bool {
		for _, r := range rs {
			if r.topic == "telemetry/opcua/cfg2" && r.at.After(since) {
				return true
			}
		}
		return false
	})
	if countTopic(rs, "telemetry/opcua/cfg2") == 0 {
		t.Fatalf("the fixed file was not applied\n%s", pub.Log())
	}
}

func waitLog(t *testing.T, p *testenv.Process, s string) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, fmt.Sprintf("the log of %s says %q", p.Spec.Name, s), func() bool { return strings.Contains(p.Log(), s) })
}
