package publisher_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/edgeframe/edgeframe/pkg/backoff"
	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/observe"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/publisher"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/session"
)

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

// sink stands in for the Dapr sidecar seam (the send queue); the OPC UA side is real.
type sink struct {
	mu  sync.Mutex
	evs []daprpub.Item
}

func (s *sink) Enqueue(it daprpub.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, it)
	return nil
}

// data is the events that are not ua-metadata announcements, in order.
func (s *sink) data(t *testing.T) []daprpub.Item {
	t.Helper()
	var out []daprpub.Item
	for _, it := range s.items() {
		var m struct{ MessageType string }
		if err := json.Unmarshal(it.Event.Data, &m); err != nil {
			t.Fatalf("event %s data: %v", it.Event.ID, err)
		}
		if m.MessageType != "ua-metadata" {
			out = append(out, it)
		}
	}
	return out
}

func (s *sink) items() []daprpub.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]daprpub.Item(nil), s.evs...)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

type netMsg struct {
	MessageID   string `json:"MessageId"`
	MessageType string
	PublisherID string `json:"PublisherId"`
	// ua-metadata only
	DataSetWriterID any `json:"DataSetWriterId"`
	MetaData        struct {
		ConfigurationVersion struct{ MajorVersion, MinorVersion uint32 }
	}
	Messages []struct {
		DataSetWriterID any `json:"DataSetWriterId"`
		SequenceNumber  uint32
		MessageType     string
		MetaDataVersion struct{ MajorVersion, MinorVersion uint32 }
		Payload         map[string]struct {
			Value           any
			SourceTimestamp string
		}
	}
}

func start(t *testing.T, opts publisher.Options, pn string) (*publisher.Publisher, *sink, *syncBuf, func()) {
	t.Helper()
	return startTraced(t, opts, pn, tracenoop.NewTracerProvider())
}

func startTraced(t *testing.T, opts publisher.Options, pn string, tp trace.TracerProvider) (*publisher.Publisher, *sink, *syncBuf, func()) {
	t.Helper()
	f, err := pnjson.Parse([]byte(pn))
	if err != nil {
		t.Fatalf("pn.json: %v", err)
	}
	s := &sink{}
	logs := &syncBuf{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	opts.Session = session.Config{Reconnect: backoff.Policy{Initial: 100 * time.Millisecond, Max: time.Second}, KeepAlive: time.Second}
	if opts.PubSub == "" {
		opts.PubSub = "edge-pubsub"
	}
	opts.Level, opts.PublisherID = "l2", "test-pub"
	p := publisher.New(opts, s, publisher.NewMetrics(observe.NewRegistry(), func() int { return 0 }), tp, log)
	p.Apply(f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	// stop ends Run and waits until it has stopped every session, flushed every batch
	// and closed every sequence store.
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("publisher log:\n%s", logs.String())
		}
	})
	return p, s, logs, stop
}

func pnFor(endpoint, group string, kfc int) string {
	return fmt.Sprintf(`[{"EndpointUrl":%q,"UseSecurity":false,"DataSetWriterGroup":%q,"DataSetWriterId":"fast","DataSetKeyFrameCount":%d,
	  "DataSetPublishingInterval":200,"OpcNodes":[
	    {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt1","DisplayName":"FastUInt1","OpcSamplingInterval":100},
	    {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=FastUInt2","DisplayName":"FastUInt2","OpcSamplingInterval":100},
	    {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=StepUp","DisplayName":"StepUp","OpcSamplingInterval":100}]},
	 {"EndpointUrl":%q,"DataSetWriterGroup":%q,"DataSetWriterId":"slow","OpcNodes":[
	    {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=AlternatingBoolean","OpcSamplingInterval":500,"OpcPublishingInterval":1000}]}]`,
		endpoint, group, kfc, endpoint, group)
}

func decodeNet(t *testing.T, it daprpub.Item) netMsg {
	t.Helper()
	var m netMsg
	if err := json.Unmarshal(it.Event.Data, &m); err != nil {
		t.Fatalf("event %s data: %v\n%s", it.Event.ID, err, it.Event.Data)
	}
	return m
}

