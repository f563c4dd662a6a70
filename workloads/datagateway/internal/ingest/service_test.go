package ingest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// withTopic is validEvent as daprd forwards it: with the topic it was published on.
func withTopic(topic string) string {
	return strings.Replace(validEvent, `"sequence":7`, `"sequence":7,"topic":"`+topic+`","pubsubname":"edge-pubsub"`, 1)
}

// serve runs the service on a loopback port and returns a client for it, as daprd
// calls it.
func serve(t *testing.T, f *fixture, o ServiceOptions) (runtimev1pb.AppCallbackClient, runtimev1pb.AppCallbackAlphaClient) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(lis, o, f.h)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Start() }()
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return runtimev1pb.NewAppCallbackClient(cc), runtimev1pb.NewAppCallbackAlphaClient(cc)
}

func TestServiceListsBulkSubscriptionsWithRawPayload(t *testing.T) {
	f := newFixture(t, 1<<20)
	cb, _ := serve(t, f, ServiceOptions{PubSub: "edge-pubsub", Topics: []string{"telemetry/#", "alarms/+"}, BulkMaxMessages: 100, BulkMaxAwait: 2 * time.Millisecond})
	subs, err := cb.ListTopicSubscriptions(context.Background(), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs.Subscriptions) != 2 {
		t.Fatalf("subscriptions: %v", subs.Subscriptions)
	}
	for _, s := range subs.Subscriptions {
		b := s.GetBulkSubscribe()
		if s.PubsubName != "edge-pubsub" || s.Metadata["rawPayload"] != "true" || !b.GetEnabled() || b.GetMaxMessagesCount() != 100 || b.GetMaxAwaitDurationMs() != 2 {
			t.Errorf("subscription %v", s)
		}
	}
	// without bulk: one message per call
	cb, _ = serve(t, f, ServiceOptions{PubSub: "edge-pubsub", Topics: []string{"telemetry/#"}})
	subs, err = cb.ListTopicSubscriptions(context.Background(), &emptypb.Empty{})
	if err != nil || subs.Subscriptions[0].GetBulkSubscribe() != nil {
		t.Fatalf("bulk subscribe without BulkMaxMessages: %v %v", subs, err)
	}
	if _, err := NewService(nil, ServiceOptions{PubSub: "p", Topics: []string{"t"}, BulkMaxMessages: 10}, f.h); err == nil || !strings.Contains(err.Error(), "max await") {
		t.Fatalf("bulk without an await: %v", err)
	}
}

// A bulk delivery: valid entries stored in order with their topic taken from the event,
// poison dead-lettered and acknowledged, entries that do not fit the full buffer
// answered RETRY — each entry's status under its own entry id.
func TestBulkDeliveryAnswersEveryEntry(t *testing.T) {
	f := newFixture(t, 16384) // reject policy, 4 segments of 4 KiB
	cb, alpha := serve(t, f, ServiceOptions{PubSub: "edge-pubsub", Topics: []string{"telemetry/#"}, BulkMaxMessages: 100, BulkMaxAwait: time.Millisecond})
	req := &runtimev1pb.TopicEventBulkRequest{Id: "b1", PubsubName: "edge-pubsub", Topic: "telemetry/#"}
	add := func(id, raw string) {
		req.Entries = append(req.Entries, &runtimev1pb.TopicEventBulkRequestEntry{EntryId: id, ContentType: "application/cloudevents+json",
			Event: &runtimev1pb.TopicEventBulkRequestEntry_Bytes{Bytes: []byte(raw)}})
	}
	add("e0", withTopic("telemetry/tempsensor/dev1"))
	add("e1", "not json")
	add("e2", withTopic("other/topic")) // does not match the filter: keeps the filter
	for i := 3; i < 60; i++ {
		add("e"+string(rune('a'+i%26))+strings.Repeat("x", i), withTopic("telemetry/tempsensor/dev1"))
	}
	resp, err := cb.OnBulkTopicEvent(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Statuses) != len(req.Entries) {
		t.Fatalf("%d statuses for %d entries", len(resp.Statuses), len(req.Entries))
	}
	var ok, retry int
	for i, st := range resp.Statuses {
		if st.EntryId != req.Entries[i].EntryId {
			t.Fatalf("status %d for entry %q, want %q", i, st.EntryId, req.Entries[i].EntryId)
		}
		switch st.Status {
		case runtimev1pb.TopicEventResponse_SUCCESS:
			ok++
		case runtimev1pb.TopicEventResponse_RETRY:
			retry++
			if i < 3 {
				t.Fatalf("entry %d answered RETRY", i)
			}
		default:
			t.Fatalf("entry %d: %v", i, st.Status)
		}
	}
	stored := int(f.buf.End())
	if retry == 0 || ok != stored+1 { // +1: the dead-lettered entry
		t.Fatalf("%d SUCCESS, %d RETRY, %d stored: the full buffer must refuse some and only those", ok, retry, stored)
	}
	if got := testutil.ToFloat64(f.h.Metrics.Received.WithLabelValues("rejected_full")); got != float64(retry) {
		t.Fatalf("received{rejected_full} = %v, want %d", got, retry)
	}
	if dl := f.deadLetters(t); len(dl) != 1 || dl[0].Topic != "telemetry/#" {
		t.Fatalf("dead letters: %+v", dl)
	}
	// daprd before 1.17 calls the alpha method (deprecated, still served): the same handling
	retried := f.buf.End()
	again := &runtimev1pb.TopicEventBulkRequest{PubsubName: "edge-pubsub", Topic: "telemetry/#", Entries: req.Entries[:1]}
	//lint:ignore SA1019 the alpha method is what daprd before 1.17 calls
	if resp, err := alpha.OnBulkTopicEventAlpha1(context.Background(), again); err != nil || resp.Statuses[0].Status != runtimev1pb.TopicEventResponse_RETRY {
		t.Fatalf("alpha bulk delivery into the full buffer: %v %v", resp, err)
	}
	if f.buf.End() != retried {
		t.Fatal("a refused entry was stored")
	}
	recs, err := f.buf.NewReader("s", buffer.Position{}).Next(context.Background(), 2, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"telemetry/tempsensor/dev1", "telemetry/#"} {
		m, err := message.Unmarshal(recs[i].Payload)
		if err != nil || m.Topic != want || m.ID != "tempsensor/dev1/7" {
			t.Fatalf("record %d: %+v %v, want topic %s", i, m, err, want)
		}
	}
}

