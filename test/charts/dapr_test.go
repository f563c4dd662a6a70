package charts

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/test/testenv"
)

// TestRenderedDaprComponentsLoadInDaprd renders the L2 profile's Dapr resources for a
// self-hosted daprd (internal/selfhosted: local file secret store), loads them into a real daprd
// next to a real mosquitto started from the mosquitto chart, and publishes through it: the
// broker credentials come from the secret store, not from the component.
func TestRenderedDaprComponentsLoadInDaprd(t *testing.T) {
	ca := newCA(t)
	broker := startRenderedBroker(t, "l2", map[string]any{}, ca)

	spec := selfhosted.DaprSpec{
		Level: "l2", AppID: "tempsensor", Broker: strings.TrimPrefix(broker.internal, "tcp://"),
		User: brokerUser, Password: brokerPass, Dir: t.TempDir(),
		OTLPEndpoint: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
	}
	df, err := selfhosted.RenderDapr(t.Context(), chartDir(""), spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pubsub.yaml", "secretstore.yaml", "resiliency.yaml"} {
		b, err := os.ReadFile(filepath.Join(df.ResourcesDir, f))
		if err != nil {
			t.Fatalf("%s was not rendered: %v", f, err)
		}
		if strings.Contains(string(b), brokerPass) {
			t.Fatalf("the broker password is inline in %s", f)
		}
	}
	if df.ConfigPath == "" {
		t.Fatal("no Configuration rendered")
	}
	d := testenv.StartDaprd(t, testenv.DaprdSpec{AppID: "tempsensor", ResourcesDir: df.ResourcesDir, ConfigPath: df.ConfigPath})

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