// PubSub mode against a real opcplc: one CloudEvent per network message with id
// opcua/<group>/<seq> and contiguous sequence, per-writer contiguous SequenceNumbers,
// a key frame every DataSetKeyFrameCount messages; then opcplc is killed and restarted:
// data is back within 5 s, the gap shows as skipped writer sequence numbers and is logged.
func TestPubSubAgainstOPCPLCWithRestart(t *testing.T) {
	dir := t.TempDir()
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Dir: dir, Args: []string{"--fn", "2", "--vfr", "100"}})
	p, s, logs, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1}, pnFor(plc.Endpoint, "plc1", 4))

	testkit.Eventually(t, 30*time.Second, "no messages", func() bool { return len(s.data(t)) >= 20 })
	items := s.items()
	perWriter := map[string][]uint32{}
	kinds := map[string][]string{}
	// Each writer's ua-metadata comes before its data, with the version the data carries.
	announced := map[string]struct{ MajorVersion, MinorVersion uint32 }{}
	for i, it := range items {
		ev := it.Event
		if ev.ID != cloudevent.NewID("opcua", "plc1", int64(i+1)) || ev.Sequence != int64(i+1) || it.Topic != "telemetry/opcua/plc1" ||
			it.PubSub != "edge-pubsub" || ev.Source != "edgeframe/l2/opcpublisher" || ev.Type != "io.edgeframe.telemetry.opcua.v1" {
			t.Fatalf("event %d: topic %s %+v", i, it.Topic, ev)
		}
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		m := decodeNet(t, it)
		if m.MessageType == "ua-metadata" && m.MessageID == p.MessageID("plc1", int64(i+1)) {
			announced[m.DataSetWriterID.(string)] = m.MetaData.ConfigurationVersion
			continue
		}
		if m.MessageType != "ua-data" || m.MessageID != p.MessageID("plc1", int64(i+1)) || m.PublisherID != "test-pub" || len(m.Messages) != 1 {
			t.Fatalf("network message %+v", m)
		}
		d := m.Messages[0]
		w := d.DataSetWriterID.(string)
		perWriter[w] = append(perWriter[w], d.SequenceNumber)
		kinds[w] = append(kinds[w], d.MessageType)
		if v, ok := announced[w]; !ok || d.MetaDataVersion != v || v.MajorVersion != 1 {
			t.Errorf("writer %s: data of metadata version %+v, announced %+v (%v)", w, d.MetaDataVersion, v, ok)
		}
		if d.MessageType == "ua-keyframe" && w == "fast" && len(d.Payload) != 3 {
			t.Errorf("key frame without every field: %v", d.Payload)
		}
	}
	for w, seqs := range perWriter {
		for i := range seqs {
			if seqs[i] != uint32(i+1) {
				t.Fatalf("writer %s sequence numbers not contiguous: %v", w, seqs)
			}
		}
	}
	for i, k := range kinds["fast"] {
		want := "ua-deltaframe"
		if i%4 == 0 {
			want = "ua-keyframe"
		}
		if k != want {
			t.Fatalf("fast writer message types %v: want a key frame every 4", kinds["fast"])
		}
	}
	if len(perWriter["slow"]) == 0 {
		t.Error("no messages from the slow writer (second subscription)")
	}

	// Restart opcplc mid-stream.
	plc.Kill()
	time.Sleep(2 * time.Second) // an outage of a few publishing intervals
	before := len(s.items())
	plc.Restart(t)
	took := testkit.Eventually(t, 5*time.Second, "no data within 5 s of opcplc coming back", func() bool {
		for _, it := range s.items()[before:] {
			if m := decodeNet(t, it); m.MessageType == "ua-data" && m.Messages[0].DataSetWriterID == "fast" && m.Messages[0].MessageType != "ua-keepalive" {
				return true
			}
		}
		return false
	})
	t.Logf("data again %s after opcplc was ready", took.Round(time.Millisecond))
	var lastBefore, firstAfter uint32
	for _, it := range s.data(t) {
		m := decodeNet(t, it)
		if m.Messages[0].DataSetWriterID != "fast" {
			continue
		}
		if it.Event.Sequence <= int64(before) {
			lastBefore = m.Messages[0].SequenceNumber
		} else if firstAfter == 0 {
			firstAfter = m.Messages[0].SequenceNumber
			if m.Messages[0].MessageType != "ua-keyframe" {
				t.Errorf("first message after the gap is a %s, want a key frame", m.Messages[0].MessageType)
			}
		}
	}
	// ≥ 2 s outage at a 100 ms writer interval: at least 10 numbers skipped.
	if firstAfter < lastBefore+10 {
		t.Errorf("gap not visible in sequence numbers: last before %d, first after %d", lastBefore, firstAfter)
	}
	if !strings.Contains(logs.String(), "data gap after reconnect") {
		t.Error("gap not logged")
	}
	// CloudEvent sequence stays contiguous: nothing was lost between publisher and sidecar.
	for i, it := range s.items() {
		if it.Event.Sequence != int64(i+1) {
			t.Fatalf("CloudEvent sequence %d at %d", it.Event.Sequence, i)
		}
	}
}

