package encoding_test

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/encoding"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func val(field string, v any) encoding.Value {
	return encoding.Value{Field: field, NodeID: "ns=2;s=" + field, Value: v, SourceTimestamp: t0, ServerTimestamp: t0}
}

func TestKeyFramesEveryKeyFrameCountAndDeltasBetween(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{Group: "g", ID: "w", KeyFrameCount: 3, Fields: []string{"a", "b"}})
	var types []string
	var sizes []int
	for i := 0; i < 7; i++ {
		vs := []encoding.Value{val("a", i)}
		if i == 0 {
			vs = append(vs, val("b", true))
		}
		m := w.Data(vs, t0)
		if m.SequenceNumber != uint32(i+1) {
			t.Fatalf("message %d has sequence %d", i, m.SequenceNumber)
		}
		types = append(types, m.MessageType)
		sizes = append(sizes, len(m.Payload))
	}
	want := []string{"ua-keyframe", "ua-deltaframe", "ua-deltaframe", "ua-keyframe", "ua-deltaframe", "ua-deltaframe", "ua-keyframe"}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("types %v, want %v", types, want)
		}
	}
	if sizes[3] != 2 || sizes[4] != 1 {
		t.Errorf("key frame must carry every field, delta only the change: sizes %v", sizes)
	}
	if ka := w.KeepAlive(t0); ka.MessageType != "ua-keepalive" || ka.SequenceNumber != 8 || len(ka.Payload) != 0 {
		t.Errorf("keep-alive %+v", ka)
	}
	if m := w.Data([]encoding.Value{val("a", 9)}, t0); m.SequenceNumber != 8 {
		t.Errorf("keep-alive consumed a sequence number: %d", m.SequenceNumber)
	}
}

func TestGapSkipsSequenceNumbersAndForcesKeyFrame(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{ID: "w", KeyFrameCount: 100, Fields: []string{"a"}})
	w.Data([]encoding.Value{val("a", 1)}, t0)
	w.Data([]encoding.Value{val("a", 2)}, t0)
	last, next := w.Gap(5)
	if last != 2 || next != 8 {
		t.Fatalf("gap last %d next %d", last, next)
	}
	m := w.Data([]encoding.Value{val("a", 3)}, t0)
	if m.SequenceNumber != 8 || m.MessageType != "ua-keyframe" {
		t.Fatalf("after gap: %+v", m)
	}
}

// The version is bumped when the change is announced (MetaData), before the data.
func TestReconfigureBumpsMetaDataVersion(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{ID: "w", Fields: []string{"a"}})
	w.Data([]encoding.Value{val("a", 1)}, t0)
	w.MetaData([]encoding.Value{val("a", 1)})
	w.Reconfigure(encoding.WriterConfig{ID: "w", Fields: []string{"a", "b"}})
	w.MetaData([]encoding.Value{val("b", 1)})
	if m := w.Data([]encoding.Value{val("b", 1)}, t0); m.MetaDataVersion != (encoding.MetaDataVersion{MajorVersion: 1, MinorVersion: 1}) || m.MessageType != "ua-keyframe" {
		t.Errorf("added field: %+v", m)
	}
	w.Reconfigure(encoding.WriterConfig{ID: "w", Fields: []string{"b"}})
	w.MetaData([]encoding.Value{val("b", 2)})
	if m := w.Data([]encoding.Value{val("b", 2)}, t0); m.MetaDataVersion != (encoding.MetaDataVersion{MajorVersion: 2}) || len(m.Payload) != 1 {
		t.Errorf("removed field: %+v", m)
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestNetworkMessageShapeDefaultAndStrict(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{Group: "plc1", ID: "fast", Index: 7, Fields: []string{"a", "bad"}})
	bad := val("bad", math.NaN())
	bad.Status = ua.StatusBadCommunicationError
	dsm := w.Data([]encoding.Value{val("a", uint32(5)), bad}, t0)
	nm := encoding.NetworkMessage{MessageID: "plc1-1", WriterGroup: "plc1", Messages: []encoding.DataSetMessage{dsm}}

	b, err := encoding.Options{PublisherID: "pub"}.Encode(nm)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	if m["MessageType"] != "ua-data" || m["MessageId"] != "plc1-1" || m["PublisherId"] != "pub" || m["DataSetWriterGroup"] != "plc1" || m["WriterGroupName"] != nil {
		t.Errorf("network message header: %s", b)
	}
	d := m["Messages"].([]any)[0].(map[string]any)
	if d["DataSetWriterId"] != "fast" || d["SequenceNumber"] != 1.0 || d["MessageType"] != "ua-keyframe" || d["Timestamp"] != "2026-11-25T10:00:00Z" {
		t.Errorf("data set message: %v", d)
	}
	if mv := d["MetaDataVersion"].(map[string]any); mv["MajorVersion"] != 1.0 || mv["MinorVersion"] != 0.0 {
		t.Errorf("metadata version %v", mv)
	}
	p := d["Payload"].(map[string]any)
	a := p["a"].(map[string]any)
	if a["Value"] != 5.0 || a["SourceTimestamp"] != "2026-11-25T10:00:00Z" || a["StatusCode"] != nil {
		t.Errorf("good value %v", a)
	}
	bv := p["bad"].(map[string]any)
	if bv["Value"] != "NaN" || bv["StatusCode"].(map[string]any)["Symbol"] != "BadCommunicationError" {
		t.Errorf("bad value %v", bv)
	}

	b, err = encoding.Options{Strict: true, PublisherID: "pub"}.Encode(nm)
	if err != nil {
		t.Fatal(err)
	}
	if sm := decode(t, b); sm["WriterGroupName"] != "plc1" || sm["DataSetWriterGroup"] != nil {
		t.Errorf("strict network message header (Part 14 WriterGroupName): %s", b)
	}
	d = decode(t, b)["Messages"].([]any)[0].(map[string]any)
	if d["DataSetWriterId"] != 7.0 || d["DataSetWriterName"] != "fast" {
		t.Errorf("strict writer id: %v", d)
	}
	if sc := d["Payload"].(map[string]any)["bad"].(map[string]any)["StatusCode"]; sc != float64(ua.StatusBadCommunicationError) {
		t.Errorf("strict status code %v", sc)
	}

	ka, _ := encoding.Options{}.Encode(encoding.NetworkMessage{MessageID: "x", WriterGroup: "plc1", Messages: []encoding.DataSetMessage{w.KeepAlive(t0)}})
	if d := decode(t, ka)["Messages"].([]any)[0].(map[string]any); d["MessageType"] != "ua-keepalive" || d["Payload"] != nil || d["SequenceNumber"] != 2.0 {
		t.Errorf("keep-alive %v", d)
	}
}

