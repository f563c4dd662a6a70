package cloudevent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

// head is the attributes every valid event needs, for building cases.
const head = `"specversion":"1.0","id":"a/b/1","source":"s","type":"t"`

// trickyEvents seed FuzzDecode and are checked against the reference on every test run.
var trickyEvents = []string{
	// well-formed
	`{` + head + `,"sequence":1,"data":{"x":[1,2]}}`,
	`{` + head + `,"subject":"dev","time":"2026-01-02T03:04:05.123456789Z","datacontenttype":"application/json","sequence":7,` +
		`"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"a=b","data":{"machine":{"temperature":21.5}}}`,
	`{` + head + `,"time":"2026-01-02T03:04:05+01:00","data":{}}`,
	`{` + head + `,"time":"2026-01-02T03:04:05.5-07:30","data":{}}`,
	`{` + head + `,"time":"0000-01-01T00:30:00+01:00","data":{}}`,
	// escapes and Unicode, in values and in keys
	`{"specversion":"1.0","id":"a\"b\\c\/d\u00e9\ud83d\ude00\b\f\n\r\t","source":"s","type":"t","data":{}}`,
	`{"specversion":"1.0","id":"\u003cscript\u003e&amp;","source":"s\u2028\u2029","type":"t","data":{}}`,
	`{"specversion":"1.0","id":"\ud800 lone \udc00","source":"s","type":"t","data":{}}`,
	`{"specversion":"1.0","id":"héllo ✓ 日本","source":"s","type":"t","data":{"ü":"ß"}}`,
	"{\"specversion\":\"1.0\",\"id\":\"bad \xff\xfe utf8\",\"source\":\"s\",\"type\":\"t\",\"data\":{}}",
	"{" + head + ",\"ext\xff\":\"v\",\"data\":{}}",
	"{" + head + ",\"ext\":\"\xc3\",\"data\":{}}",
	`{"\u0073pecversion":"\u0031.0","\u0069d":"x","source":"s","type":"t","d\u0061ta":{"a":1}}`,
	`{` + head + `,"datacontenttype":"application\/json","data":{}}`,
	`{"specversion":"1.0 ","id":"x","source":"s","type":"t","datacontenttype":"text/plain","data":{}}`,
	// nested data
	`{` + head + `,"data":{"a":[{"b":[1,2,{"c":null}],"d":"}]"},[],{}],"e":{"f":{"g":[true,false,-0.5e-3]}}}}`,
	`{` + head + `,"data":{"s":"\"}\\","n":[[[[[[]]]]]]}}`,
	// sequence in every shape
	`{` + head + `,"sequence":1e2,"data":{}}`,
	`{` + head + `,"sequence":1E+2,"data":{}}`,
	`{` + head + `,"sequence":-0,"data":{}}`,
	`{` + head + `,"sequence":0,"data":{}}`,
	`{` + head + `,"sequence":9223372036854775807,"data":{}}`,
	`{` + head + `,"sequence":9223372036854775808,"data":{}}`,
	`{` + head + `,"sequence":-9223372036854775808,"data":{}}`,
	`{` + head + `,"sequence":-9223372036854775809,"data":{}}`,
	`{` + head + `,"sequence":1.0,"data":{}}`,
	`{` + head + `,"sequence":"12","data":{}}`,
	`{` + head + `,"sequence":"+12","data":{}}`,
	`{` + head + `,"sequence":"-1","data":{}}`,
	`{` + head + `,"sequence":" 1","data":{}}`,
	`{` + head + `,"sequence":"","data":{}}`,
	`{` + head + `,"sequence":"007","data":{}}`,
	`{` + head + `,"sequence":"0x10","data":{}}`,
	`{` + head + `,"sequence":"1_000","data":{}}`,
	`{` + head + `,"sequence":"\u0031\u0032","data":{}}`,
	`{` + head + `,"sequence":null,"data":{}}`,
	`{` + head + `,"sequence":true,"data":{}}`,
	`{` + head + `,"sequence":{ "a" : 1 },"data":{}}`,
	`{` + head + `,"sequence":[1],"data":{}}`,
	// white space everywhere
	" \t\r\n{ \"specversion\" : \"1.0\" ,\n\"id\"\t:\t\"x\" , \"source\":\"s\",\"type\":\"t\", \"sequence\" : 3 , \"data\" : { \"a\" : [ 1 , 2 ] } , \"ext\" : [ ] } \n\t",
	// duplicate keys: the last one wins
	`{` + head + `,"id":"second","data":{}}`,
	`{` + head + `,"data":{},"data":null}`,
	`{` + head + `,"data":null,"data":{"b":2}}`,
	`{` + head + `,"data":{"a":1},"d\u0061ta":{"b":2}}`,
	`{` + head + `,"ext":1e400,"ext":"fine","data":{}}`,
	`{` + head + `,"ext":"fine","ext":1e400,"data":{}}`,
	`{` + head + `,"ext":"a","e\u0078t":"b","data":{}}`,
	`{` + head + `,"id":5,"id":"a","data":{}}`,
	`{` + head + `,"sequence":"x","sequence":2,"data":{}}`,
	// trailing garbage and broken syntax
	`{` + head + `,"data":{}} x`,
	`{` + head + `,"data":{}}{}`,
	`{` + head + `,"data":{}},`,
	`{` + head + `,"data":{},}`,
	`{` + head + `,"data":{"a":01}}`,
	`{` + head + `,"data":{"a":1.}}`,
	`{` + head + `,"data":{"a":.5}}`,
	`{` + head + `,"data":{"a":1e}}`,
	`{` + head + `,"data":{"a":-}}`,
	`{` + head + `,"data":{"a":+1}}`,
	`{` + head + `,"data":{"a":NaN}}`,
	`{` + head + `,"data":{"a":tru}}`,
	`{` + head + `,"data":{"a":nul}}`,
	`{` + head + `,"data":{"a":falsey}}`,
	`{` + head + `,"data":{"a":"\x"}}`,
	`{` + head + `,"data":{"a":"\u12"}}`,
	`{` + head + `,"data":{"a":"\u12G4"}}`,
	"{" + head + ",\"data\":{\"a\":\"tab\there\"}}",
	"{" + head + ",\"data\":{\"a\":\"nul\x00\"}}",
	`{` + head + `,"data":{"a":[1,]}}`,
	`{` + head + `,"data":{"a":[,1]}}`,
	`{` + head + `,"data":{"a" 1}}`,
	`{` + head + `,"data":{"a":1 "b":2}}`,
	`{` + head + `,"data":{1:2}}`,
	`{` + head + `,"data":{"a":[1}]}`,
	`{` + head + `,"data":{"a":{1]}}`,
	`{` + head + `,"data":{"a":"x}`,
	`{` + head + `,"data":{`,
	`{"a"}`, `{"a":}`, `{,}`, `{"a":1,}`, `{"a":1`, `{"a"`, `{"`, `{`, `}`, `{}}`,
	// not an object
	``, ` `, `null`, ` null `, `[]`, `[1,2]`, `"x"`, `1`, `-1.5e3`, `true`, `false`, `nul`,
	// null values
	`{"specversion":null,"id":null,"source":null,"type":null,"subject":null,"time":null,"datacontenttype":null,"traceparent":null,"tracestate":null,"data":null,"ext":null}`,
	`{` + head + `,"subject":null,"time":null,"data":{}}`,
	// data that is not an object, binary data
	`{` + head + `,"data":"x"}`,
	`{` + head + `,"data":[1]}`,
	`{` + head + `,"data":1}`,
	`{` + head + `,"data_base64":"AA=="}`,
	`{` + head + `,"data_base64":null}`,
	`{` + head + `,"data":null,"data_base64":"AA=="}`,
	`{` + head + `,"data":{},"data_base64":"AA=="}`,
	// attributes of the wrong type
	`{"specversion":1,"id":true,"source":{},"type":[],"subject":2,"datacontenttype":3,"traceparent":4,"tracestate":5,"time":6,"data":{}}`,
	`{` + head + `,"time":"yesterday","data":{}}`,
	`{` + head + `,"time":"2026-01-02t03:04:05z","data":{}}`,
	`{` + head + `,"time":"2026-13-02T03:04:05Z","data":{}}`,
	// extension names and values
	`{` + head + `,"ID":"x","a_b":1,"":2,"abcdefghijklmnopqrstu":3,"é":4,"data":{}}`,
	`{` + head + `,"abcdefghijklmnopqrst":"twenty","data":{}}`,
	`{` + head + `,"s":"str","n":1.5,"i":-3,"e":1e300,"z":-0,"t":true,"f":false,"u":null,"o":{"a":[1,"b"]},"a":[{},[]],"q":"\"<>&\"","data":{}}`,
	`{` + head + `,"big":1e400,"small":-1e400,"tiny":1e-400,"data":{}}`,
	`{` + head + `,"topic":"telemetry/x","pubsubname":"edge-pubsub","traceid":"00-1-2-01","batchid":"b-1","data":{}}`,
	`{` + head + `,"x1":1,"x2":2,"x3":3,"x4":4,"x5":5,"x6":6,"x7":7,"x8":8,"x9":9,"x10":10,"x11":11,"x12":12,"x13":13,"x14":14,"x15":15,"x16":16,"x17":17,"x1":"again","x17":1e999,"data":{}}`,
}

