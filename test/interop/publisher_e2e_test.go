package interop_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testenv"
)

func plcPN(endpoint, group string, kfc int) string {
	return fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":%q,"DataSetWriterId":"fast","DataSetKeyFrameCount":%d,"OpcNodes":[
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1","DisplayName":"FastUInt1","OpcSamplingInterval":100,"OpcPublishingInterval":100,"QueueSize":10},
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt2","DisplayName":"FastUInt2","OpcSamplingInterval":100,"OpcPublishingInterval":100,"QueueSize":10},
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=StepUp","DisplayName":"StepUp","OpcSamplingInterval":100,"OpcPublishingInterval":100,"QueueSize":10}]}]`,
		endpoint, group, kfc)
}

// checkStream checks one group's events: id opcua/<group>/<seq>, CloudEvent sequence
// contiguous from 1, conventional source/type, and returns the events in order.
func checkStream(t *testing.T, rs []received, group string) []cloudevent.Event {
	t.Helper()
	var evs []cloudevent.Event
	for _, r := range rs {
		if r.topic == "telemetry/opcua/"+group {
			evs = append(evs, r.ev)
		}
	}
	for i, ev := range evs {
		if ev.Sequence != int64(i+1) || ev.ID != cloudevent.NewID("opcua", group, int64(i+1)) ||
			ev.Source != "edgeframe/l2/opcpublisher" || ev.Type != "io.edgeframe.telemetry.opcua.v1" || ev.DataContentType != "application/json" {
			t.Fatalf("%s event %d: id %s sequence %d source %s type %s", group, i, ev.ID, ev.Sequence, ev.Source, ev.Type)
		}
	}
	return evs
}

// opcplc → opcpublisher → real daprd → real mosquitto → MQTT subscriber, in both
// encodings (PubSub default and strict, Samples): message shape, contiguous sequence
// numbers, key frames at the configured interval.
func TestPublisherThroughDaprdAndMosquitto(t *testing.T) {
	rig := startPubRig(t)
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	rig.startPublisher(t, "opcpublisher-pubsub", plcPN(plc.Endpoint, "pubsub", 3), "--bs", "1")
	rig.startPublisher(t, "opcpublisher-strict", plcPN(plc.Endpoint, "strict", 3), "--bs", "1", "--strict")
	rig.startPublisher(t, "opcpublisher-samples", plcPN(plc.Endpoint, "samples", 0), "--mm", "Samples", "--bs", "6", "--bi", "60000")

	rs := collect(t, rig.sub, 60*time.Second, func(rs []received) bool {
		return countTopic(rs, "telemetry/opcua/pubsub") >= 12 && countTopic(rs, "telemetry/opcua/strict") >= 12 && countTopic(rs, "telemetry/opcua/samples") >= 3
	})

	t.Run("PubSub", func(t *testing.T) {
		evs := checkStream(t, rs, "pubsub")
		if len(evs) < 12 {
			t.Fatalf("%d events", len(evs))
		}
		if m := decodeNetworkMessage(t, evs[0]); m.MessageType != "ua-metadata" {
			t.Fatalf("the first event is %s, want the writer's ua-metadata", m.MessageType)
		}
		for i, ev := range dataEvents(t, evs) {
			m := decodeNetworkMessage(t, ev)
			d := m.Messages[0]
			if len(m.Messages) != 1 || d.DataSetWriterID != "fast" || d.SequenceNumber != uint32(i+1) {
				t.Fatalf("event %d: %d messages, writer %v, sequence %d", i, len(m.Messages), d.DataSetWriterID, d.SequenceNumber)
			}
			want := "ua-deltaframe"
			if i%3 == 0 {
				want = "ua-keyframe"
			}
			if d.MessageType != want {
				t.Fatalf("message %d is %s, want %s (DataSetKeyFrameCount 3)", i+1, d.MessageType, want)
			}
			if want == "ua-keyframe" && i > 0 && len(d.Payload) != 3 {
				t.Fatalf("key frame %d carries %d fields", i+1, len(d.Payload))
			}
			for f, v := range d.Payload {
				if _, ok := v.Value.(float64); !ok {
					t.Fatalf("field %s value %v", f, v.Value)
				}
			}
		}
	})
	t.Run("PubSub strict", func(t *testing.T) {
		evs := checkStream(t, rs, "strict")
		for i, ev := range dataEvents(t, evs) {
			d := decodeNetworkMessage(t, ev).Messages[0]
			if _, numeric := d.DataSetWriterID.(float64); !numeric || d.DataSetWriterName != "fast" || d.SequenceNumber != uint32(i+1) {
				t.Fatalf("strict message %d: writer id %v (%T) name %q sequence %d", i, d.DataSetWriterID, d.DataSetWriterID, d.DataSetWriterName, d.SequenceNumber)
			}
		}
	})
	t.Run("Samples", func(t *testing.T) {
		evs := checkStream(t, rs, "samples")
		var seqs []uint32
		for _, ev := range evs {
			var d struct {
				Samples []struct {
					NodeID         string `json:"NodeId"`
					DisplayName    string
					SequenceNumber uint32
					Value          struct{ Value any }
				}
			}
			if err := json.Unmarshal(ev.Data, &d); err != nil || len(d.Samples) != 6 {
				t.Fatalf("event %s: %v, %d samples: %.300s", ev.ID, err, len(d.Samples), ev.Data)
			}
			for _, s := range d.Samples {
				if !strings.HasPrefix(s.NodeID, "nsu=http://microsoft.com/Opc/OpcPlc/;s=") || s.DisplayName == "" || s.Value.Value == nil {
					t.Fatalf("sample %+v", s)
				}
				seqs = append(seqs, s.SequenceNumber)
			}
		}
		for i := range seqs {
			if seqs[i] != uint32(i+1) {
				t.Fatalf("sample sequence numbers not contiguous: %v", seqs)
			}
		}
	})
}

