// Package daprpub publishes edgeframe CloudEvents through the Dapr sidecar, so workloads
// never talk to MQTT directly. Events go out as application/cloudevents+json: daprd
// forwards them as they are, so the id stays the producer's and data stays a JSON object.
package daprpub

import (
	"context"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// Publisher sends one event to a topic of a pub/sub component.
type Publisher interface {
	Publish(ctx context.Context, pubsub, topic string, ev cloudevent.Event) error
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

// Dapr is the underlying SDK client (for service invocation and health checks).
func (p *Client) Dapr() dapr.Client { return p.c }

// Close releases the connection.
func (p *Client) Close() { p.c.Close() }