// errLines is err's message with joined errors sorted: both implementations report
// some problems in map order.
func errLines(err error) string {
	if err == nil {
		return "<nil>"
	}
	lines := strings.Split(err.Error(), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkDecodeMatchesReference checks that Decode, json.Unmarshal into an Event and a
// direct UnmarshalJSON all agree with the reference on b. It returns the event if it
// decoded and validated.
func checkDecodeMatchesReference(t *testing.T, b []byte) *cloudevent.Event {
	t.Helper()
	got, err := cloudevent.Decode(b)
	want, werr := decodeReference(b)
	if (err == nil) != (werr == nil) || errLines(err) != errLines(werr) {
		t.Errorf("Decode(%q):\nerror %v\nwant  %v", b, err, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(%q):\ngot  %#v\nwant %#v", b, got, want)
	}

	// json.Unmarshal into an Event, over an event that is not empty
	prior := cloudevent.Event{ID: "prior", Extensions: map[string]any{"p": 1.0}}
	gu, wu := prior, refEvent(prior)
	err, werr = json.Unmarshal(b, &gu), json.Unmarshal(b, &wu)
	if errLines(err) != errLines(werr) || !reflect.DeepEqual(gu, cloudevent.Event(wu)) {
		t.Errorf("json.Unmarshal(%q):\ngot  %v %#v\nwant %v %#v", b, err, gu, werr, wu)
	}
	// UnmarshalJSON called directly, on any bytes at all
	gu, wu = prior, refEvent(prior)
	err, werr = gu.UnmarshalJSON(b), wu.UnmarshalJSON(b)
	if errLines(err) != errLines(werr) || !reflect.DeepEqual(gu, cloudevent.Event(wu)) {
		t.Errorf("UnmarshalJSON(%q):\ngot  %v %#v\nwant %v %#v", b, err, gu, werr, wu)
	}
	if err := (cloudevent.Event{}).Validate(); errLines(err) != errLines(validateReference(cloudevent.Event{})) {
		t.Errorf("Validate of the zero event: %v", err)
	}
	if got.Validate() == nil {
		return &got
	}
	return nil
}

// refError is the reference's error as the real one words it: the reference's
// MarshalJSON is on another type.
func refError(err error) string {
	return strings.ReplaceAll(errLines(err), "cloudevent_test.refEvent", "cloudevent.Event")
}

// sameDocument reports whether two JSON texts unmarshal to the same value.
func sameDocument(t *testing.T, a, b []byte) bool {
	t.Helper()
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		t.Errorf("invalid JSON %q: %v", a, err)
		return false
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		t.Errorf("invalid JSON %q: %v", b, err)
		return false
	}
	return reflect.DeepEqual(av, bv)
}

// checkEncodeMatchesReference checks that Encode and MarshalJSON write what the
// reference wrote (the same JSON document; not the same bytes: the order of the keys
// differs and data is no longer re-compacted), or fail alike; and that what Encode
// wrote decodes to what the reference's output decoded to, bar data, which comes back
// as it was given. It returns that event, nil if e does not encode.
func checkEncodeMatchesReference(t *testing.T, e cloudevent.Event) *cloudevent.Event {
	t.Helper()
	got, err := cloudevent.Encode(e)
	want, werr := encodeReference(e)
	if errLines(err) != refError(werr) {
		t.Errorf("Encode(%#v):\nerror %v\nwant  %v", e, err, werr)
	}
	if err == nil && werr == nil && !sameDocument(t, got, want) {
		t.Errorf("Encode(%#v):\ngot  %s\nwant %s", e, got, want)
	}
	gm, err := e.MarshalJSON()
	wm, werr := refEvent(e).MarshalJSON()
	if errLines(err) != refError(werr) {
		t.Errorf("MarshalJSON(%#v):\nerror %v\nwant  %v", e, err, werr)
	}
	if err == nil && werr == nil && !sameDocument(t, gm, wm) {
		t.Errorf("MarshalJSON(%#v):\ngot  %s\nwant %s", e, gm, wm)
	}
	if got == nil || want == nil {
		return nil
	}
	if !bytes.Equal(got, gm) {
		t.Errorf("Encode and MarshalJSON differ:\n%s\n%s", got, gm)
	}
	back, err := cloudevent.Decode(got)
	wback, werr := decodeReference(want)
	if errLines(err) != errLines(werr) {
		t.Errorf("Decode(Encode(e)): %v, before %v\n%s", err, werr, got)
	}
	if err == nil && !bytes.Equal(back.Data, bytes.TrimSpace(e.Data)) {
		t.Errorf("data %q came back as %q", e.Data, back.Data)
	}
	wback.Data = back.Data
	if !reflect.DeepEqual(back, wback) {
		t.Errorf("Decode(Encode(e)):\ngot  %#v\nwant %#v", back, wback)
	}
	return &back
}

// checkRoundTrip checks that a decoded event encodes like before and decodes back to itself.
func checkRoundTrip(t *testing.T, e cloudevent.Event) {
	t.Helper()
	back := checkEncodeMatchesReference(t, e)
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		// RFC 3339 has four-digit years: "0000-01-01T00:30:00+01:00" decodes, but is in
		// year -1 once in UTC, which Encode writes and Decode refuses, before as now.
		return
	}
	if back == nil {
		t.Fatalf("a decoded event does not encode: %#v", e)
	}
	if !back.Time.Equal(e.Time) {
		t.Errorf("time %v came back as %v", e.Time, back.Time)
	}
	back.Time, e.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(*back, e) {
		t.Errorf("round trip:\ngot  %#v\nwant %#v", *back, e)
	}
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, c := range trickyEvents {
		if e := checkDecodeMatchesReference(t, []byte(c)); e != nil {
			checkRoundTrip(t, *e)
		}
	}
}

func TestDecodeDuplicateKeysLastWins(t *testing.T) {
	e, err := cloudevent.Decode([]byte(`{` + head + `,"id":"first","\u0069d":"last","sequence":"x","sequence":3,` +
		`"batchid":"one","batchid":"two","data":{"v":1},"data":{"v":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "last" || e.Sequence != 3 || e.Extensions["batchid"] != "two" || string(e.Data) != `{"v":2}` {
		t.Errorf("got %+v", e)
	}
}

func TestDecodeNamesTheFieldOfEveryTypeError(t *testing.T) {
	_, err := cloudevent.Decode([]byte(`{"specversion":1,"id":true,"source":{},"type":[],"time":6,"sequence":"x","ext":1e400,"data":{}}`))
	for _, want := range []string{`"specversion": want a string`, `"id": want a string`, `"source": want a string`,
		`"type": want a string`, `"time": want a string`, `"sequence": want an integer, got "x"`, `extension "ext"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %s", err, want)
		}
	}
}

// The nesting limit is encoding/json's: data nested one level deeper than json.Valid
// allows is invalid JSON.
func TestDecodeNestingLimit(t *testing.T) {
	for _, n := range []int{cloudevent.MaxDepth - 2, cloudevent.MaxDepth - 1, cloudevent.MaxDepth} {
		b := []byte(`{` + head + `,"data":` + strings.Repeat(`{"a":[`, n/2) + strings.Repeat(`]}`, n/2) + `}`)
		if n%2 == 1 {
			b = []byte(`{` + head + `,"data":{"a":` + strings.Repeat(`[`, n-1) + strings.Repeat(`]`, n-1) + `}}`)
		}
		_, err := cloudevent.Decode(b)
		if (err == nil) != json.Valid(b) {
			t.Errorf("depth %d: Decode error %v, json.Valid %v", n+1, err, json.Valid(b))
		}
		checkDecodeMatchesReference(t, b)
	}
	for _, n := range []int{cloudevent.MaxDepth, cloudevent.MaxDepth + 1} {
		for _, b := range [][]byte{
			[]byte(strings.Repeat("[", n) + strings.Repeat("]", n)),
			[]byte(strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1)),
		} {
			if got, want := cloudevent.ValidJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d %.3s: ValidJSON %v, json.Valid %v", n, b, got, want)
			}
		}
	}
}

