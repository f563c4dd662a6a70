package encoding

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/jsonenc"
)

// The network message is written straight into a byte slice: at 10,000 value changes/s
// building a map per value (and letting encoding/json reflect over it) dominated the
// publisher's allocations and its peak memory.

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// appendValue writes a variant value; the common scalar types without allocating,
// everything else through JSONValue and encoding/json.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		return appendFloat(b, float64(x), 32)
	case float64:
		return appendFloat(b, x, 64)
	case string:
		return jsonenc.AppendString(b, x)
	case time.Time:
		return appendTime(b, x)
	case []uint32:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(e), 10)
		}
		return append(b, ']')
	}
	j, err := json.Marshal(JSONValue(v))
	if err != nil {
		return jsonenc.AppendString(b, "unencodable value")
	}
	return append(b, j...)
}

func (o Options) appendStatus(b []byte, s ua.StatusCode) []byte {
	if o.Strict {
		return strconv.AppendUint(b, uint64(s), 10)
	}
	b = append(b, `{"Code":`...)
	b = strconv.AppendUint(b, uint64(s), 10)
	b = append(b, `,"Symbol":`...)
	b = jsonenc.AppendString(b, symbol(s))
	return append(b, '}')
}

func (o Options) appendDataValue(b []byte, v Value) []byte {
	b = append(b, `{"Value":`...)
	b = appendValue(b, v.Value)
	if v.Status != ua.StatusOK {
		b = append(b, `,"StatusCode":`...)
		b = o.appendStatus(b, v.Status)
	}
	if !v.SourceTimestamp.IsZero() {
		b = append(b, `,"SourceTimestamp":`...)
		b = appendTime(b, v.SourceTimestamp)
	}
	if !v.ServerTimestamp.IsZero() {
		b = append(b, `,"ServerTimestamp":`...)
		b = appendTime(b, v.ServerTimestamp)
	}
	return append(b, '}')
}

func (o Options) appendDataSetMessage(b []byte, m DataSetMessage) []byte {
	b = append(b, `{"DataSetWriterId":`...)
	b = o.appendWriterID(b, m.WriterIndex, m.WriterID)
	b = append(b, `,"SequenceNumber":`...)
	b = strconv.AppendUint(b, uint64(m.SequenceNumber), 10)
	b = append(b, `,"MetaDataVersion":{"MajorVersion":`...)
	b = strconv.AppendUint(b, uint64(m.MetaDataVersion.MajorVersion), 10)
	b = append(b, `,"MinorVersion":`...)
	b = strconv.AppendUint(b, uint64(m.MetaDataVersion.MinorVersion), 10)
	b = append(b, `},"MessageType":`...)
	b = jsonenc.AppendString(b, m.MessageType)
	b = append(b, `,"Timestamp":`...)
	b = appendTime(b, m.Timestamp)
	if m.Status != ua.StatusOK {
		b = append(b, `,"Status":`...)
		b = o.appendStatus(b, m.Status)
	}
	if m.MessageType != TypeKeepAlive {
		b = append(b, `,"Payload":{`...)
		for i, v := range m.Payload {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, v.Field)
			b = append(b, ':')
			b = o.appendDataValue(b, v)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// EstimateBytes is an upper estimate of a data set message's encoded size (with its
// share of the network message envelope) for the usual scalar values: what
// Batcher.MaxBytes is checked against.
func EstimateBytes(m DataSetMessage) int {
	n := 400 + 2*len(m.WriterID)
	for _, v := range m.Payload {
		n += 110 + 2*len(v.Field)
		if s, ok := v.Value.(string); ok {
			n += 2 * len(s)
		} else if v.Value != nil {
			if _, scalar := v.Value.(float64); !scalar {
				n += 16
			}
		}
	}
	return n
}

// EstimateSampleBytes is EstimateBytes for a Samples-mode value.
func EstimateSampleBytes(s Sample) int {
	n := 250 + len(s.EndpointURL) + len(s.WriterID) + 2*len(s.Value.NodeID) + 2*len(s.Value.Field)
	if str, ok := s.Value.Value.(string); ok {
		n += 2 * len(str)
	}
	return n
}