func TestSamplesAreAnObject(t *testing.T) {
	v := val("Temp", 21.5)
	b, err := encoding.Options{}.EncodeSamples([]encoding.Sample{{EndpointURL: "opc.tcp://h:1", WriterID: "w", SequenceNumber: 3, Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	s := decode(t, b)["Samples"].([]any)[0].(map[string]any)
	if s["NodeId"] != "ns=2;s=Temp" || s["DisplayName"] != "Temp" || s["EndpointUrl"] != "opc.tcp://h:1" || s["SequenceNumber"] != 3.0 ||
		s["Value"].(map[string]any)["Value"] != 21.5 {
		t.Errorf("sample %v", s)
	}
}

func TestJSONValue(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{math.Inf(1), `"Infinity"`}, {float32(1.5), `1.5`}, {[]byte{1, 2}, `"AQI="`}, {[]uint32{1, 2}, `[1,2]`},
		{ua.NewStringNodeID(2, "x"), `"ns=2;s=x"`}, {&ua.LocalizedText{Text: "hi"}, `"hi"`}, {[]float64{math.NaN(), 1}, `["NaN",1]`},
	} {
		b, err := json.Marshal(encoding.JSONValue(tc.in))
		if err != nil || string(b) != tc.want {
			t.Errorf("JSONValue(%v) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
}

func TestBatcherFlushesByCountAndByTime(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	done := make(chan struct{}, 10)
	b := &encoding.Batcher[int]{Size: 3, Interval: 50 * time.Millisecond, Flush: func(items []int) {
		mu.Lock()
		batches = append(batches, items)
		mu.Unlock()
		done <- struct{}{}
	}}
	b.Add(1, 2, 3, 4)
	<-done // count
	mu.Lock()
	if len(batches) != 1 || len(batches[0]) != 3 {
		t.Fatalf("after 4 adds with size 3: %v", batches)
	}
	mu.Unlock()
	start := time.Now()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("interval flush never came")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Errorf("interval flush after %s, before the 50ms interval", el)
	}
	mu.Lock()
	if len(batches) != 2 || len(batches[1]) != 1 || batches[1][0] != 4 {
		t.Fatalf("batches %v", batches)
	}
	mu.Unlock()

	var got [][]int
	nb := &encoding.Batcher[int]{Size: 1, Flush: func(items []int) { got = append(got, items) }}
	nb.Add(1, 2)
	if len(got) != 2 {
		t.Fatalf("size 1 must not batch: %v", got)
	}
}

// The hand-written JSON must read back as what was written, for any field name and
// string value (control characters, quotes, invalid UTF-8 included).
func FuzzNetworkMessageJSON(f *testing.F) {
	for _, s := range []string{"a", "quote\"back\\slash", "ctl\x01\n\t", "bad\xffutf8", "ünï😀", ""} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, field, value string) {
		if field == "" {
			return
		}
		w := encoding.NewWriter(encoding.WriterConfig{ID: value, Fields: []string{field}})
		m := w.Data([]encoding.Value{{Field: field, Value: value}}, t0)
		b, err := encoding.Options{PublisherID: field}.Encode(encoding.NetworkMessage{MessageID: value, WriterGroup: "g", Messages: []encoding.DataSetMessage{m}})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			MessageID string `json:"MessageId"`
			Messages  []struct {
				DataSetWriterID string `json:"DataSetWriterId"`
				Payload         map[string]struct{ Value string }
			}
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		want, _ := json.Marshal(value) // encoding/json's view of the same string
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		wf, _ := json.Marshal(field)
		var wantF string
		_ = json.Unmarshal(wf, &wantF)
		if got.MessageID != wantS || got.Messages[0].DataSetWriterID != wantS || got.Messages[0].Payload[wantF].Value != wantS {
			t.Fatalf("round trip of %q/%q: %s", field, value, b)
		}
	})
}

func TestBatcherFlushesBeforeMaxBytes(t *testing.T) {
	var got [][]int
	b := &encoding.Batcher[int]{Size: 100, Interval: time.Hour, MaxBytes: 10, Bytes: func(n int) int { return n },
		Flush: func(items []int) { got = append(got, items) }}
	b.Add(4, 4, 4, 20, 1)
	b.FlushNow()
	want := [][]int{{4, 4}, {4}, {20}, {1}}
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
			t.Fatalf("batches %v, want %v", got, want)
		}
	}
}