func TestEncodeWritesAttributesInAFixedOrder(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 5000, time.FixedZone("", 3600))
	e := cloudevent.New("k", "w", 9, "src", at, json.RawMessage(" {\"b\": [1, 2], \"a\":\"<&>\"}\n"))
	e.Subject = "sub<ject>"
	e.TraceParent, e.TraceState = "tp", "ts"
	e.Extensions = map[string]any{"zeta": "z", "alpha": 1.5, "mid": []any{true, nil}}
	got, err := cloudevent.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"specversion":"1.0","id":"k/w/9","source":"src","type":"io.edgeframe.telemetry.k.v1",` +
		`"subject":"sub\u003cject\u003e","time":"2026-11-25T09:00:00.000005Z","datacontenttype":"application/json",` +
		`"sequence":9,"traceparent":"tp","tracestate":"ts","alpha":1.5,"mid":[true,null],"zeta":"z",` +
		`"data":{"b": [1, 2], "a":"<&>"}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEncodeRoundTripsExtensionsOfEveryType(t *testing.T) {
	e := cloudevent.New("k", "w", 1, "src", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), json.RawMessage(`{}`))
	e.Extensions = map[string]any{
		"str": "a \"quoted\" <b> & \u2028 \n\t\x01 é 😀", "empty": "", "num": -12.5e-7, "int": 42.0, "zero": 0.0,
		"big": math.MaxFloat64, "yes": true, "no": false, "nothing": nil,
		"obj": map[string]any{"a": []any{1.0, "b", nil, map[string]any{}}, "<": ">"}, "arr": []any{[]any{}, false},
	}
	b, err := cloudevent.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cloudevent.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip:\ngot  %#v\nwant %#v", back, e)
	}
	checkEncodeMatchesReference(t, e)
}

