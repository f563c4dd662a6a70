package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/gwtest"
)

// brokerExtra lets the L4 broker hold what the gateway has not acknowledged yet
// (mosquitto's default queue of 1000 messages per client would drop messages during a
// gateway restart at 1,000 msg/s).
const brokerExtra = "max_queued_messages 1000000\nmax_inflight_messages 0\n"

// TestKillMinus9DuringA1000MessagePerSecondStream runs the real binary behind a real
// daprd and mosquitto, kills it with SIGKILL twice while 1,000 msg/s stream in, restarts
// it, and checks that every message id the broker acknowledged reaches the file sink.
func TestKillMinus9DuringA1000MessagePerSecondStream(t *testing.T) {
	bin := testenv.BuildWorkload(t, "datagateway")
	broker := testenv.StartMosquitto(t, testenv.MosquittoSpec{Extra: brokerExtra})
	dataDir := t.TempDir()
	appPort, httpPort := testenv.FreePort(t), testenv.FreePort(t)
	gw := testenv.StartProcess(t, testenv.ProcSpec{
		Name: "datagateway",
		Path: bin,
		Args: []string{"--data-dir", dataDir, "--app-port", strconv.Itoa(appPort), "--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort)},
		// an unset variable must not leak a developer's configuration into the test
		Env:   []string{"EDGEFRAME_DATAGATEWAY_CONFIG="},
		Ready: testenv.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)),
	})
	gwtest.Sidecar(t, broker.URL, appPort)
	out := filepath.Join(dataDir, "telemetry")
	// wait until the subscription works end to end
	probe := gwtest.NewPublisher(t, broker.URL, "probe")
	gwtest.Eventually(t, 30*time.Second, "a probe message in the file sink", func() bool {
		raw, id := probe.Event(0)
		probe.PublishOne(t, raw, id)
		time.Sleep(200 * time.Millisecond)
		return len(gwtest.FileIDs(t, out)) > 0
	})

	pub := gwtest.NewPublisher(t, broker.URL, "stream")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pub.Run(ctx, 1000, 200) }()
	for kill := 1; kill <= 2; kill++ {
		time.Sleep(3 * time.Second)
		pid := gw.PID()
		gw.Kill()
		t.Logf("kill -9 #%d of the gateway (pid %d) after %d messages published", kill, pid, len(pub.Acked()))
		time.Sleep(time.Second)
		gw.Restart(t)
	}
	time.Sleep(3 * time.Second)
	stop()
	<-done
	want := pub.Acked()
	if len(want) < 7000 {
		t.Fatalf("only %d messages were published in ~11 s: the stream did not run at 1,000 msg/s", len(want))
	}
	var missing []string
	gwtest.Eventually(t, 120*time.Second, "every acknowledged message in the file sink", func() bool {
		missing = gwtest.Missing(want, gwtest.FileIDs(t, out))
		return len(missing) == 0
	})
	got := gwtest.FileIDs(t, out)
	dups := 0
	for _, id := range want {
		dups += got[id] - 1
	}
	t.Logf("%d messages published at 1,000 msg/s across two kill -9, all %d stored (%d duplicates, at-least-once)", len(want), len(want), dups)
	if strings.Contains(gw.Log(), `"level":"ERROR"`) {
		t.Logf("gateway log has errors:\n%s", gw.Log())
	}
}
