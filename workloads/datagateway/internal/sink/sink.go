// Package sink delivers messages to the stores the gateway forwards to: Azure Event Hubs
// (or any Kafka cluster) through franz-go, Azure Blob Storage through azblob, and local
// JSON-lines files; and it keeps the dead-letter store for poison messages.
package sink

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// Sink writes batches of messages. Write returns nil when every message is durably
// stored by the sink (for a Syncer: once Sync returns nil), a *BatchError when only some are, and any other error when the
// whole batch must be retried. Implementations are safe for concurrent Write calls.
type Sink interface {
	Name() string
	Write(ctx context.Context, msgs []message.Message) error
	Close() error
}

// Syncer is a sink whose Write leaves what it stored in the operating system (a local
// file) until Sync: the drainer calls Sync, at most every few hundred milliseconds and
// before it commits its cursor past the messages written, so one fsync covers many
// batches. A Sync error means the messages written since the last good Sync may be lost
// and must be written again.
type Syncer interface {
	Sync() error
}

// BatchError reports per-message outcomes of a partly failed Write, by index into the batch.
type BatchError struct {
	// Rejected messages are invalid for this sink (too large, refused as malformed): they
	// go to the dead-letter store and are never retried.
	Rejected map[int]error
	// Failed messages hit a transient error and are retried.
	Failed map[int]error
}

func (e *BatchError) Error() string {
	var parts []string
	add := func(kind string, m map[int]error) {
		idx := make([]int, 0, len(m))
		for i := range m {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx[:min(len(idx), 3)] {
			parts = append(parts, fmt.Sprintf("%s #%d: %v", kind, i, m[i]))
		}
		if len(idx) > 3 {
			parts = append(parts, fmt.Sprintf("… %d more %s", len(idx)-3, kind))
		}
	}
	add("rejected", e.Rejected)
	add("failed", e.Failed)
	return "sink: " + strings.Join(parts, "; ")
}

func (e *BatchError) reject(i int, err error) {
	if e.Rejected == nil {
		e.Rejected = map[int]error{}
	}
	e.Rejected[i] = err
}

func (e *BatchError) fail(i int, err error) {
	if e.Failed == nil {
		e.Failed = map[int]error{}
	}
	e.Failed[i] = err
}

func (e *BatchError) orNil() error {
	if len(e.Rejected) == 0 && len(e.Failed) == 0 {
		return nil
	}
	return e
}