func TestSamplesModeAndBatchingByCount(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	_, s, _, _ := startTraced(t, publisher.Options{MessagingMode: publisher.ModeSamples, BatchSize: 5, BatchInterval: time.Minute}, pnFor(plc.Endpoint, "plc2", 0), tp)
	testkit.Eventually(t, 30*time.Second, "no messages", func() bool { return len(s.data(t)) >= 4 })
	for i, it := range s.data(t)[:4] {
		var d struct {
			Samples []struct {
				NodeID         string `json:"NodeId"`
				DisplayName    string
				EndpointURL    string `json:"EndpointUrl"`
				SequenceNumber uint32
				Value          struct{ Value any }
			}
		}
		if err := json.Unmarshal(it.Event.Data, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Samples) != 5 || it.Event.ID != cloudevent.NewID("opcua", "plc2", int64(i+1)) {
			t.Fatalf("batch %d: %d samples, id %s", i, len(d.Samples), it.Event.ID)
		}
		if !traceparentRE.MatchString(it.Event.TraceParent) {
			t.Fatalf("event %s traceparent %q", it.Event.ID, it.Event.TraceParent)
		}
		found := false
		for _, sp := range spans.Ended() {
			found = found || strings.Contains(it.Event.TraceParent, sp.SpanContext().SpanID().String())
		}
		if !found {
			t.Errorf("traceparent %s is not a recorded publish span", it.Event.TraceParent)
		}
		for _, sm := range d.Samples {
			if !strings.HasPrefix(sm.NodeID, "nsu=http://microsoft.com/Opc/OpcPlc/;s=") || sm.EndpointURL != plc.Endpoint || sm.SequenceNumber == 0 || sm.Value.Value == nil {
				t.Fatalf("sample %+v", sm)
			}
		}
	}
}

// A changed file: the unaffected writer keeps its sequence numbers, a new writer starts.
func TestApplyChangeKeepsUnaffectedWriters(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	p, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1}, pnFor(plc.Endpoint, "plc3", 0))
	testkit.Eventually(t, 30*time.Second, "no messages", func() bool { return len(s.data(t)) >= 5 })
	extra := strings.TrimSuffix(pnFor(plc.Endpoint, "plc3", 0), "]") +
		fmt.Sprintf(`,{"EndpointUrl":%q,"DataSetWriterGroup":"plc3","DataSetWriterId":"new","OpcNodes":[{"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=StepUp","OpcSamplingInterval":100,"OpcPublishingInterval":300}]}]`, plc.Endpoint)
	f, err := pnjson.Parse([]byte(extra))
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.data(t))
	p.Apply(f)
	testkit.Eventually(t, 10*time.Second, "new writer silent", func() bool {
		for _, it := range s.data(t)[n:] {
			if decodeNet(t, it).Messages[0].DataSetWriterID == "new" {
				return true
			}
		}
		return false
	})
	var seqs []uint32
	for _, it := range s.data(t) {
		if m := decodeNet(t, it); m.Messages[0].DataSetWriterID == "fast" {
			seqs = append(seqs, m.Messages[0].SequenceNumber)
		}
	}
	for i := range seqs {
		if seqs[i] != uint32(i+1) {
			t.Fatalf("fast writer disturbed by the change: %v", seqs)
		}
	}
}

// A writer without data sends ua-keepalive messages (--ka) carrying the next sequence number.
// silentRate is a slow-node period in seconds whose next step is at least 10 minutes away:
// opcplc steps at multiples of the period since the Unix epoch (as the subscriptions schedule
// around them), so a fixed 3600 steps on the hour, inside any test that runs across it.
func silentRate() string {
	now := time.Now().Unix()
	for p := int64(3600); ; p += 3600 {
		if p-now%p > 600 {
			return strconv.FormatInt(p, 10)
		}
	}
}

