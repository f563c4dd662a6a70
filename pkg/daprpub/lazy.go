package daprpub

import (
	"context"
	"sync"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// Lazy is a Publisher that dials the sidecar on first use and again after a failed
// publish, so a workload can start before its sidecar is up and survives a sidecar
// restart. Put it behind a Queue, which retries.
type Lazy struct {
	Addr string // as for Dial

	mu sync.Mutex
	c  *Client
}

// Publish publishes through the current connection, dialling one when there is none.
func (l *Lazy) Publish(ctx context.Context, pubsub, topic string, ev cloudevent.Event) error {
	c, err := l.client(ctx)
	if err != nil {
		return err
	}
	return c.Publish(ctx, pubsub, topic, ev)
}

// PublishBatch is Client.PublishBatch through the current connection.
func (l *Lazy) PublishBatch(ctx context.Context, pubsub, topic string, evs []cloudevent.Event) error {
	c, err := l.client(ctx)
	if err != nil {
		return err
	}
	return c.PublishBatch(ctx, pubsub, topic, evs)
}

func (l *Lazy) client(ctx context.Context) (*Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		c, err := Dial(ctx, l.Addr)
		if err != nil {
			return nil, err
		}
		l.c = c
	}
	return l.c, nil
}

// Close releases the connection; a later Publish dials again.
func (l *Lazy) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}
