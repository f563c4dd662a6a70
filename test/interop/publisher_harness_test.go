package interop_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
)

// pubRig is the real data path behind opcpublisher: mosquitto, a daprd sidecar with the
// edge-pubsub component on it, and an MQTT subscriber on telemetry/opcua/#.
type pubRig struct {
	broker *testenv.Mosquitto
	daprd  *testenv.Daprd
	sub    <-chan testenv.MQTTMessage
}

func startPubRig(t testing.TB) *pubRig {
	t.Helper()
	b := profile.StartMosquitto(t, "l2")
	sub := testenv.Subscribe(t, b.URL, "telemetry/opcua/#")
	d := testenv.StartDaprd(t, profile.Daprd(t, "l2", "opcpublisher", b.URL))
	return &pubRig{broker: b, daprd: d, sub: sub}
}

// startPublisher runs the opcpublisher binary on pn (written to a temp file) against
// the rig's sidecar and waits until /readyz says every session is connected.
func (r *pubRig) startPublisher(t testing.TB, name, pn string, args ...string) *testenv.Process {
	t.Helper()
	p, _ := r.startPublisherHTTP(t, name, pn, args...)
	return p
}

// startPublisherHTTP is startPublisher that also returns the /metrics port.
func (r *pubRig) startPublisherHTTP(t testing.TB, name, pn string, args ...string) (*testenv.Process, int) {
	t.Helper()
	bin := testenv.BuildWorkload(t, "opcpublisher")
	dir := t.TempDir()
	pf := filepath.Join(dir, "publishednodes.json")
	if err := os.WriteFile(pf, []byte(pn), 0o644); err != nil {
		t.Fatal(err)
	}
	http := testenv.FreePort(t)
	all := append([]string{"--pf", pf, "--dapr-grpc", r.daprd.GRPCAddr, "--http", strconv.Itoa(http), "--pki", filepath.Join(dir, "pki")}, args...)
	return testenv.StartProcess(t, testenv.ProcSpec{Name: name, Path: bin, Args: all, Dir: dir, ReadyTimeout: 60 * time.Second,
		Ready: supervise.HTTPReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", http))}), http
}

// received is one MQTT message decoded as our CloudEvent.
type received struct {
	topic string
	ev    cloudevent.Event
	at    time.Time
}

// collect reads the subscriber until done says enough (or d passes), decoding every
// payload as a CloudEvent whose data must be a JSON object.
func collect(t testing.TB, sub <-chan testenv.MQTTMessage, d time.Duration, done func([]received) bool) []received {
	t.Helper()
	var out []received
	deadline := time.After(d)
	for {
		if done(out) {
			return out
		}
		select {
		case m := <-sub:
			ev, err := cloudevent.Decode(m.Payload)
			if err != nil {
				t.Fatalf("message on %s is not a CloudEvent: %v\n%.300s", m.Topic, err, m.Payload)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(ev.Data, &obj); err != nil {
				t.Fatalf("event %s: data is not a JSON object: %.200s", ev.ID, ev.Data)
			}
			out = append(out, received{topic: m.Topic, ev: ev, at: m.At})
		case <-deadline:
			return out
		}
	}
}

// dataEvents is evs without the ua-metadata announcements.
func dataEvents(t testing.TB, evs []cloudevent.Event) []cloudevent.Event {
	t.Helper()
	var out []cloudevent.Event
	for _, ev := range evs {
		if decodeNetworkMessage(t, ev).MessageType == "ua-data" {
			out = append(out, ev)
		}
	}
	return out
}

func countTopic(rs []received, topic string) int {
	n := 0
	for _, r := range rs {
		if r.topic == topic {
			n++
		}
	}
	return n
}

// networkMessage is the part of a PubSub network message the tests look at.
type networkMessage struct {
	MessageType string
	MetaData    *struct{ Fields []struct{ Name string } }
	Messages    []struct {
		DataSetWriterID   any `json:"DataSetWriterId"`
		DataSetWriterName string
		SequenceNumber    uint32
		MessageType       string
		Payload           map[string]struct {
			Value      any
			StatusCode any
		}
	}
}

// decodeNetworkMessage decodes a ua-data network message, or a writer's ua-metadata
// announcement (which has no Messages).
func decodeNetworkMessage(t testing.TB, ev cloudevent.Event) networkMessage {
	t.Helper()
	var m networkMessage
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatalf("event %s: %v", ev.ID, err)
	}
	if m.MessageType == "ua-metadata" && m.MetaData != nil && len(m.MetaData.Fields) > 0 {
		return m
	}
	if m.MessageType != "ua-data" || len(m.Messages) == 0 {
		t.Fatalf("event %s: not a ua-data network message: %.300s", ev.ID, ev.Data)
	}
	return m
}
