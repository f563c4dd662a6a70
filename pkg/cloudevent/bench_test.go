package cloudevent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// benchEvent is a tempsensor-shaped event of about 1 KB once encoded: the conventional
// attributes, a subject, W3C trace context, one extension and a nested data object.
func benchEvent() cloudevent.Event {
	var data strings.Builder
	data.WriteString(`{"machine":{"temperature":21.53,"pressure":1013.25,"humidity":41.2,"ambient":{"temperature":19.8,"humidity":38}},`)
	data.WriteString(`"samples":[`)
	for i := range 24 {
		if i > 0 {
			data.WriteByte(',')
		}
		fmt.Fprintf(&data, `{"t":%d,"v":%.3f}`, 1700000000000+int64(i)*250, 20+float64(i)/7)
	}
	data.WriteString(`],"unit":"celsius","status":"ok","device":"dev-0042"}`)
	at := time.Date(2026, 11, 25, 9, 0, 0, 123456789, time.UTC)
	e := cloudevent.New("tempsensor", "dev-0042", 123456, cloudevent.SourceFor("l2", "tempsensor"), at, json.RawMessage(data.String()))
	e.Subject = "dev-0042"
	e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	e.TraceState = "congo=t61rcWkgMzE"
	e.Extensions = map[string]any{"batchid": "b-20261125-0900"}
	return e
}

func BenchmarkDecode1KB(b *testing.B) {
	raw, err := cloudevent.Encode(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cloudevent.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode1KB(b *testing.B) {
	e := benchEvent()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := cloudevent.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
