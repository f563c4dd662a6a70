package config

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const full = `
pubsub: gw-pubsub
topics: ["telemetry/#", "alarms/+"]
dataDir: /var/lib/gw
maxMessageBytes: 256KiB
buffer:
  maxBytes: 2GiB
  maxAge: 48h
  segmentBytes: 32MiB
  policy: drop-oldest
  commitInterval: 2ms
sinks:
  - name: hub
    type: eventhubs
    kafka:
      namespace: plant1
      topic: telemetry
      connectionString: ${EH_CONN}
    delivery:
      batchMessages: 1000
      replayMaxRate: 2000
  - name: lake
    type: blob
    blob:
      accountURL: https://acct.blob.core.windows.net
      container: ${CONTAINER:-telemetry}
      gzip: true
  - name: local
    type: file
`

func TestParseFullFileWithEnvAndDefaults(t *testing.T) {
	c, err := Parse([]byte(full), testkit.Env(map[string]string{"EH_CONN": "Endpoint=sb://plant1.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	hub := c.Sinks[0].Kafka
	if hub.Brokers[0] != "plant1.servicebus.windows.net:9093" || hub.Auth != "connection-string" || !*hub.TLS || hub.Compression != "gzip" {
		t.Fatalf("eventhubs defaults: %+v", hub)
	}
	if c.Sinks[1].Blob.Container != "telemetry" || c.Sinks[1].Blob.PathTemplate != "{yyyy}/{MM}/{dd}/{HH}/{asset}" || !*c.Sinks[1].Blob.CreateContainer {
		t.Fatalf("blob defaults: %+v", c.Sinks[1].Blob)
	}
	if c.Sinks[2].File.Dir != "/var/lib/gw/sink-local" || c.Buffer.Dir != "/var/lib/gw/buffer" || c.DeadLetter.Dir != "/var/lib/gw/deadletter" {
		t.Fatalf("paths: file %s buffer %s deadletter %s", c.Sinks[2].File.Dir, c.Buffer.Dir, c.DeadLetter.Dir)
	}
	if c.Buffer.MaxBytes != 2<<30 || c.Buffer.MaxAge != 48*time.Hour || c.Buffer.CommitInterval != 2*time.Millisecond || c.MaxMessageBytes != 256<<10 {
		t.Fatalf("buffer: %+v max message %d", c.Buffer, c.MaxMessageBytes)
	}
	if d := c.Sinks[0].Delivery; d.BatchMessages != 1000 || d.ReplayMaxRate != 2000 || d.ReplayThreshold != 2000 || d.RetryMax != 30*time.Second {
		t.Fatalf("delivery: %+v", d)
	}
}

func TestDefaultIsOneLocalFileSink(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].Type != TypeFile || c.Sinks[0].File.Dir != filepath.Join("data", "telemetry") {
		t.Fatalf("default sinks: %+v", c.Sinks)
	}
	if c.PubSub != "edge-pubsub" || c.Topics[0] != "telemetry/#" || c.Buffer.Policy != "reject" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestMissingEnvVariableIsNamed(t *testing.T) {
	_, err := Parse([]byte(full), testkit.Env(nil))
	if err == nil || !strings.Contains(err.Error(), "EH_CONN") {
		t.Fatalf("want an error naming EH_CONN, got %v", err)
	}
}

func TestUnknownFieldAndBadSizeAreRejected(t *testing.T) {
	for _, y := range []string{"buffer:\n  maxByte: 1GiB\n", "buffer:\n  maxBytes: lots\n", "sinks: 3\n"} {
		if _, err := Parse([]byte(y), testkit.Env(nil)); err == nil {
			t.Errorf("accepted %q", y)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	y := `
pubsub: ""
topics: ["a/#/b"]
bulk: {maxMessages: 20000, maxAwait: 1500us}
buffer: {maxBytes: 1MiB, segmentBytes: 1MiB, policy: keep-all}
sinks:
  - {name: Bad_Name, type: file}
  - {name: hub, type: eventhubs, kafka: {topic: "", auth: plain, compression: zstd}}
  - {name: hub, type: blob, blob: {container: ""}}
  - {name: x, type: ftp}
  - {name: y, type: kafka}
`
	c, err := Parse([]byte(y), testkit.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.PubSub = ""
	err = c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, field := range []string{
		"pubsub", "topics[0]", "bulk.maxMessages", "bulk.maxAwait", "buffer.maxBytes", "buffer.policy", "sinks[0].name",
		"sinks[1].kafka.namespace", "sinks[1].kafka.topic", "sinks[1].kafka.username", "sinks[1].kafka.compression",
		"sinks[2].name", "sinks[2].blob.connectionString", "sinks[2].blob.container", "sinks[3].type", "sinks[4].kafka",
	} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}

func TestFlagsAndEnvOverrideTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(path, []byte("buffer: {policy: reject}\ntopics: [a/#]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f Flags
	f.Register(fs)
	if err := fs.Parse([]string{"--config", path, "--buffer-policy=drop-oldest", "--data-dir", dir, "--topics", "x/#, y/#"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve(fs, testkit.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Buffer.Policy != "drop-oldest" || c.Buffer.Dir != filepath.Join(dir, "buffer") || strings.Join(c.Topics, ",") != "x/#,y/#" {
		t.Fatalf("overrides not applied: policy %s dir %s topics %v", c.Buffer.Policy, c.Buffer.Dir, c.Topics)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"4096": 4096, "512KiB": 512 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30, "10MB": 10e6, "1.5KiB": 1536} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("-1"); err == nil {
		t.Error("negative size accepted")
	}
}
