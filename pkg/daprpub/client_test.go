package daprpub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testenv/profile"
)

// The event reaches MQTT through a real daprd as the producer's CloudEvent: same id,
// sequence and data object (not a string inside a string).
func TestClientPublishesStructuredCloudEventThroughDaprd(t *testing.T) {
	b := profile.StartMosquitto(t, "l2")
	sub := testenv.Subscribe(t, b.URL, "telemetry/#")
	d := testenv.StartDaprd(t, profile.Daprd(t, "l2", "tempsensor", b.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := daprpub.Dial(ctx, d.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ev := cloudevent.New("tempsensor", "dev1", 7, cloudevent.SourceFor("l2", "tempsensor"), time.Now(), json.RawMessage(`{"machine":{"temperature":21.5}}`))
	if err := c.Publish(ctx, "edge-pubsub", "telemetry/tempsensor/dev1", ev); err != nil {
		t.Fatal(err)
	}
	m := testenv.Receive(t, sub, 10*time.Second)
	got, err := cloudevent.Decode(m.Payload)
	if err != nil {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	if m.Topic != "telemetry/tempsensor/dev1" || got.ID != ev.ID || got.Sequence != 7 || got.Source != ev.Source {
		t.Errorf("topic %s event %+v", m.Topic, got)
	}
	var data map[string]any
	if err := json.Unmarshal(got.Data, &data); err != nil || data["machine"] == nil {
		t.Errorf("data is not the object we sent: %s", got.Data)
	}
}
