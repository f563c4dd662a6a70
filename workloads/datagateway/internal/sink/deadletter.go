package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Dead is one poison message and why it could not be delivered.
type Dead struct {
	ID     string
	Topic  string
	Reason string
	// Stage is where it failed: "ingest" or "sink:<name>".
	Stage      string
	ReceivedAt time.Time
	// Payload is what was received (the CloudEvent or the undecodable bytes).
	Payload []byte
}

// DeadLetterLine is the JSON line of the dead-letter store:
//
//	{"id":…,"topic":…,"reason":…,"stage":…,"receivedAt":…,"deadLetteredAt":…,"event":{…}}
//
// with "payloadBase64" instead of "event" when the payload is not valid JSON.
type DeadLetterLine struct {
	ID             string          `json:"id,omitempty"`
	Topic          string          `json:"topic"`
	Reason         string          `json:"reason"`
	Stage          string          `json:"stage"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	DeadLetteredAt time.Time       `json:"deadLetteredAt"`
	Event          json.RawMessage `json:"event,omitempty"`
	PayloadBase64  []byte          `json:"payloadBase64,omitempty"`
}

// DeadLetters is the local dead-letter store: rotating JSON-lines files, fsynced before
// Put returns, so a message is acknowledged only once its dead letter is durable.
type DeadLetters struct {
	rot *rotator
	now func() time.Time
}

// NewDeadLetters stores dead letters under dir.
func NewDeadLetters(dir string, maxFileBytes int64, now func() time.Time) (*DeadLetters, error) {
	if dir == "" {
		return nil, errors.New("sink: dead letters: dir: required")
	}
	if now == nil {
		now = time.Now
	}
	return &DeadLetters{rot: newRotator(dir, "deadletter", maxFileBytes, 0, syncEach, now), now: now}, nil
}

// Put stores the dead letters durably.
func (d *DeadLetters) Put(_ context.Context, dead ...Dead) error {
	var buf []byte
	now := d.now().UTC()
	for _, x := range dead {
		l := DeadLetterLine{ID: x.ID, Topic: x.Topic, Reason: x.Reason, Stage: x.Stage, ReceivedAt: x.ReceivedAt.UTC(), DeadLetteredAt: now}
		if len(x.Payload) > 0 && json.Valid(x.Payload) {
			l.Event = x.Payload
		} else {
			l.PayloadBase64 = x.Payload
		}
		b, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("dead letter %s: %w", x.ID, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	if err := d.rot.write(buf); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}

// Close closes the current file.
func (d *DeadLetters) Close() error { return d.rot.close() }