func TestKeepAliveForSilentWriter(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--sn", "1", "--sr", silentRate()}})
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":"quiet","DataSetWriterId":"slow","OpcNodes":[
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=SlowUInt1","OpcSamplingInterval":100,"OpcPublishingInterval":100}]}]`, plc.Endpoint)
	_, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1, KeepAlive: true}, pn)
	testkit.Eventually(t, 30*time.Second, "no keep-alive", func() bool {
		for _, it := range s.data(t) {
			if decodeNet(t, it).Messages[0].MessageType == "ua-keepalive" {
				return true
			}
		}
		return false
	})
	items := s.data(t)
	first := decodeNet(t, items[0]).Messages[0]
	if first.MessageType != "ua-keyframe" || first.SequenceNumber != 1 {
		t.Fatalf("first message %+v", first)
	}
	for _, it := range items[1:] {
		if m := decodeNet(t, it).Messages[0]; m.MessageType != "ua-keepalive" || m.SequenceNumber != 2 || len(m.Payload) != 0 {
			t.Fatalf("keep-alive %+v", m)
		}
	}
}

// HeartbeatInterval re-sends a silent node's last value (WatchdogLKV).
func TestHeartbeatResendsLastValue(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--sn", "1", "--sr", silentRate()}})
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":"hb","DataSetWriterId":"slow","OpcNodes":[
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=SlowUInt1","DisplayName":"Slow","OpcSamplingInterval":100,"OpcPublishingInterval":100,"HeartbeatInterval":1}]}]`, plc.Endpoint)
	_, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1}, pn)
	testkit.Eventually(t, 30*time.Second, "no heartbeat", func() bool { return len(s.data(t)) >= 3 })
	items := s.data(t)
	first := decodeNet(t, items[0]).Messages[0]
	for i, it := range items[1:3] {
		m := decodeNet(t, it).Messages[0]
		if m.SequenceNumber != uint32(i+2) || m.Payload["Slow"].Value != first.Payload["Slow"].Value || m.Payload["Slow"].SourceTimestamp != first.Payload["Slow"].SourceTimestamp {
			t.Fatalf("heartbeat %d: %+v, first %+v", i, m, first)
		}
	}
	if gap := items[2].Event.Time.Sub(items[1].Event.Time); gap < 800*time.Millisecond || gap > 1500*time.Millisecond {
		t.Errorf("heartbeats %s apart, want about 1 s", gap)
	}
}

// issue 13: while the server is gone no heartbeat re-sends the last value as if it were
// still Good; heartbeats resume after the reconnect.
func TestNoHeartbeatsDuringServerOutage(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--sn", "1", "--sr", silentRate()}})
	pn := fmt.Sprintf(`[{"EndpointUrl":%q,"DataSetWriterGroup":"hb","DataSetWriterId":"slow","OpcNodes":[
	  {"Id":"nsu=http://microsoft.com/Opc/OpcPlc/;s=SlowUInt1","DisplayName":"Slow","OpcSamplingInterval":100,"OpcPublishingInterval":100,"HeartbeatInterval":1}]}]`, plc.Endpoint)
	_, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1,
		Session: session.Config{KeepAlive: 200 * time.Millisecond, Reconnect: backoff.Policy{Initial: 100 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 2}}}, pn)
	testkit.Eventually(t, 30*time.Second, "no heartbeat", func() bool { return len(s.data(t)) >= 2 })
	plc.Kill()
	time.Sleep(1500 * time.Millisecond) // the keep-alive read notices the loss within ~1 s
	during := len(s.data(t))
	time.Sleep(3 * time.Second) // three heartbeat intervals with the server gone
	if n := len(s.data(t)) - during; n != 0 {
		for _, it := range s.data(t)[during:] {
			t.Logf("during the outage: %s", it.Event.Data)
		}
		t.Fatalf("%d messages while the server was down, want no heartbeat of the stale value", n)
	}
	plc.Restart(t)
	testkit.Eventually(t, 30*time.Second, "no data after the restart", func() bool { return len(s.data(t)) >= during+2 })
}