func TestSingleDeliveryOnOtherPubSubIsRetried(t *testing.T) {
	f := newFixture(t, 1<<20)
	cb, _ := serve(t, f, ServiceOptions{PubSub: "edge-pubsub", Topics: []string{"telemetry/#"}})
	resp, err := cb.OnTopicEvent(context.Background(), &runtimev1pb.TopicEventRequest{PubsubName: "other", Topic: "telemetry/x", Data: []byte(validEvent)})
	if err == nil || resp != nil && resp.Status != runtimev1pb.TopicEventResponse_RETRY {
		t.Fatalf("other pub/sub: %v %v", resp, err)
	}
	resp, err = cb.OnTopicEvent(context.Background(), &runtimev1pb.TopicEventRequest{PubsubName: "edge-pubsub", Topic: "telemetry/tempsensor/dev1", Data: []byte(validEvent)})
	if err != nil || resp.Status != runtimev1pb.TopicEventResponse_SUCCESS || f.buf.End() != 1 {
		t.Fatalf("single delivery: %v %v, %d stored", resp, err, f.buf.End())
	}
}

func TestTopicFilterMatching(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"telemetry/#", "telemetry/a/b", true}, {"telemetry/#", "telemetry", true}, {"telemetry/+", "telemetry/a", true},
		{"telemetry/+", "telemetry/a/b", false}, {"telemetry/+/x", "telemetry/a/x", true}, {"telemetry/a", "telemetry/b", false},
		{"telemetry/#", "other/a", false},
	} {
		if got := matches(c.filter, c.topic); got != c.want {
			t.Errorf("matches(%q, %q) = %v", c.filter, c.topic, got)
		}
	}
}

// An entry daprd sends parsed (a CloudEvent rather than the raw bytes) is re-encoded and
// stored like the raw one: same id, sequence, time and data.
func TestBulkEntryAsParsedCloudEventIsStored(t *testing.T) {
	f := newFixture(t, 1<<20)
	cb, _ := serve(t, f, ServiceOptions{PubSub: "edge-pubsub", Topics: []string{"telemetry/#"}, BulkMaxMessages: 10, BulkMaxAwait: time.Millisecond})
	ext, err := structpb.NewStruct(map[string]any{"sequence": 7, "time": "2026-01-02T03:04:05Z", "topic": "telemetry/tempsensor/dev1"})
	if err != nil {
		t.Fatal(err)
	}
	ce := &runtimev1pb.TopicEventCERequest{Id: "tempsensor/dev1/7", Source: "edgeframe/l2/tempsensor", Type: "io.edgeframe.telemetry.tempsensor.v1",
		SpecVersion: "1.0", DataContentType: "application/json", Data: []byte(`{"machine":{"temperature":21.5}}`), Extensions: ext}
	resp, err := cb.OnBulkTopicEvent(context.Background(), &runtimev1pb.TopicEventBulkRequest{PubsubName: "edge-pubsub", Topic: "telemetry/#",
		Entries: []*runtimev1pb.TopicEventBulkRequestEntry{{EntryId: "e0", Event: &runtimev1pb.TopicEventBulkRequestEntry_CloudEvent{CloudEvent: ce}}}})
	if err != nil || resp.Statuses[0].Status != runtimev1pb.TopicEventResponse_SUCCESS {
		t.Fatalf("%v %v", resp, err)
	}
	recs, err := f.buf.NewReader("s", buffer.Position{}).Next(context.Background(), 1, 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.Unmarshal(recs[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := cloudevent.Decode(m.Event)
	if err != nil || ev.ID != ce.Id || ev.Sequence != 7 || m.Topic != "telemetry/tempsensor/dev1" || string(ev.Data) != string(ce.Data) ||
		!ev.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("stored %+v (topic %s), %v", ev, m.Topic, err)
	}
}
