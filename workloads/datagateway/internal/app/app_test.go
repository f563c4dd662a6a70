package app

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
)

func TestParseReadsFlagsEnvAndFileAndRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.yaml")
	y := "sinks:\n  - {name: hub, type: eventhubs, kafka: {namespace: plant1, topic: telemetry, connectionString: \"${EH}\"}}\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testkit.Env(map[string]string{
		"EDGEFRAME_DATAGATEWAY_CONFIG":        path,
		"EDGEFRAME_DATAGATEWAY_BUFFER_POLICY": "drop-oldest",
		"EH":                                  "Endpoint=sb://plant1.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=SECRET",
	})
	s, err := config.Load([]string{"--data-dir", dir, "--app-port=7001", "--print-config"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.AppPort != 7001 || s.Config.Buffer.Policy != "drop-oldest" || s.Config.Sinks[0].Kafka.Brokers[0] != "plant1.servicebus.windows.net:9093" {
		t.Fatalf("settings %+v", s)
	}
	var out bytes.Buffer
	if err := Serve(context.Background(), s, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "SECRET") || !strings.Contains(out.String(), "<redacted>") {
		t.Fatalf("--print-config leaks the connection string:\n%s", out.String())
	}
}

func TestParseReportsEveryBadSetting(t *testing.T) {
	_, err := config.Load([]string{"--app-port=70000", "--log-level=loud", "--buffer-policy=keep", "--buffer-max-bytes=1KiB"}, testkit.Env(nil), io.Discard)
	for _, want := range []string{"--app-port", "--log-level", "buffer.policy", "buffer.maxBytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if _, err := config.Load([]string{"--buffer-max-bytes=lots"}, testkit.Env(nil), io.Discard); err == nil {
		t.Error("a bad size flag was accepted")
	}
}

// TestLevelAndItsLayerAlias: --level and --http are every workload's flags; the gateway's
// former --layer (and EDGEFRAME_DATAGATEWAY_LAYER) and --http-addr still set them.
func TestLevelAndItsLayerAlias(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--level=l3"}, nil},
		{[]string{"--layer=l3"}, nil},
		{nil, map[string]string{"EDGEFRAME_DATAGATEWAY_LEVEL": "l3"}},
		{nil, map[string]string{"EDGEFRAME_DATAGATEWAY_LAYER": "l3"}},
	} {
		s, err := config.Load(append([]string{"--data-dir", t.TempDir()}, tc.args...), testkit.Env(tc.env), io.Discard)
		if err != nil || s.Level != "l3" {
			t.Errorf("%v %v: level %q, %v; want l3", tc.args, tc.env, s.Level, err)
		}
	}
	for _, flag := range []string{"--http", "--http-addr"} {
		s, err := config.Load([]string{"--data-dir", t.TempDir(), flag + "=127.0.0.1:9"}, testkit.Env(nil), io.Discard)
		if err != nil || s.HTTPAddr != "127.0.0.1:9" {
			t.Errorf("%s: address %q, %v", flag, s.HTTPAddr, err)
		}
	}
}
