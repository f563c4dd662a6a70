// Package encoding turns OPC UA value changes into the messages opcpublisher publishes:
// OPC UA PubSub JSON network messages (Part 14 §7.2.5: ua-data network messages holding
// ua-keyframe, ua-deltaframe and ua-keepalive data set messages, with a SequenceNumber
// per data set writer and a MetaDataVersion) in OPC Publisher's default or a strict
// Part 14 form, ua-metadata announcements of each writer's DataSetMetaData, and OPC
// Publisher's legacy Samples form. Batcher groups them by count
// and time.
package encoding

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/jsonenc"
)

// Message types.
const (
	TypeData       = "ua-data"
	TypeKeyFrame   = "ua-keyframe"
	TypeDeltaFrame = "ua-deltaframe"
	TypeKeepAlive  = "ua-keepalive"
)

// Value is one value change of one monitored node.
type Value struct {
	// Field is the payload key (DisplayName, else the configured node id).
	Field string
	// NodeID is the node id as configured.
	NodeID string
	Value  any
	// Type and Array are the value's Variant type (Null when there is no value) and
	// whether it is an array: what the writer's metadata says about the field.
	Type            ua.TypeID
	Array           bool
	Status          ua.StatusCode
	SourceTimestamp time.Time
	ServerTimestamp time.Time
}

// Options shape the JSON.
type Options struct {
	// Strict selects the Part 14 compliant form: DataSetWriterId is the numeric writer
	// id (UInt16), StatusCode and Status are numeric and omitted when Good.
	// Otherwise (OPC Publisher's default) DataSetWriterId is the configured string
	// and status codes are {"Code":n,"Symbol":"BadXxx"}.
	Strict bool
	// PublisherID is the network message PublisherId.
	PublisherID string
}

// MetaDataVersion is the ConfigurationVersionDataType of a writer's field set.
type MetaDataVersion struct {
	MajorVersion uint32
	MinorVersion uint32
}

// DataSetMessage is one message of one writer.
type DataSetMessage struct {
	WriterID        string
	WriterIndex     uint16
	SequenceNumber  uint32
	MetaDataVersion MetaDataVersion
	Timestamp       time.Time
	MessageType     string
	Status          ua.StatusCode
	Payload         []Value // empty for keep-alive
}

// NetworkMessage is one ua-data network message of a writer group.
type NetworkMessage struct {
	MessageID   string
	WriterGroup string
	Messages    []DataSetMessage
}

// Encode returns the network message as a JSON object. Payload fields keep the order of
// the values (configuration order in key frames).
func (o Options) Encode(nm NetworkMessage) ([]byte, error) {
	n := 128
	for _, m := range nm.Messages {
		n += 160 + 120*len(m.Payload)
	}
	b := o.appendHeader(make([]byte, 0, n), nm.MessageID, TypeData, nm.WriterGroup)
	b = append(b, `,"Messages":[`...)
	for i, m := range nm.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = o.appendDataSetMessage(b, m)
	}
	b = append(b, "]}"...)
	if !json.Valid(b) {
		return nil, fmt.Errorf("encoding: network message %s: produced invalid JSON", nm.MessageID)
	}
	return b, nil
}

// appendHeader opens a network message: MessageId, MessageType, PublisherId and the
// writer group (OPC Publisher names it DataSetWriterGroup; Part 14 (strict) WriterGroupName).
func (o Options) appendHeader(b []byte, messageID, messageType, group string) []byte {
	b = append(b, `{"MessageId":`...)
	b = jsonenc.AppendString(b, messageID)
	b = append(b, `,"MessageType":`...)
	b = jsonenc.AppendString(b, messageType)
	b = append(b, `,"PublisherId":`...)
	b = jsonenc.AppendString(b, o.PublisherID)
	if o.Strict {
		b = append(b, `,"WriterGroupName":`...)
	} else {
		b = append(b, `,"DataSetWriterGroup":`...)
	}
	return jsonenc.AppendString(b, group)
}

