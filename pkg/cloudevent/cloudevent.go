// Package cloudevent is the CloudEvents 1.0 model every edgeframe producer publishes and
// the gateway decodes. Producers publish complete events (application/cloudevents+json)
// so the id is theirs and stable end to end (see docs: conventions, "Topics and messages").
package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// Validate reports every problem with the event at once, each naming its field.
func (e Event) Validate() error { return e.validate(false) }

// validate is Validate; dataIsJSON says Data is known to be one valid JSON value (Decode
// cut it out of a document it validated), which spares a second pass over it.
func (e *Event) validate(dataIsJSON bool) error {
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
	} else if !dataIsJSON && !validJSON(t) {
		bad("data", "is not valid JSON")
	}
	if e.Sequence < 0 {
		bad("sequence", fmt.Sprintf("must not be negative, got %d", e.Sequence))
	}
	for k := range e.Extensions {
		if !isExtensionName(k) {
			bad(k, "extension names are 1-20 lower-case letters or digits")
		}
	}
	return errors.Join(errs...)
}

// isExtensionName reports whether name is 1-20 lower-case ASCII letters or digits.
func isExtensionName(name string) bool {
	if len(name) == 0 || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
