package message

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMarshalRoundTrip(t *testing.T) {
	m := Message{
		ID: "tempsensor/dev1/7", Topic: "telemetry/tempsensor/dev1", Key: "tempsensor/dev1",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		Event:       json.RawMessage(`{"id":"tempsensor/dev1/7"}`),
	}
	got, err := Unmarshal(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.Topic != m.Topic || got.Key != m.Key || !got.Time.Equal(m.Time) ||
		!got.ReceivedAt.Equal(m.ReceivedAt) || got.TraceParent != m.TraceParent || string(got.Event) != string(m.Event) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, m)
	}
	if _, err := Unmarshal(m.Marshal()[:20]); err == nil {
		t.Fatal("a truncated record must not decode")
	}
}

func TestPartitionKey(t *testing.T) {
	for _, c := range []struct{ subject, topic, want string }{
		{"press-7", "telemetry/opcua/g1", "press-7"},
		{"", "telemetry/tempsensor/dev1", "tempsensor/dev1"},
		{"", "plant/a", "plant/a"},
		{"", "telemetry/", "telemetry/"},
	} {
		if got := PartitionKey(c.subject, c.topic); got != c.want {
			t.Errorf("PartitionKey(%q, %q) = %q, want %q", c.subject, c.topic, got, c.want)
		}
	}
}

func TestLineShape(t *testing.T) {
	m := Message{ID: "a/b/1", Topic: "telemetry/a/b", Key: "a/b", ReceivedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Event: json.RawMessage(`{"x":1}`)}
	b, err := AppendLine(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a/b/1","topic":"telemetry/a/b","key":"a/b","receivedAt":"2026-01-01T00:00:00Z","event":{"x":1}}` + "\n"
	if string(b) != want {
		t.Fatalf("line\n got %s\nwant %s", b, want)
	}
}

func TestLineOfAPrettyPrintedEventWithOddStringsIsOneValidLine(t *testing.T) {
	m := Message{ID: "a\"b/ü/1", Topic: "telemetry/\x01", Key: "k", ReceivedAt: time.Unix(0, 5).UTC(), Time: time.Unix(1, 0), Event: json.RawMessage("{\n  \"x\": [1,\n 2]\n}\n")}
	b, err := AppendLine(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b); b[n-1] != '\n' || string(b[:n-1]) == "" || json.Valid(b[:n-1]) == false {
		t.Fatalf("not one valid JSON line: %q", b)
	}
	for _, c := range b[:len(b)-1] {
		if c == '\n' {
			t.Fatalf("line break inside the line: %q", b)
		}
	}
	var l Line
	if err := json.Unmarshal(b, &l); err != nil || l.ID != m.ID || l.Topic != m.Topic || string(l.Event) != `{"x":[1,2]}` || !l.Time.Equal(m.Time) {
		t.Fatalf("decoded %+v, %v", l, err)
	}
	if _, err := AppendLine(nil, Message{ID: "x", Event: json.RawMessage(`"str"`)}); err == nil {
		t.Fatal("an event that is not an object was accepted")
	}
}