// appendWriterID appends the DataSetWriterId value: the configured string, or in strict
// mode the UInt16 followed by DataSetWriterName (the configured string).
func (o Options) appendWriterID(b []byte, index uint16, id string) []byte {
	if !o.Strict {
		return jsonenc.AppendString(b, id)
	}
	b = strconv.AppendUint(b, uint64(index), 10)
	b = append(b, `,"DataSetWriterName":`...)
	return jsonenc.AppendString(b, id)
}

func (o Options) status(s ua.StatusCode) any {
	if o.Strict {
		return uint32(s)
	}
	return map[string]any{"Code": uint32(s), "Symbol": symbol(s)}
}

// symbol is the OPC UA symbolic name of s (OPC 10000-6 StatusCode.csv): gopcua's Go
// names spell the initialisms ID, URI, URL and TCP in capitals (StatusBadNodeIDInvalid),
// the specification does not (BadNodeIdInvalid).
func symbol(s ua.StatusCode) string {
	if s == ua.StatusOK {
		return "Good"
	}
	if st, ok := ua.StatusCodes[s]; ok {
		return opcSpelling.Replace(strings.TrimPrefix(st.Name, "Status"))
	}
	return "0x" + strconv.FormatUint(uint64(s), 16)
}

var opcSpelling = strings.NewReplacer("ID", "Id", "URI", "Uri", "URL", "Url", "TCP", "Tcp")

// dataValue is the Part 6 JSON DataValue: Value, StatusCode (omitted when Good),
// SourceTimestamp, ServerTimestamp.
func (o Options) dataValue(v Value) map[string]any {
	d := map[string]any{"Value": JSONValue(v.Value)}
	if v.Status != ua.StatusOK {
		d["StatusCode"] = o.status(v.Status)
	}
	if !v.SourceTimestamp.IsZero() {
		d["SourceTimestamp"] = v.SourceTimestamp.UTC().Format(time.RFC3339Nano)
	}
	if !v.ServerTimestamp.IsZero() {
		d["ServerTimestamp"] = v.ServerTimestamp.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// JSONValue maps a decoded variant value to what encoding/json can write, following the
// Part 6 non-reversible JSON rules where Go's defaults differ (NaN and infinities as
// strings, byte strings as base64, node ids and status codes as text).
func JSONValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return x
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *ua.NodeID:
		return x.String()
	case *ua.ExpandedNodeID:
		return x.String()
	case ua.StatusCode:
		return uint32(x)
	case *ua.LocalizedText:
		return x.Text
	case *ua.QualifiedName:
		return x.Name
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = floatValue(f)
		}
		return out
	case []float32:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = floatValue(float64(f))
		}
		return out
	case *ua.Variant:
		return JSONValue(x.Value())
	case []*ua.Variant:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e.Value())
		}
		return out
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprint(v)
	}
	return v
}

func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// Sample is one value change in OPC Publisher's Samples messaging mode.
type Sample struct {
	EndpointURL    string
	WriterID       string
	SequenceNumber uint32
	Value          Value
}

// EncodeSamples returns {"Samples":[...]}: the CloudEvent data must be a JSON object,
// so the Samples array (OPC Publisher's top-level array) is wrapped in one.
func (o Options) EncodeSamples(samples []Sample) ([]byte, error) {
	out := make([]map[string]any, 0, len(samples))
	for _, s := range samples {
		m := map[string]any{
			"NodeId":          s.Value.NodeID,
			"EndpointUrl":     s.EndpointURL,
			"DataSetWriterId": s.WriterID,
			"SequenceNumber":  s.SequenceNumber,
			"Value":           o.dataValue(s.Value),
		}
		if s.Value.Field != s.Value.NodeID {
			m["DisplayName"] = s.Value.Field
		}
		out = append(out, m)
	}
	b, err := json.Marshal(map[string]any{"Samples": out})
	if err != nil {
		return nil, fmt.Errorf("encoding: samples: %w", err)
	}
	return b, nil
}
