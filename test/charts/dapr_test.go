package charts

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testenv"
)

// TestRenderedDaprComponentsLoadInDaprd renders the dapr-components chart for a self-hosted
// daprd (local file secret store), loads it into a real daprd next to a real mosquitto
// started from the mosquitto chart, and publishes through it: the broker credentials come
// from the secret store, not from the component.
func TestRenderedDaprComponentsLoadInDaprd(t *testing.T) {
	ca := newCA(t)
	broker := startRenderedBroker(t, "l2", map[string]any{}, ca)

	secrets := filepath.Join(t.TempDir(), "secrets.json")
	brokerURL := strings.Replace(broker.internal, "tcp://", fmt.Sprintf("tcp://%s:%s@", brokerUser, brokerPass), 1)
	write(t, secrets, []byte(fmt.Sprintf(`{"edge-pubsub-credentials": {"url": %q}}`, brokerURL)))
	files := renderChart(t, "dapr-components", "dapr-components", "edge-l2", map[string]any{
		"scopes":      []any{"tempsensor", "datagateway"},
		"secretStore": map[string]any{"type": "localfile", "secretsFile": secrets},
		"configuration": map[string]any{
			"mtls":    map[string]any{"enabled": false},
			"tracing": map[string]any{"otlpEndpoint": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))},
		},
		"subscriptions": []any{map[string]any{
			"name": "datagateway-telemetry", "topic": "telemetry/#", "route": "/telemetry",
			"deadLetterTopic": "deadletter/datagateway", "scopes": []any{"datagateway"},
		}},
	})
	for _, f := range []string{"pubsub.yaml", "secretstore.yaml", "resiliency.yaml", "subscriptions.yaml", "configuration.yaml"} {
		if files["templates/"+f] == "" {
			t.Fatalf("templates/%s was not rendered", f)
		}
	}
	if strings.Contains(files["templates/pubsub.yaml"], brokerPass) {
		t.Fatal("the broker password is inline in the Component")
	}
	resources := map[string]string{}
	for name, text := range files {
		if strings.HasPrefix(name, "templates/") && path.Ext(name) == ".yaml" && name != "templates/configuration.yaml" {
			resources[path.Base(name)] = text
		}
	}
	d := testenv.StartDaprd(t, testenv.DaprdSpec{AppID: "tempsensor", Resources: resources, Config: files["templates/configuration.yaml"]})

	var meta struct {
		Components []struct{ Name, Type string } `json:"components"`
	}
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/v1.0/metadata", d.HTTPPort), &meta)
	loaded := map[string]string{}
	for _, c := range meta.Components {
		loaded[c.Name] = c.Type
	}
	if loaded["edge-pubsub"] != "pubsub.mqtt3" || loaded["edge-secrets"] != "secretstores.local.file" {
		t.Fatalf("daprd loaded %v, want edge-pubsub (pubsub.mqtt3) and edge-secrets (secretstores.local.file)", loaded)
	}
	if !strings.Contains(d.Log(), "Loading Resiliency configuration: edge-resiliency") {
		t.Errorf("daprd did not load Resiliency edge-resiliency")
	}

	got := testenv.Subscribe(t, broker.internal, "telemetry/#", creds())
	testenv.DaprPublishHTTP(t, d, "edge-pubsub", "telemetry/tempsensor/dev1", `{"temperature":21.5}`)
	m := testenv.Receive(t, got, 15*time.Second)
	if m.Topic != "telemetry/tempsensor/dev1" || !strings.Contains(string(m.Payload), `"temperature":21.5`) {
		t.Fatalf("broker got %s %s", m.Topic, m.Payload)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}
