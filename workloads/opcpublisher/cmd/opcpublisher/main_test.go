package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// The real data path — opcplc, the opcpublisher binary, daprd, mosquitto — restarted with
// the same --state-dir, after SIGTERM and after SIGKILL: every CloudEvent id stays unique,
// so a consumer that deduplicates by id keeps every new message.
func TestRestartWithStateDirNeverRepeatsAnID(t *testing.T) {
	bin := testenv.BuildWorkload(t, "opcpublisher")
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	broker := testenv.StartProfileMosquitto(t, "l2")
	telemetry := testenv.Subscribe(t, broker.URL, "telemetry/#")
	daprd := testenv.StartDaprd(t, testenv.ProfileDaprd(t, "l2", "opcpublisher", broker.URL))
	dir := t.TempDir()
	pf := filepath.Join(dir, "pn.json")
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"UseSecurity":false,"DataSetWriterGroup":"line7","DataSetWriterId":"fast","DataSetPublishingInterval":100,
	  "OpcNodes":[{"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1","OpcSamplingInterval":100}]}]`, plc.Endpoint)
	if err := os.WriteFile(pf, []byte(pn), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	web := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pub := testenv.StartProcess(t, testenv.ProcSpec{
		Name: "opcpublisher", Path: bin, Dir: dir,
		Args:  []string{"--pf", pf, "--bs", "1", "--bi", "0", "--http", web, "--pki", filepath.Join(dir, "pki")},
		Env:   []string{"DAPR_GRPC_ENDPOINT=" + daprd.GRPCAddr, "EDGEFRAME_OPCPUBLISHER_STATE_DIR=" + state},
		Ready: testenv.HTTPReady("http://" + web + "/healthz"),
	})

	owner := map[string]int{} // id -> run that sent it
	seqs := map[int][]int64{}
	receive := func(run, n int) {
		t.Helper()
		for got := 0; got < n; got++ {
			m := testenv.Receive(t, telemetry, 30*time.Second)
			ev, err := cloudevent.Decode(m.Payload)
			if err != nil {
				t.Fatalf("not a CloudEvent: %v\n%s", err, m.Payload)
			}
			if r, seen := owner[ev.ID]; seen && r != run {
				t.Fatalf("id %s sent by run %d and again by run %d", ev.ID, r, run)
			}
			owner[ev.ID] = run
			seqs[run] = append(seqs[run], ev.Sequence)
		}
	}
	// drain takes what is still in flight as the run's, once nothing arrived for a second.
	drain := func(run int) {
		t.Helper()
		for {
			select {
			case m := <-telemetry:
				ev, err := cloudevent.Decode(m.Payload)
				if err != nil {
					t.Fatal(err)
				}
				owner[ev.ID] = run
				seqs[run] = append(seqs[run], ev.Sequence)
			case <-time.After(time.Second):
				return
			}
		}
	}
	span := func(run int) (lo, hi int64) {
		lo, hi = seqs[run][0], seqs[run][0]
		for _, s := range seqs[run] {
			lo, hi = min(lo, s), max(hi, s)
		}
		return lo, hi
	}

	receive(1, 20)
	if lo, _ := span(1); lo != 1 {
		t.Fatalf("a fresh state dir starts at %d, want 1", lo)
	}
	pub.Stop()
	if err := pub.ExitErr(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	drain(1)
	b, err := os.ReadFile(filepath.Join(state, "seq-line7"))
	_, hi1 := span(1)
	if err != nil || string(b) != fmt.Sprintf("seqstore v1 next=%d\n", hi1+1) {
		t.Fatalf("state after SIGTERM %q %v, want next=%d", b, err, hi1+1)
	}

	pub.Restart(t)
	receive(2, 20)
	lo2, _ := span(2)
	if lo2 != hi1+1 {
		t.Fatalf("after SIGTERM run 2 starts at %d, want %d (no gap, no reuse)", lo2, hi1+1)
	}
	pub.Kill()
	drain(2)

	pub.Restart(t)
	receive(3, 20)
	_, hi2 := span(2)
	lo3, _ := span(3)
	if lo3 <= hi2 || lo3 > hi2+1000+1 {
		t.Fatalf("after SIGKILL run 3 starts at %d; want after %d and within a block (1000)", lo3, hi2)
	}
	t.Logf("run 1: 1..%d, run 2: %d..%d, run 3 from %d", hi1, lo2, hi2, lo3)
	if log := pub.Log(); strings.Contains(log, "no --state-dir") || !strings.Contains(log, `"msg":"sequence store opened"`) {
		t.Error("the log does not show the state dir in use")
	}
}
