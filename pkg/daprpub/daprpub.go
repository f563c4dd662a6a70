// Package daprpub publishes edgeframe CloudEvents through the Dapr sidecar, so workloads
// never talk to MQTT directly. Events go out as application/cloudevents+json: daprd
// forwards them as they are, so the id stays the producer's and data stays a JSON object.
package daprpub

import (
	"context"
	"fmt"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// Publisher sends one event to a topic of a pub/sub component.
type Publisher interface {
	Publish(ctx context.Context, pubsub, topic string, ev cloudevent.Event) error
}

// BatchPublisher also sends several events to one topic in one call. The call fails as a
// whole when any event fails; the caller sends them all again (at-least-once: consumers
// deduplicate on the event id).
type BatchPublisher interface {
	Publisher
	PublishBatch(ctx context.Context, pubsub, topic string, evs []cloudevent.Event) error
}

// Client publishes through a Dapr sidecar over gRPC.
type Client struct {
	c dapr.Client
}

// Dial connects to the sidecar's gRPC API at addr (host:port; "" = DAPR_GRPC_ENDPOINT /
// DAPR_GRPC_PORT, as the SDK resolves them).
func Dial(ctx context.Context, addr string) (*Client, error) {
	var (
		c   dapr.Client
		err error
	)
	if addr == "" {
		c, err = dapr.NewClient()
	} else {
		c, err = dapr.NewClientWithAddressContext(ctx, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("daprpub: connect to the Dapr sidecar %q: %w", addr, err)
	}
	return &Client{c: c}, nil
}

// Publish encodes ev and publishes it in structured mode.
func (p *Client) Publish(ctx context.Context, pubsub, topic string, ev cloudevent.Event) error {
	b, err := cloudevent.Encode(ev)
	if err != nil {
		return fmt.Errorf("daprpub: event %s: %w", ev.ID, err)
	}
	if err := p.c.PublishEvent(ctx, pubsub, topic, b, dapr.PublishEventWithContentType(cloudevent.ContentType)); err != nil {
		return fmt.Errorf("daprpub: publish %s to %s/%s: %w", ev.ID, pubsub, topic, err)
	}
	return nil
}

// PublishBatch publishes evs in structured mode with one Dapr bulk publish call
// (BulkPublishEventAlpha1). daprd publishes the entries concurrently, so their order on
// the broker is not kept; every event keeps its id and sequence.
func (p *Client) PublishBatch(ctx context.Context, pubsub, topic string, evs []cloudevent.Event) error {
	entries := make([]any, 0, len(evs))
	for i, ev := range evs {
		b, err := cloudevent.Encode(ev)
		if err != nil {
			return fmt.Errorf("daprpub: event %s: %w", ev.ID, err)
		}
		entries = append(entries, dapr.PublishEventsEvent{EntryID: strconv.Itoa(i), Data: b, ContentType: cloudevent.ContentType})
	}
	res := p.c.PublishEvents(ctx, pubsub, topic, entries)
	if res.Error != nil || len(res.FailedEvents) > 0 {
		return fmt.Errorf("daprpub: bulk publish of %d events (%s..%s) to %s/%s: %d failed: %w",
			len(evs), evs[0].ID, evs[len(evs)-1].ID, pubsub, topic, len(res.FailedEvents), res.Error)
	}
	return nil
}

// Dapr is the underlying SDK client (for service invocation and health checks).
func (p *Client) Dapr() dapr.Client { return p.c }

// Close releases the connection.
func (p *Client) Close() { p.c.Close() }
