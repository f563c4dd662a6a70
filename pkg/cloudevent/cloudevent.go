// Package cloudevent is the CloudEvents 1.0 model every edgeframe producer publishes and
// the gateway decodes. Producers publish complete events (application/cloudevents+json)
// so the id is theirs and stable end to end (see docs: conventions, "Topics and messages").
package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

const (
	// SpecVersion is the only CloudEvents version edgeframe speaks.
	SpecVersion = "1.0"
	// ContentType is the structured-mode media type producers publish with.
	ContentType = "application/cloudevents+json"
	// DataContentType is the content type of every event's data.
	DataContentType = "application/json"
)

// Event is one CloudEvent in structured JSON mode. Data is always a JSON object.
type Event struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Subject         string
	Time            time.Time
	DataContentType string
	Data            json.RawMessage
	// Sequence is the producer's per-writer sequence number (extension "sequence").
	Sequence int64
	// TraceParent and TraceState carry W3C trace context (extensions).
	TraceParent string
	TraceState  string
	// Extensions holds every other extension attribute, by lower-case name.
	Extensions map[string]any
}

// NewID builds the stable message id `<kind>/<writer>/<sequence>`.
func NewID(kind, writer string, seq int64) string {
	return kind + "/" + writer + "/" + strconv.FormatInt(seq, 10)
}

// SourceFor is the event source of an app at a level: `edgeframe/<level>/<app-id>`.
func SourceFor(level, appID string) string { return "edgeframe/" + level + "/" + appID }

// TypeFor is the event type of a telemetry kind: `io.edgeframe.telemetry.<kind>.v1`.
func TypeFor(kind string) string { return "io.edgeframe.telemetry." + kind + ".v1" }

// New returns an event with the conventional attributes filled in.
func New(kind, writer string, seq int64, source string, t time.Time, data json.RawMessage) Event {
	return Event{
		SpecVersion:     SpecVersion,
		ID:              NewID(kind, writer, seq),
		Source:          source,
		Type:            TypeFor(kind),
		Time:            t.UTC(),
		DataContentType: DataContentType,
		Data:            data,
		Sequence:        seq,
	}
}

// known attribute names; everything else is an extension.
var known = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true, "time": true,
	"datacontenttype": true, "data": true, "data_base64": true, "sequence": true,
	"traceparent": true, "tracestate": true,
}

var extName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// MarshalJSON writes the structured-mode JSON form.
func (e Event) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 10+len(e.Extensions))
	for k, v := range e.Extensions {
		m[k] = v
	}
	m["specversion"] = e.SpecVersion
	m["id"] = e.ID
	m["source"] = e.Source
	m["type"] = e.Type
	if e.Subject != "" {
		m["subject"] = e.Subject
	}
	if !e.Time.IsZero() {
		m["time"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	if e.DataContentType != "" {
		m["datacontenttype"] = e.DataContentType
	}
	if len(e.Data) > 0 {
		m["data"] = e.Data
	}
	m["sequence"] = e.Sequence
	if e.TraceParent != "" {
		m["traceparent"] = e.TraceParent
	}
	if e.TraceState != "" {
		m["tracestate"] = e.TraceState
	}
	return json.Marshal(m)
}

// Encode is json.Marshal for an event, after Validate.
func Encode(e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// UnmarshalJSON reads the structured-mode JSON form. It is lenient about types that
// intermediaries rewrite (a sequence sent as a string) but keeps every attribute.
func (e *Event) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("cloudevent: not a JSON object: %w", err)
	}
	str := func(name string) (string, error) {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("cloudevent: field %q: want a string: %w", name, err)
		}
		return s, nil
	}
	var errs []error
	get := func(name string, dst *string) {
		s, err := str(name)
		if err != nil {
			errs = append(errs, err)
		}
		*dst = s
	}
	*e = Event{}
	get("specversion", &e.SpecVersion)
	get("id", &e.ID)
	get("source", &e.Source)
	get("type", &e.Type)
	get("subject", &e.Subject)
	get("datacontenttype", &e.DataContentType)
	get("traceparent", &e.TraceParent)
	get("tracestate", &e.TraceState)
	var ts string
	get("time", &ts)
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			errs = append(errs, fmt.Errorf("cloudevent: field \"time\": %w", err))
		}
		e.Time = t
	}
	if v, ok := raw["sequence"]; ok {
		seq, err := parseSequence(v)
		if err != nil {
			errs = append(errs, err)
		}
		e.Sequence = seq
	}
	if v, ok := raw["data"]; ok && string(v) != "null" {
		e.Data = append(json.RawMessage(nil), v...)
	} else if _, ok := raw["data_base64"]; ok {
		errs = append(errs, errors.New("cloudevent: field \"data_base64\": binary data is not supported, data must be a JSON object"))
	}
	for k, v := range raw {
		if known[k] {
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			errs = append(errs, fmt.Errorf("cloudevent: extension %q: %w", k, err))
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions[k] = x
	}
	return errors.Join(errs...)
}

func parseSequence(v json.RawMessage) (int64, error) {
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return 0, fmt.Errorf("cloudevent: field \"sequence\": %w", err)
	}
	switch t := x.(type) {
	case json.Number:
		n = t
	case string:
		n = json.Number(t)
	default:
		return 0, fmt.Errorf("cloudevent: field \"sequence\": want an integer, got %s", string(v))
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("cloudevent: field \"sequence\": want an integer, got %s", string(v))
	}
	return i, nil
}

// Decode parses and validates one structured-mode event.
func Decode(b []byte) (Event, error) {
	var e Event
	if !json.Valid(b) {
		return e, errors.New("cloudevent: not a JSON object: invalid JSON")
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, err
	}
	return e, e.Validate()
}

// Validate reports every problem with the event at once, each naming its field.
func (e Event) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("cloudevent: field %q: %s", field, msg)) }
	if e.SpecVersion != SpecVersion {
		bad("specversion", fmt.Sprintf("want %q, got %q", SpecVersion, e.SpecVersion))
	}
	if e.ID == "" {
		bad("id", "required")
	}
	if e.Source == "" {
		bad("source", "required")
	}
	if e.Type == "" {
		bad("type", "required")
	}
	if e.DataContentType != "" && e.DataContentType != DataContentType {
		bad("datacontenttype", fmt.Sprintf("want %q, got %q", DataContentType, e.DataContentType))
	}
	if len(e.Data) == 0 {
		bad("data", "required")
	} else if t := bytes.TrimSpace(e.Data); len(t) == 0 || t[0] != '{' {
		bad("data", "must be a JSON object")
	} else if !json.Valid(t) {
		bad("data", "is not valid JSON")
	}
	if e.Sequence < 0 {
		bad("sequence", fmt.Sprintf("must not be negative, got %d", e.Sequence))
	}
	for k := range e.Extensions {
		if !extName.MatchString(k) {
			bad(k, "extension names are 1-20 lower-case letters or digits")
		}
	}
	return errors.Join(errs...)
}
