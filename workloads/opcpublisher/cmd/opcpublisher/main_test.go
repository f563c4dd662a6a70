package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
	"github.com/edgeframe/edgeframe/test/testkit"
)

// pipeline is the real data path: opcplc, the opcpublisher binary reading pf, daprd,
// mosquitto, and a subscriber of telemetry/#.
type pipeline struct {
	telemetry <-chan testenv.MQTTMessage
	pf        string
	pub       *testenv.Process
}

// startPipeline starts the pipeline in dir with the publishednodes.json pn(opcplc's
// endpoint) and env added to the publisher's environment.
func startPipeline(t *testing.T, dir string, pn func(endpoint string) []byte, env ...string) pipeline {
	t.Helper()
	bin := testenv.BuildWorkload(t, "opcpublisher")
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	broker := profile.StartMosquitto(t, "l2")
	telemetry := testenv.Subscribe(t, broker.URL, "telemetry/#")
	daprd := testenv.StartDaprd(t, profile.Daprd(t, "l2", "opcpublisher", broker.URL))
	pf := filepath.Join(dir, "pn.json")
	if err := os.WriteFile(pf, pn(plc.Endpoint), 0o644); err != nil {
		t.Fatal(err)
	}
	web := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pub := testenv.StartProcess(t, testenv.ProcSpec{
		Name: "opcpublisher", Path: bin, Dir: dir,
		Args:  []string{"--pf", pf, "--bs", "1", "--bi", "0", "--http", web, "--pki", filepath.Join(dir, "pki")},
		Env:   append([]string{"DAPR_GRPC_ENDPOINT=" + daprd.GRPCAddr}, env...),
		Ready: supervise.HTTPReady("http://" + web + "/healthz"),
	})
	return pipeline{telemetry: telemetry, pf: pf, pub: pub}
}

