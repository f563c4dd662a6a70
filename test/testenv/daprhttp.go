package testenv

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// DaprPublishHTTP publishes body (JSON) through the sidecar's HTTP API, failing the
// test unless daprd accepts it.
func DaprPublishHTTP(t testing.TB, d *Daprd, pubsub, topic, body string) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/publish/%s/%s", d.HTTPPort, pubsub, topic)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("testenv: publish through daprd: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("testenv: publish through daprd: %s: %s", resp.Status, b)
	}
}