// Encode and MarshalJSON fail as before: same errors, in the same words.
func TestEncodeFailsLikeBefore(t *testing.T) {
	valid := cloudevent.New("k", "w", 1, "src", time.Time{}, json.RawMessage(`{}`))
	with := func(f func(*cloudevent.Event)) cloudevent.Event { e := valid; f(&e); return e }
	for name, e := range map[string]cloudevent.Event{
		"invalid":                  {},
		"data with a vertical tab": with(func(e *cloudevent.Event) { e.Data = json.RawMessage("\v{}") }),
		"data with nbsp":           with(func(e *cloudevent.Event) { e.Data = json.RawMessage("{}\u00a0") }),
		"data not JSON":            with(func(e *cloudevent.Event) { e.Data = json.RawMessage(`{"a":}`) }),
		"data an array":            with(func(e *cloudevent.Event) { e.Data = json.RawMessage(`[1]`) }),
		"data only space":          with(func(e *cloudevent.Event) { e.Data = json.RawMessage(" \n") }),
		"unsupported extension":    with(func(e *cloudevent.Event) { e.Extensions = map[string]any{"ch": make(chan int)} }),
		"NaN extension":            with(func(e *cloudevent.Event) { e.Extensions = map[string]any{"nan": math.NaN()} }),
		"bad extension name":       with(func(e *cloudevent.Event) { e.Extensions = map[string]any{"Bad_Name": 1, "": 2} }),
		"two bad extensions and data": with(func(e *cloudevent.Event) {
			e.Data = json.RawMessage(`nope`)
			e.Extensions = map[string]any{"aaa": make(chan int), "zzz": math.Inf(1)}
		}),
		"bad extension after data": with(func(e *cloudevent.Event) {
			e.Data = json.RawMessage("\v{}")
			e.Extensions = map[string]any{"zzz": math.Inf(1)}
		}),
		"extensions named like attributes": with(func(e *cloudevent.Event) {
			e.Extensions = map[string]any{"id": "ext", "subject": "ext", "time": "ext", "data": 1.0, "tracestate": "ext", "data_base64": "AA=="}
		}),
		"no data, extension data": with(func(e *cloudevent.Event) {
			e.Data = nil
			e.Extensions = map[string]any{"data": map[string]any{"a": 1.0}}
		}),
	} {
		t.Run(name, func(t *testing.T) { checkEncodeMatchesReference(t, e) })
	}
}