// Kill opcplc mid-stream and start it again: telemetry flows again within 5 s, the
// writer's sequence numbers skip the missed intervals and the publisher logs the gap,
// while the CloudEvent sequence stays contiguous (nothing lost after the source).
func TestPublisherResumesAfterOPCPLCRestart(t *testing.T) {
	rig := startPubRig(t)
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	pub := rig.startPublisher(t, "opcpublisher", plcPN(plc.Endpoint, "restart", 0), "--bs", "1", "--reconnect-max", "1s")

	before := collect(t, rig.sub, 60*time.Second, func(rs []received) bool { return len(rs) >= 10 })
	plc.Kill()
	down := time.Now()
	time.Sleep(2 * time.Second) // the outage under test
	// Drain what was in flight before the kill.
	before = append(before, collect(t, rig.sub, 500*time.Millisecond, func([]received) bool { return false })...)
	plc.Restart(t)
	up := time.Now()
	after := collect(t, rig.sub, 5*time.Second, func(rs []received) bool { return len(rs) >= 1 })
	if len(after) == 0 {
		t.Fatalf("no telemetry within 5 s of opcplc coming back (down for %s)", up.Sub(down).Round(time.Millisecond))
	}
	t.Logf("telemetry again %s after opcplc was ready (outage %s)", after[0].at.Sub(up).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond))
	after = append(after, collect(t, rig.sub, 3*time.Second, func(rs []received) bool { return len(rs) >= 5 })...)

	all := checkStream(t, append(before, after...), "restart")
	evsOf := func(rs []received) []cloudevent.Event {
		var out []cloudevent.Event
		for _, r := range rs {
			out = append(out, r.ev)
		}
		return dataEvents(t, out)
	}
	dataBefore, dataAfter := evsOf(before), evsOf(after)
	if len(dataBefore) == 0 || len(dataAfter) == 0 {
		t.Fatalf("%d data events before the restart, %d after", len(dataBefore), len(dataAfter))
	}
	lastBefore := decodeNetworkMessage(t, dataBefore[len(dataBefore)-1]).Messages[0]
	firstAfter := decodeNetworkMessage(t, dataAfter[0]).Messages[0]
	if firstAfter.SequenceNumber < lastBefore.SequenceNumber+10 {
		t.Errorf("gap not visible: writer sequence %d before, %d after a %s outage at 100 ms", lastBefore.SequenceNumber, firstAfter.SequenceNumber, up.Sub(down).Round(time.Millisecond))
	}
	if firstAfter.MessageType != "ua-keyframe" {
		t.Errorf("first message after the gap is %s, want ua-keyframe", firstAfter.MessageType)
	}
	if !strings.Contains(pub.Log(), "data gap after reconnect") {
		t.Error("publisher did not log the gap")
	}
	t.Logf("%d events, writer sequence %d → %d across the outage", len(all), lastBefore.SequenceNumber, firstAfter.SequenceNumber)
}
