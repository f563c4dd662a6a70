package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/edgeframe/edgeframe/pkg/jsonenc"
)

// Encoding appends the attributes to one buffer in a fixed order — specversion, id,
// source, type, subject, time, datacontenttype, sequence, traceparent, tracestate, the
// extensions sorted by name, data last — escaping strings exactly as encoding/json does
// (including its HTML escaping of <, > and &). Data is written as it is, not re-compacted:
// Encode has validated it already. Only an extension value other than a string goes
// through json.Marshal.

// MarshalJSON writes the structured-mode JSON form.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, e.sizeHint()), false)
}

// Encode is Validate, then MarshalJSON; an error is worded as json.Marshal words it.
func Encode(e Event) ([]byte, error) {
	if err := e.validate(false); err != nil {
		return nil, err
	}
	b, err := e.appendJSON(make([]byte, 0, e.sizeHint()), true)
	if err != nil {
		// what json.Marshal says of an error from a MarshalJSON method
		return nil, &json.MarshalerError{Type: reflect.TypeFor[Event](), Err: err}
	}
	return b, nil
}

// sizeHint is about the length of e encoded, so that encoding allocates once.
func (e *Event) sizeHint() int {
	n := 200 + len(e.SpecVersion) + len(e.ID) + len(e.Source) + len(e.Type) + len(e.Subject) +
		len(e.DataContentType) + len(e.TraceParent) + len(e.TraceState) + len(e.Data)
	for k, v := range e.Extensions {
		n += len(k) + 4
		if s, ok := v.(string); ok {
			n += len(s) + 3
		} else {
			n += 24
		}
	}
	return n
}

// shadowed reports whether extension name is also an attribute e writes: then, as
// before, the attribute wins and the extension is not written.
func (e *Event) shadowed(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "sequence":
		return true
	case "subject":
		return e.Subject != ""
	case "time":
		return !e.Time.IsZero()
	case "datacontenttype":
		return e.DataContentType != ""
	case "data":
		return len(e.Data) > 0
	case "traceparent":
		return e.TraceParent != ""
	case "tracestate":
		return e.TraceState != ""
	}
	return false
}

// appendJSON appends e in structured mode to b. validated says Validate passed, so Data
// is a valid JSON object once bytes.TrimSpace has cut Unicode space off its ends.
func (e *Event) appendJSON(b []byte, validated bool) ([]byte, error) {
	data := trimSpace(e.Data)
	var dataErr error
	if len(e.Data) > 0 {
		ok := false
		if validated {
			// valid unless the ends held Unicode space that JSON does not allow
			ok = len(data) == len(bytes.TrimSpace(e.Data))
		} else {
			ok = validJSON(data)
		}
		if !ok {
			// what json.Marshal says of this data, for want of a better word
			if _, dataErr = json.Marshal(json.RawMessage(e.Data)); dataErr == nil {
				dataErr = errors.New("json: invalid data")
			}
		}
	}

	b = append(b, `{"specversion":`...)
	b = jsonenc.AppendString(b, e.SpecVersion)
	b = append(b, `,"id":`...)
	b = jsonenc.AppendString(b, e.ID)
	b = append(b, `,"source":`...)
	b = jsonenc.AppendString(b, e.Source)
	b = append(b, `,"type":`...)
	b = jsonenc.AppendString(b, e.Type)
	if e.Subject != "" {
		b = append(b, `,"subject":`...)
		b = jsonenc.AppendString(b, e.Subject)
	}
	if !e.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if e.DataContentType != "" {
		b = append(b, `,"datacontenttype":`...)
		b = jsonenc.AppendString(b, e.DataContentType)
	}
	b = append(b, `,"sequence":`...)
	b = strconv.AppendInt(b, e.Sequence, 10)
	if e.TraceParent != "" {
		b = append(b, `,"traceparent":`...)
		b = jsonenc.AppendString(b, e.TraceParent)
	}
	if e.TraceState != "" {
		b = append(b, `,"tracestate":`...)
		b = jsonenc.AppendString(b, e.TraceState)
	}
	if len(e.Extensions) > 0 {
		var small [8]string
		names := small[:0]
		for k := range e.Extensions {
			if !e.shadowed(k) {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			b = append(b, ',')
			b = jsonenc.AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, e.Extensions[k]); err != nil {
				// json.Marshal of the old map[string]any failed on the first key in order
				if dataErr != nil && "data" < k {
					return nil, dataErr
				}
				return nil, err
			}
		}
	}
	if dataErr != nil {
		return nil, dataErr
	}
	if len(e.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}'), nil
}

// appendValue appends v as json.Marshal encodes it.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return jsonenc.AppendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}