// The real data path — opcplc, the opcpublisher binary, daprd, mosquitto — restarted with
// the same --state-dir, after SIGTERM and after SIGKILL: every CloudEvent id stays unique,
// so a consumer that deduplicates by id keeps every new message.
func TestRestartWithStateDirNeverRepeatsAnID(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	pp := startPipeline(t, dir, func(endpoint string) []byte {
		return []byte(fmt.Sprintf(`[{"EndpointUrl":%q,"UseSecurity":false,"DataSetWriterGroup":"line7","DataSetWriterId":"fast","DataSetPublishingInterval":100,
	  "OpcNodes":[{"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1","OpcSamplingInterval":100}]}]`, endpoint))
	}, "EDGEFRAME_OPCPUBLISHER_STATE_DIR="+state)
	telemetry, pub := pp.telemetry, pp.pub

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

// metaNet is what the metadata test reads of a network message (ua-data or ua-metadata).
type metaNet struct {
	MessageType     string
	DataSetWriterID string `json:"DataSetWriterId"`
	MetaData        struct {
		Fields []struct {
			Name        string
			BuiltInType int
			ValueRank   int
		}
		ConfigurationVersion struct{ MajorVersion, MinorVersion uint32 }
	}
	Messages []struct {
		DataSetWriterID string `json:"DataSetWriterId"`
		MetaDataVersion struct{ MajorVersion, MinorVersion uint32 }
		Payload         map[string]json.RawMessage
	}
}

// The real data path (opcplc, the binary, daprd, mosquitto): a writer's ua-metadata
// message (version 1.0, its field with the type the server reports) comes before its
// first data; adding a node to publishednodes.json sends a new one (1.1, both fields)
// before the first data of the new version, on the same topic and in the group's
// sequence, so ids stay unique and the sequence contiguous.
func TestMetaDataPrecedesDataAndFollowsAChange(t *testing.T) {
	testkit.SkipShort(t, "opcplc, daprd and mosquitto")
	node := func(s string) string {
		return fmt.Sprintf(`{"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=%s","DisplayName":%q,"OpcSamplingInterval":100}`, s, s)
	}
	var endpoint string
	pn := func(nodes ...string) []byte {
		return []byte(fmt.Sprintf(`[{"EndpointUrl":%q,"UseSecurity":false,"DataSetWriterGroup":"line8","DataSetWriterId":"fast",
		  "DataSetPublishingInterval":100,"OpcNodes":[%s]}]`, endpoint, strings.Join(nodes, ",")))
	}
	pp := startPipeline(t, t.TempDir(), func(e string) []byte { endpoint = e; return pn(node("FastUInt1")) })
	telemetry, pf := pp.telemetry, pp.pf

	var seq int64
	next := func() metaNet {
		t.Helper()
		m := testenv.Receive(t, telemetry, 30*time.Second)
		ev, err := cloudevent.Decode(m.Payload)
		if err != nil {
			t.Fatalf("not a CloudEvent: %v\n%s", err, m.Payload)
		}
		seq++
		if ev.Sequence != seq || ev.ID != cloudevent.NewID("opcua", "line8", seq) || m.Topic != "telemetry/opcua/line8" {
			t.Fatalf("event %s sequence %d on %s, want sequence %d on telemetry/opcua/line8", ev.ID, ev.Sequence, m.Topic, seq)
		}
		var n metaNet
		if err := json.Unmarshal(ev.Data, &n); err != nil {
			t.Fatalf("data: %v\n%s", err, ev.Data)
		}
		return n
	}
	type field struct {
		Name          string
		BuiltIn, Rank int
	}
	fieldsOf := func(n metaNet) []field {
		var out []field
		for _, f := range n.MetaData.Fields {
			out = append(out, field{f.Name, f.BuiltInType, f.ValueRank})
		}
		return out
	}
	const uint32Type = 7 // opcplc's FastUInt and StepUp nodes are UInt32

	first := next()
	if first.MessageType != "ua-metadata" || first.DataSetWriterID != "fast" || first.MetaData.ConfigurationVersion.MajorVersion != 1 ||
		first.MetaData.ConfigurationVersion.MinorVersion != 0 || !slices.Equal(fieldsOf(first), []field{{"FastUInt1", uint32Type, -1}}) {
		t.Fatalf("first message %+v, want the writer's ua-metadata 1.0 with FastUInt1 (UInt32, scalar)", first)
	}
	for range 5 {
		d := next()
		if d.MessageType != "ua-data" || d.Messages[0].MetaDataVersion.MajorVersion != 1 || d.Messages[0].MetaDataVersion.MinorVersion != 0 {
			t.Fatalf("data %+v, want ua-data of version 1.0", d)
		}
	}

	if err := os.WriteFile(pf, pn(node("FastUInt1"), node("StepUp")), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no ua-metadata within 30 s of adding a node")
		}
		n := next()
		if n.MessageType == "ua-metadata" {
			if v := n.MetaData.ConfigurationVersion; v.MajorVersion != 1 || v.MinorVersion != 1 ||
				!slices.Equal(fieldsOf(n), []field{{"FastUInt1", uint32Type, -1}, {"StepUp", uint32Type, -1}}) {
				t.Fatalf("metadata after adding StepUp %+v, want 1.1 with FastUInt1 and StepUp", n)
			}
			break
		}
		if v := n.Messages[0].MetaDataVersion; v.MajorVersion != 1 || v.MinorVersion != 0 {
			t.Fatalf("data of version %+v before its metadata", v)
		}
		if _, ok := n.Messages[0].Payload["StepUp"]; ok {
			t.Fatal("StepUp published before the metadata announcing it")
		}
	}
	d := next()
	if d.MessageType != "ua-data" || d.Messages[0].MetaDataVersion.MajorVersion != 1 || d.Messages[0].MetaDataVersion.MinorVersion != 1 {
		t.Fatalf("data after the new metadata %+v, want version 1.1", d)
	}
}
