package cloudevent_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

func TestRoundTripKeepsEveryAttribute(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 123000000, time.UTC)
	e := cloudevent.New("tempsensor", "dev1", 42, cloudevent.SourceFor("l2", "tempsensor"), at, json.RawMessage(`{"a":1}`))
	e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.Extensions = map[string]any{"batchid": "b-1"}
	b, err := cloudevent.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cloudevent.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tempsensor/dev1/42" || got.Source != "edgeframe/l2/tempsensor" || got.Type != "io.edgeframe.telemetry.tempsensor.v1" {
		t.Errorf("conventional attributes: %+v", got)
	}
	if got.Sequence != 42 || !got.Time.Equal(at) || got.TraceParent != e.TraceParent || got.Extensions["batchid"] != "b-1" {
		t.Errorf("round trip lost data: %+v", got)
	}
	if string(got.Data) != `{"a":1}` {
		t.Errorf("data = %s", got.Data)
	}
}

func TestDecodeAcceptsSequenceAsString(t *testing.T) {
	// Dapr and some brokers rewrite extension values as strings.
	e, err := cloudevent.Decode([]byte(`{"specversion":"1.0","id":"x/y/7","source":"s","type":"t","sequence":"7","data":{"v":1},"topic":"telemetry/x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Sequence != 7 || e.Extensions["topic"] != "telemetry/x" {
		t.Errorf("got %+v", e)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"not json", `{`, []string{"not a JSON object"}},
		{"empty object", `{}`, []string{`"specversion"`, `"id"`, `"source"`, `"type"`, `"data"`}},
		{"data is a string", `{"specversion":"1.0","id":"a","source":"s","type":"t","data":"{\"a\":1}"}`, []string{`"data": must be a JSON object`}},
		{"bad time", `{"specversion":"1.0","id":"a","source":"s","type":"t","time":"yesterday","data":{}}`, []string{`"time"`}},
		{"bad sequence", `{"specversion":"1.0","id":"a","source":"s","type":"t","sequence":1.5,"data":{}}`, []string{`"sequence"`}},
		{"negative sequence", `{"specversion":"1.0","id":"a","source":"s","type":"t","sequence":-1,"data":{}}`, []string{`"sequence": must not be negative`}},
		{"wrong version", `{"specversion":"0.3","id":"a","source":"s","type":"t","data":{}}`, []string{`"specversion"`}},
		{"binary data", `{"specversion":"1.0","id":"a","source":"s","type":"t","data_base64":"AA=="}`, []string{`"data_base64"`}},
		{"id is a number", `{"specversion":"1.0","id":5,"source":"s","type":"t","data":{}}`, []string{`"id": want a string`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := cloudevent.Decode([]byte(c.in))
			if err == nil {
				t.Fatal("accepted a bad event")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

// FuzzDecode checks Decode against decodeReference, the implementation before it, on
// every input: same acceptance, same Event, same errors (in any order: both walk maps).
// Whatever decodes must also encode like the reference and decode back to itself.
func FuzzDecode(f *testing.F) {
	for _, c := range trickyEvents {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := checkDecodeMatchesReference(t, b)
		if t.Failed() || e == nil {
			return
		}
		checkEncodeMatchesReference(t, *e)
	})
}
