package cloudevent_test

// The implementation Decode and Encode had before the single-pass scanner and the
// append-based writer, kept verbatim (bar names) as the reference the differential fuzz
// tests compare against. It is slow and allocates a lot; it is obviously right because it
// is encoding/json all the way down.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
)

var refKnown = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true, "time": true,
	"datacontenttype": true, "data": true, "data_base64": true, "sequence": true,
	"traceparent": true, "tracestate": true,
}

var refExtName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// refEvent gives an Event the reference MarshalJSON / UnmarshalJSON.
type refEvent cloudevent.Event

func (re refEvent) MarshalJSON() ([]byte, error) {
	e := cloudevent.Event(re)
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

// encodeReference is the old Encode.
func encodeReference(e cloudevent.Event) ([]byte, error) {
	if err := validateReference(e); err != nil {
		return nil, err
	}
	return json.Marshal(refEvent(e))
}

func (re *refEvent) UnmarshalJSON(b []byte) error {
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
	*re = refEvent{}
	e := (*cloudevent.Event)(re)
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
		seq, err := refParseSequence(v)
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
		if refKnown[k] {
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

func refParseSequence(v json.RawMessage) (int64, error) {
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

// decodeReference is the old Decode.
func decodeReference(b []byte) (cloudevent.Event, error) {
	var e refEvent
	if !json.Valid(b) {
		return cloudevent.Event(e), errors.New("cloudevent: not a JSON object: invalid JSON")
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return cloudevent.Event(e), err
	}
	return cloudevent.Event(e), validateReference(cloudevent.Event(e))
}

// validateReference is the old Event.Validate.
func validateReference(e cloudevent.Event) error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("cloudevent: field %q: %s", field, msg)) }
	if e.SpecVersion != cloudevent.SpecVersion {
		bad("specversion", fmt.Sprintf("want %q, got %q", cloudevent.SpecVersion, e.SpecVersion))
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
	if e.DataContentType != "" && e.DataContentType != cloudevent.DataContentType {
		bad("datacontenttype", fmt.Sprintf("want %q, got %q", cloudevent.DataContentType, e.DataContentType))
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
		if !refExtName.MatchString(k) {
			bad(k, "extension names are 1-20 lower-case letters or digits")
		}
	}
	return errors.Join(errs...)
}