// EstimateBytes must not underestimate what Encode writes for typical values.
func TestEstimateBytesCoversEncodedSize(t *testing.T) {
	var vs []encoding.Value
	var fields []string
	for i := 0; i < 500; i++ {
		f := fmt.Sprintf("FastUInt%d", i)
		fields = append(fields, f)
		vs = append(vs, encoding.Value{Field: f, Value: uint32(4000000000), SourceTimestamp: t0.Add(123456789), ServerTimestamp: t0.Add(123456789)})
	}
	w := encoding.NewWriter(encoding.WriterConfig{ID: "writer-1", Fields: fields})
	m := w.Data(vs, t0)
	if len(m.Payload) != 500 {
		t.Fatalf("payload %d", len(m.Payload))
	}
	b, err := encoding.Options{}.Encode(encoding.NetworkMessage{MessageID: "g-1", WriterGroup: "g", Messages: []encoding.DataSetMessage{m}})
	if err != nil {
		t.Fatal(err)
	}
	if est := encoding.EstimateBytes(m); est < len(b) {
		t.Fatalf("estimate %d < encoded %d", est, len(b))
	}
}

// Status symbols are OPC UA's symbolic names (StatusCode.csv), not gopcua's Go
// identifiers: BadNodeIdInvalid, not BadNodeIDInvalid.
func TestStatusSymbolsUseOPCUASpelling(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{Group: "g", ID: "w", Fields: []string{"v"}})
	for code, want := range map[ua.StatusCode]string{
		ua.StatusBadNodeIDInvalid:          "BadNodeIdInvalid",
		ua.StatusBadNodeIDUnknown:          "BadNodeIdUnknown",
		ua.StatusBadTCPMessageTooLarge:     "BadTcpMessageTooLarge",
		ua.StatusBadServerURIInvalid:       "BadServerUriInvalid",
		ua.StatusBadTCPEndpointURLInvalid:  "BadTcpEndpointUrlInvalid",
		ua.StatusBadIdentityTokenInvalid:   "BadIdentityTokenInvalid",
		ua.StatusUncertainLastUsableValue:  "UncertainLastUsableValue",
		ua.StatusBadSecureChannelIDInvalid: "BadSecureChannelIdInvalid",
		ua.StatusCode(0x80ab0000 | 0x1234): "0x80ab1234",
	} {
		v := val("v", uint32(1))
		v.Status = code
		b, err := encoding.Options{}.Encode(encoding.NetworkMessage{MessageID: "x", WriterGroup: "g", Messages: []encoding.DataSetMessage{w.Data([]encoding.Value{v}, t0)}})
		if err != nil {
			t.Fatal(err)
		}
		sc := decode(t, b)["Messages"].([]any)[0].(map[string]any)["Payload"].(map[string]any)["v"].(map[string]any)["StatusCode"].(map[string]any)
		if sc["Symbol"] != want {
			t.Errorf("0x%08x: symbol %v, want %s", uint32(code), sc["Symbol"], want)
		}
	}
}
