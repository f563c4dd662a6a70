package config_test

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/config"
)

func TestOPCPublisherNamesAliasesAndEnv(t *testing.T) {
	c, err := config.Load([]string{"--publishfile=/etc/pn.json", "--mm", "samples", "-c", "--bs=10", "--bi", "250", "--http", "9090"},
		testkit.Env(map[string]string{"EDGEFRAME_OPCPUBLISHER_OM": "100", "EDGEFRAME_OPCPUBLISHER_PF": "/ignored", "EDGEFRAME_OPCPUBLISHER_KFC": "5",
			"EDGEFRAME_OPCPUBLISHER_DAPR_GRPC": "127.0.0.1:50007", "EDGEFRAME_OPCPUBLISHER_RECONNECT_MAX": "3s",
			"EDGEFRAME_OPCPUBLISHER_STATE_DIR": "/var/lib/opcpublisher"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.PublishedNodesFile != "/etc/pn.json" || c.MessagingMode != "Samples" || !c.Strict || c.BatchSize != 10 || c.BatchInterval() != 250*time.Millisecond ||
		c.HTTP != ":9090" || c.QueueCapacity != 100 || c.KeyFrameCount != 5 || c.DaprGRPC != "127.0.0.1:50007" || c.ReconnectMax != 3*time.Second ||
		c.StateDir != "/var/lib/opcpublisher" {
		t.Fatalf("%+v", c)
	}
	d, err := config.Load(nil, testkit.Env(nil), io.Discard)
	if err != nil || d.PubSub != "edge-pubsub" || d.TopicTemplate != "telemetry/opcua/{WriterGroup}" || d.MessagingMode != "PubSub" || d.Level != "l2" || d.StateDir != "" {
		t.Fatalf("defaults %+v %v", d, err)
	}
}

func TestEveryBadFlagIsNamed(t *testing.T) {
	_, err := config.Load([]string{"--mm=Binary", "--bs=0", "--bi=-1", "--ms=10", "--om=0", "--kfc=-2", "--dapr-grpc=nohost", "--pubsub=",
		"--topic-template=telemetry/#", "--level=l9", "--http=x", "--reconnect-max=1ms", "--log-level=loud"}, testkit.Env(nil), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"--mm", "--bs", "--bi", "--ms", "--om", "--kfc", "--dapr-grpc", "--pubsub", "--topic-template", "--level", "--http", "--reconnect-max", "--log-level"} {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("error does not name %s:\n%v", f, err)
		}
	}
	if _, err := config.Load(nil, testkit.Env(map[string]string{"EDGEFRAME_OPCPUBLISHER_BS": "many"}), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "EDGEFRAME_OPCPUBLISHER_BS") {
		t.Errorf("bad env: %v", err)
	}
}

// The flags the upstream accelerator passes OPC Publisher work unchanged (issue 13):
// --aa, --dapr "PubSub=<name>;Topic=<topic>", --loglevel with .NET level names, --me
// Json; other OPC Publisher flags are ignored with a warning instead of refusing.
func TestOPCPublisherCommandLinesWorkUnchanged(t *testing.T) {
	c, err := config.Load([]string{"--aa", "--pf", "/etc/opcpublisher/pn.json", "--mm", "PubSub", "--dapr", "PubSub=local-pub-sub;Topic=telemetry",
		"--loglevel", "Information", "--me", "Json", "--di=60", "--fetchdisplayname", "--bs", "5", "--cl", "5"}, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.AutoAccept || c.PubSub != "local-pub-sub" || c.TopicTemplate != "telemetry" || c.LogLevel != "info" || c.BatchSize != 5 ||
		c.PublishedNodesFile != "/etc/opcpublisher/pn.json" {
		t.Errorf("%+v", c)
	}
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, `"--di=60"`) || !strings.Contains(w, `"--fetchdisplayname"`) || !strings.Contains(w, `"--cl 5"`) {
		t.Errorf("warnings %q", c.Warnings)
	}
	d, err := config.Load([]string{"-d", "PubSubComponent=edge-pubsub;GrpcPort=50007;HttpPort=3500", "--ll", "Warning"}, testkit.Env(nil), io.Discard)
	if err != nil || d.PubSub != "edge-pubsub" || d.DaprGRPC != "127.0.0.1:50007" || d.LogLevel != "warn" || len(d.Warnings) != 1 {
		t.Errorf("%+v %v", d, err)
	}
	for _, bad := range [][]string{{"--me", "Uadp"}, {"--dapr", "PubSub"}, {"--dapr", "Queue=x"}} {
		if _, err := config.Load(bad, testkit.Env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), bad[0]+":") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// -h and --help print the usage (flag.ErrHelp), as in OPC Publisher, instead of being
// dropped as unknown OPC Publisher flags.
func TestHelpIsNotAnIgnoredFlag(t *testing.T) {
	for _, a := range []string{"-h", "--help", "-help"} {
		var usage strings.Builder
		_, err := config.Load([]string{a}, testkit.Env(nil), &usage)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: %v, want flag.ErrHelp", a, err)
		}
		if !strings.Contains(usage.String(), "-pf") {
			t.Errorf("%s printed no usage: %q", a, usage.String())
		}
	}
}
