// Package message is what the gateway stores and delivers: one received CloudEvent with
// the attributes every sink needs (stable id, source topic, partition key, times), and
// its compact binary form in the buffer.
package message

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one event on its way to the sinks.
type Message struct {
	// ID is the producer's CloudEvent id, kept on every sink as the stable message id.
	ID string
	// Topic is the pub/sub topic it arrived on.
	Topic string
	// Key is the partition key: the asset (see PartitionKey).
	Key string
	// Time is the CloudEvent time (zero when the event has none).
	Time time.Time
	// ReceivedAt is when the gateway accepted it.
	ReceivedAt time.Time
	// TraceParent is the W3C trace context the event carried.
	TraceParent string
	// Event is the CloudEvent exactly as received (structured JSON).
	Event json.RawMessage

	// Offset is the buffer offset (set when read back from the buffer).
	Offset uint64
}

// PartitionKey is the asset a message belongs to: the CloudEvent subject when set,
// otherwise the topic without its leading "telemetry/" (telemetry/tempsensor/dev1 →
// tempsensor/dev1), otherwise the whole topic.
func PartitionKey(subject, topic string) string {
	if subject != "" {
		return subject
	}
	if k, ok := strings.CutPrefix(topic, "telemetry/"); ok && k != "" {
		return k
	}
	return topic
}

const version = 1

// Marshal encodes m for the buffer:
// version u8 | receivedAt i64 | time i64 | id | topic | key | traceparent (uvarint length + bytes each) | event.
func (m Message) Marshal() []byte {
	n := 1 + 16 + 4*binary.MaxVarintLen32 + len(m.ID) + len(m.Topic) + len(m.Key) + len(m.TraceParent) + len(m.Event)
	b := make([]byte, 0, n)
	b = append(b, version)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.ReceivedAt.UnixNano()))
	var t int64
	if !m.Time.IsZero() {
		t = m.Time.UnixNano()
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(t))
	for _, s := range []string{m.ID, m.Topic, m.Key, m.TraceParent} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, m.Event...)
}

var errShort = errors.New("message: truncated record")

// Unmarshal decodes a buffer record. The Event aliases b.
func Unmarshal(b []byte) (Message, error) {
	var m Message
	if len(b) < 17 {
		return m, errShort
	}
	if b[0] != version {
		return m, fmt.Errorf("message: unknown record version %d", b[0])
	}
	m.ReceivedAt = time.Unix(0, int64(binary.LittleEndian.Uint64(b[1:9]))).UTC()
	if t := int64(binary.LittleEndian.Uint64(b[9:17])); t != 0 {
		m.Time = time.Unix(0, t).UTC()
	}
	b = b[17:]
	fields := []*string{&m.ID, &m.Topic, &m.Key, &m.TraceParent}
	for _, f := range fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return m, errShort
		}
		*f = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	m.Event = b
	return m, nil
}

// Line is the JSON line the file and blob sinks write for a message:
//
//	{"id":"…","topic":"…","key":"…","time":"…","receivedAt":"…","event":{…the CloudEvent…}}
//
// time is the CloudEvent time (omitted when the event has none); receivedAt is when the
// gateway accepted it (RFC 3339, UTC, nanoseconds).
type Line struct {
	ID         string          `json:"id"`
	Topic      string          `json:"topic"`
	Key        string          `json:"key"`
	Time       *time.Time      `json:"time,omitempty"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Event      json.RawMessage `json:"event"`
}

// AppendLine appends m's JSON line (with the trailing newline) to dst. The event is
// copied as it is unless it spans lines, in which case it is compacted.
func AppendLine(dst []byte, m Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, m.ID)
	dst = append(dst, `,"topic":`...)
	dst = appendString(dst, m.Topic)
	dst = append(dst, `,"key":`...)
	dst = appendString(dst, m.Key)
	if !m.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = m.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"receivedAt":"`...)
	dst = m.ReceivedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","event":`...)
	ev := bytes.TrimSpace(m.Event)
	if len(ev) == 0 || ev[0] != '{' {
		return dst[:start], fmt.Errorf("message %s: event is not a JSON object", m.ID)
	}
	if bytes.ContainsAny(ev, "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, ev); err != nil {
			return dst[:start], fmt.Errorf("message %s: event: %w", m.ID, err)
		}
		ev = c.Bytes()
	}
	dst = append(dst, ev...)
	return append(dst, '}', '\n'), nil
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