// opcplc --chaos drops sessions and deletes subscriptions at random: the publisher keeps
// recovering, the data keeps coming and every writer's sequence numbers only move forward.
func TestSurvivesOPCPLCChaos(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100", "--chaos", "--chaos-min", "1s", "--chaos-max", "2s"}})
	_, s, logs, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1}, pnFor(plc.Endpoint, "chaos", 0))
	time.Sleep(8 * time.Second) // the exposure under test: several 1-2 s chaos faults
	n := len(s.data(t))
	testkit.Eventually(t, 10*time.Second, "data stopped under chaos", func() bool { return len(s.data(t)) > n+5 })
	last := map[any]uint32{}
	for _, it := range s.data(t) {
		m := decodeNet(t, it).Messages[0]
		if m.SequenceNumber <= last[m.DataSetWriterID] {
			t.Fatalf("writer %v sequence went from %d to %d", m.DataSetWriterID, last[m.DataSetWriterID], m.SequenceNumber)
		}
		last[m.DataSetWriterID] = m.SequenceNumber
	}
	t.Logf("%d messages, %d outages with a data gap", len(s.data(t)), strings.Count(logs.String(), "data gap after"))
}

// opcplc's /pn.json is valid input as it is: no error, no warning, and every node it
// lists delivers values.
func TestOPCPLCPublishedNodesJSONIsValidInput(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "3", "--vfr", "200", "--sn", "2", "--sr", "1"}})
	resp, err := http.Get(plc.WebURL + "/pn.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /pn.json: %s %v", resp.Status, err)
	}
	f, err := pnjson.Parse(b)
	if err != nil || len(f.Warnings) > 0 {
		t.Fatalf("opcplc's /pn.json: %v, warnings %v", err, f.Warnings)
	}
	fields := map[string]bool{}
	for _, e := range f.Entries {
		for _, n := range e.Nodes {
			fields[n.FieldName()] = true
		}
	}
	_, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1}, string(b))
	seen := map[string]bool{}
	testkit.Eventually(t, 30*time.Second, "not every node delivered", func() bool {
		for _, it := range s.data(t) {
			for _, m := range decodeNet(t, it).Messages {
				for f := range m.Payload {
					seen[f] = true
				}
			}
		}
		return len(seen) == len(fields)
	})
	t.Logf("%d nodes from /pn.json all delivered", len(fields))
}

// A batch is cut before it passes MaxMessageBytes, whatever the batch size.
func TestBatchesStayUnderMaxMessageBytes(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	_, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 50, BatchInterval: time.Minute, MaxMessageBytes: 4096},
		pnFor(plc.Endpoint, "small", 0))
	testkit.Eventually(t, 30*time.Second, "no messages", func() bool { return len(s.data(t)) >= 3 })
	for _, it := range s.data(t) {
		if n := len(decodeNet(t, it).Messages); len(it.Event.Data) > 4096 || n < 2 {
			t.Fatalf("event %s: %d bytes, %d data set messages", it.Event.ID, len(it.Event.Data), n)
		}
	} // Batched, each writer's ua-metadata still comes before its data.
	announced := map[any]bool{}
	for _, it := range s.items() {
		m := decodeNet(t, it)
		if m.MessageType == "ua-metadata" {
			announced[m.DataSetWriterID] = true
			continue
		}
		for _, d := range m.Messages {
			if !announced[d.DataSetWriterID] {
				t.Fatalf("event %s: data of writer %v before its ua-metadata", it.Event.ID, d.DataSetWriterID)
			}
		}
	}
}

// issue 13: MessageId never repeats across restarts: <group>-<n> from the durable
// sequence with a state directory, else with a part unique to the process.
func TestMessageIDUniqueAcrossRestarts(t *testing.T) {
	newPub := func(stateDir string) *publisher.Publisher {
		return publisher.New(publisher.Options{StateDir: stateDir}, nil, publisher.NewMetrics(prometheus.NewRegistry(), func() int { return 0 }),
			tracenoop.NewTracerProvider(), slog.New(slog.DiscardHandler))
	}
	a, b := newPub(""), newPub("")
	if a.MessageID("g", 1) == b.MessageID("g", 1) || !strings.HasPrefix(a.MessageID("g", 1), "g-") || !strings.HasSuffix(a.MessageID("g", 1), "-1") {
		t.Errorf("in-memory sequences: two processes both send %s / %s", a.MessageID("g", 1), b.MessageID("g", 1))
	}
	if id := newPub(t.TempDir()).MessageID("g", 1); id != "g-1" {
		t.Errorf("durable sequences: %s, want g-1", id)
	}
}