func TestDecodeAndEncodeAllocateLittle(t *testing.T) {
	e := benchEvent()
	raw, err := cloudevent.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	// data, the strings, the extensions map (two allocations) and its one value
	if n := testing.AllocsPerRun(100, func() { _, _ = cloudevent.Decode(raw) }); n > 5 {
		t.Errorf("Decode: %v allocations, want at most 5", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = cloudevent.Encode(e) }); n > 1 {
		t.Errorf("Encode: %v allocations, want 1", n)
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range trickyEvents {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := cloudevent.ValidJSON(b), json.Valid(b); got != want {
			t.Errorf("ValidJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "+0", "7", "+12", "-1", "007", "", "+", "-", " 1", "1 ", "0x10", "1_000", "1e2",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := cloudevent.ParseInt(s)
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || ok && n != want {
			t.Errorf("ParseInt(%q) = %d, %v; strconv says %d, %v", s, n, ok, want, err)
		}
	})
}

// FuzzEncode checks Encode and MarshalJSON against the reference on events built from
// arbitrary strings, data and extensions.
func FuzzEncode(f *testing.F) {
	f.Add("a/b/1", "", "batchid", "b-1", int64(1), []byte(`{"a":1}`), int64(0), 0)
	f.Add("<id>&", "sub\u2028", "id", "\xff", int64(-1), []byte("\v{}"), int64(1e18), 3600)
	f.Add("x", "\x00", "data", "", int64(math.MaxInt64), []byte(` {"a" : [1, "<"]} `), int64(-1e18), -1800)
	f.Add("", "s", "Bad", "v", int64(0), []byte(`[1]`), int64(1), 86399)
	f.Add("x", "s", "subject", "v", int64(2), []byte(``), int64(2), 0)
	f.Fuzz(func(t *testing.T, id, subject, ext, val string, seq int64, data []byte, nanos int64, offset int) {
		e := cloudevent.Event{SpecVersion: cloudevent.SpecVersion, ID: id, Source: "src", Type: "t", Subject: subject,
			DataContentType: cloudevent.DataContentType, Data: data, Sequence: seq, TraceParent: val,
			Extensions: map[string]any{ext: val, "n": float64(seq) / 7, "b": len(val)%2 == 0, "o": map[string]any{ext: []any{val}}}}
		if nanos != 0 {
			e.Time = time.Unix(0, nanos).In(time.FixedZone("", offset%86400))
		}
		checkEncodeMatchesReference(t, e)
	})
}

// ExampleEncode shows the wire form: attributes in a fixed order, extensions sorted by
// name, data last and as it was given.
func ExampleEncode() {
	e := cloudevent.New("tempsensor", "dev1", 7, cloudevent.SourceFor("l2", "tempsensor"),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), json.RawMessage(`{"temperature":21.5}`))
	e.Extensions = map[string]any{"batchid": "b-1"}
	b, _ := cloudevent.Encode(e)
	fmt.Println(string(b))
	// Output: {"specversion":"1.0","id":"tempsensor/dev1/7","source":"edgeframe/l2/tempsensor","type":"io.edgeframe.telemetry.tempsensor.v1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","sequence":7,"batchid":"b-1","data":{"temperature":21.5}}
}
