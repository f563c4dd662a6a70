package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// ServiceOptions configures the Dapr gRPC app.
type ServiceOptions struct {
	PubSub string
	Topics []string
	// MaxConcurrent bounds the deliveries in the gateway at once, across every connection
	// daprd opens (its pool adds a connection per 100 calls in flight, so HTTP/2 stream
	// limits alone do not bound them). Further deliveries wait, their request read but
	// not yet handled, which bounds the gateway's memory (default 256).
	MaxConcurrent uint32
	// BulkMaxMessages > 1 subscribes in Dapr's bulk mode: daprd delivers up to this many
	// messages in one call, which the gateway stores with one buffer commit. 0 or 1:
	// one message per call.
	BulkMaxMessages int
	// BulkMaxAwait is how long daprd waits to fill a bulk delivery (at least 1 ms).
	BulkMaxAwait time.Duration
}

// Service is the gateway's Dapr app over gRPC (AppCallback): it lists the
// subscriptions — every topic with rawPayload=true, so the handler gets the producer's
// CloudEvent bytes unchanged, in bulk mode when configured — and hands single and bulk
// topic events to the Handler. It replaces the go-sdk service, which has no bulk
// callback and decodes every event's data into a map the gateway never reads.
type Service struct {
	runtimev1pb.UnimplementedAppCallbackServer
	runtimev1pb.UnimplementedAppCallbackAlphaServer
	runtimev1pb.UnimplementedAppCallbackHealthCheckServer

	o   ServiceOptions
	h   *Handler
	lis net.Listener
	srv *grpc.Server
}

// NewService returns the service on lis.
func NewService(lis net.Listener, o ServiceOptions, h *Handler) (*Service, error) {
	if o.PubSub == "" || len(o.Topics) == 0 {
		return nil, errors.New("ingest: a pub/sub and at least one topic are required")
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 256
	}
	if o.BulkMaxMessages > 1 && o.BulkMaxAwait < time.Millisecond {
		return nil, fmt.Errorf("ingest: bulk max await %s: must be at least 1ms", o.BulkMaxAwait)
	}
	a := newAdmission(int(o.MaxConcurrent), admissionMaxWait)
	// Fixed HTTP/2 windows (no BDP growth up to 16 MiB) bound what daprd can push ahead;
	// small transport buffers, as daprd may hold many connections.
	srv := grpc.NewServer(grpc.MaxConcurrentStreams(o.MaxConcurrent),
		grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(1<<20),
		grpc.ReadBufferSize(16<<10), grpc.WriteBufferSize(8<<10),
		grpc.UnaryInterceptor(a.unary))
	s := &Service{o: o, h: h, lis: lis, srv: srv}
	runtimev1pb.RegisterAppCallbackServer(srv, s)
	runtimev1pb.RegisterAppCallbackAlphaServer(srv, s)
	runtimev1pb.RegisterAppCallbackHealthCheckServer(srv, s)
	return s, nil
}

// Start serves until Stop or GracefulStop.
func (s *Service) Start() error {
	if err := s.srv.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// GracefulStop stops taking calls and waits for the ones in progress.
func (s *Service) GracefulStop() { s.srv.GracefulStop() }

// Stop closes every connection at once.
func (s *Service) Stop() { s.srv.Stop() }

// ListTopicSubscriptions tells daprd what to subscribe to.
func (s *Service) ListTopicSubscriptions(context.Context, *emptypb.Empty) (*runtimev1pb.ListTopicSubscriptionsResponse, error) {
	out := &runtimev1pb.ListTopicSubscriptionsResponse{}
	for _, t := range s.o.Topics {
		sub := &runtimev1pb.TopicSubscription{PubsubName: s.o.PubSub, Topic: t, Metadata: map[string]string{"rawPayload": "true"}}
		if s.o.BulkMaxMessages > 1 {
			sub.BulkSubscribe = &runtimev1pb.BulkSubscribeConfig{Enabled: true,
				MaxMessagesCount: int32(s.o.BulkMaxMessages), MaxAwaitDurationMs: int32(s.o.BulkMaxAwait / time.Millisecond)}
		}
		out.Subscriptions = append(out.Subscriptions, sub)
	}
	return out, nil
}

// OnTopicEvent takes one message. Wildcard subscriptions deliver under the concrete
// topic.
func (s *Service) OnTopicEvent(ctx context.Context, in *runtimev1pb.TopicEventRequest) (*runtimev1pb.TopicEventResponse, error) {
	if in.GetPubsubName() != s.o.PubSub {
		return &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_RETRY},
			fmt.Errorf("pub/sub %q is not subscribed (want %q)", in.GetPubsubName(), s.o.PubSub)
	}
	retry, err := s.h.Handle(ctx, in.GetTopic(), in.GetData())
	switch {
	case err == nil:
		return &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_SUCCESS}, nil
	case retry:
		return &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_RETRY}, err
	default:
		return &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_DROP}, nil
	}
}

// OnBulkTopicEvent takes one bulk delivery and answers a status per entry: the stored
// and dead-lettered ones SUCCESS, the ones whose write failed RETRY (daprd redelivers
// only those). With rawPayload every entry carries the producer's bytes; an entry daprd
// sent as a parsed CloudEvent is re-encoded. daprd ≥ 1.17 calls this stable method and
// falls back to OnBulkTopicEventAlpha1 — after a failed call and a warning, every
// delivery — when the app lacks it.
func (s *Service) OnBulkTopicEvent(ctx context.Context, in *runtimev1pb.TopicEventBulkRequest) (*runtimev1pb.TopicEventBulkResponse, error) {
	out := &runtimev1pb.TopicEventBulkResponse{Statuses: make([]*runtimev1pb.TopicEventBulkResponseEntry, len(in.GetEntries()))}
	if in.GetPubsubName() != s.o.PubSub {
		for i, e := range in.GetEntries() {
			out.Statuses[i] = &runtimev1pb.TopicEventBulkResponseEntry{EntryId: e.GetEntryId(), Status: runtimev1pb.TopicEventResponse_RETRY}
		}
		return out, nil
	}
	raws := make([][]byte, len(in.GetEntries()))
	for i, e := range in.GetEntries() {
		if ce := e.GetCloudEvent(); ce != nil {
			raws[i] = encodeCE(ce)
		} else {
			raws[i] = e.GetBytes()
		}
	}
	for i, r := range s.h.HandleBatch(ctx, in.GetTopic(), raws) {
		st := runtimev1pb.TopicEventResponse_SUCCESS
		if r.Err != nil {
			st = runtimev1pb.TopicEventResponse_RETRY
			if !r.Retry {
				st = runtimev1pb.TopicEventResponse_DROP
			}
		}
		out.Statuses[i] = &runtimev1pb.TopicEventBulkResponseEntry{EntryId: in.GetEntries()[i].GetEntryId(), Status: st}
	}
	return out, nil
}

// OnBulkTopicEventAlpha1 is OnBulkTopicEvent for daprd before 1.17.
func (s *Service) OnBulkTopicEventAlpha1(ctx context.Context, in *runtimev1pb.TopicEventBulkRequest) (*runtimev1pb.TopicEventBulkResponse, error) {
	return s.OnBulkTopicEvent(ctx, in)
}

// HealthCheck answers daprd's app health probe.
func (s *Service) HealthCheck(context.Context, *emptypb.Empty) (*runtimev1pb.HealthCheckResponse, error) {
	return &runtimev1pb.HealthCheckResponse{}, nil
}

// admissionMaxWait is the longest a delivery waits for a slot before it is let in
// anyway: the bound is soft, it must never stall delivery.
const admissionMaxWait = 2 * time.Second

// admission bounds the calls in progress across every connection. A call waits for a
// slot in the unary interceptor (its request, at most one HTTP/2 stream window, is read
// by then) and gives it back when its handler returns. It must not wait in a tap handle
// (grpc.InTapHandle): that runs in the connection's reader goroutine under the
// transport's lock, so one waiting call stops every stream of the connection — including
// the request bodies of calls that already hold slots — until maxWait: stalls of up to
// 2 s, seen as p99 end-to-end latencies of 0.3–3 s in the topology benchmark.
type admission struct {
	slots   chan struct{}
	maxWait time.Duration
}

func newAdmission(n int, maxWait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, n), maxWait: maxWait}
}

// acquire waits for a slot, at most maxWait or until ctx ends, and returns the function
// that gives it back (a no-op when the call was let in without one).
func (a *admission) acquire(ctx context.Context) (release func()) {
	select {
	case a.slots <- struct{}{}:
	default:
		t := time.NewTimer(a.maxWait)
		defer t.Stop()
		select {
		case a.slots <- struct{}{}:
		case <-ctx.Done():
			return func() {}
		case <-t.C:
			return func() {} // let it in without a slot
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-a.slots }) }
}

func (a *admission) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	release := a.acquire(ctx)
	defer release()
	return handler(ctx, req)
}

// encodeCE rebuilds the structured-mode JSON of an event daprd delivered parsed.
func encodeCE(ce *runtimev1pb.TopicEventCERequest) []byte {
	m := map[string]any{}
	for k, v := range ce.GetExtensions().AsMap() {
		m[k] = v
	}
	m["id"], m["source"], m["type"], m["specversion"] = ce.GetId(), ce.GetSource(), ce.GetType(), ce.GetSpecVersion()
	if ce.GetDataContentType() != "" {
		m["datacontenttype"] = ce.GetDataContentType()
	}
	if json.Valid(ce.GetData()) {
		m["data"] = json.RawMessage(ce.GetData())
	} else {
		m["data"] = string(ce.GetData()) // not an object: the handler dead-letters it
	}
	b, err := json.Marshal(m)
	if err != nil { // an extension JSON cannot encode: hand the handler something undecodable
		return ce.GetData()
	}
	return b
}
