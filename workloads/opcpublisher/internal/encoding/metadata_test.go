package encoding_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/encoding"
)

func typed(field string, v any, t ua.TypeID) encoding.Value {
	x := val(field, v)
	x.Type = t
	return x
}

type fieldMeta struct {
	Name        string
	BuiltInType ua.TypeID
	ValueRank   int32
}

// announce runs what the publisher does for one notification: the metadata when due,
// then the data message; it returns the metadata (nil when none was due).
func announce(t *testing.T, w *encoding.Writer, vs ...encoding.Value) (*encoding.DataSetMetaData, encoding.DataSetMessage) {
	t.Helper()
	md, due := w.MetaData(vs)
	m := w.Data(vs, t0)
	if due {
		if md.ConfigurationVersion != m.MetaDataVersion {
			t.Fatalf("metadata version %+v, the data message after it carries %+v", md.ConfigurationVersion, m.MetaDataVersion)
		}
		return &md, m
	}
	return nil, m
}

func fields(md *encoding.DataSetMetaData) []fieldMeta {
	out := []fieldMeta{}
	for _, f := range md.Fields {
		out = append(out, fieldMeta{f.Name, f.BuiltInType, f.ValueRank})
	}
	return out
}

func TestMetaDataAnnouncedFirstAndOnEveryChange(t *testing.T) {
	w := encoding.NewWriter(encoding.WriterConfig{Group: "g", ID: "w1", Fields: []string{"a", "b"}})
	// First data: announced as 1.0, with the types the values show; b has no value yet.
	md, m := announce(t, w, typed("a", 1.5, ua.TypeIDDouble))
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 1}) || md.Name != "w1" || md.WriterID != "w1" {
		t.Fatalf("first metadata %+v", md)
	}
	if got, want := fields(md), []fieldMeta{{"a", ua.TypeIDDouble, -1}, {"b", 0, -2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("fields %+v, want %+v", got, want)
	}
	// Same types again: nothing to announce, version unchanged.
	if md, m2 := announce(t, w, typed("a", 2.5, ua.TypeIDDouble)); md != nil || m2.MetaDataVersion != m.MetaDataVersion {
		t.Fatalf("unchanged metadata announced again: %+v, version %+v", md, m2.MetaDataVersion)
	}
	// b's type becomes known: minor bump (1.1); an array value has ValueRank 1.
	arr := typed("b", []int32{1, 2}, ua.TypeIDInt32)
	arr.Array = true
	md, _ = announce(t, w, arr)
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 1, MinorVersion: 1}) {
		t.Fatalf("type learnt: metadata %+v", md)
	}
	if got := fields(md)[1]; got != (fieldMeta{"b", ua.TypeIDInt32, 1}) {
		t.Fatalf("field b %+v", got)
	}
	// A node added (publishednodes.json change): minor bump, announced once with the
	// new field's type even though that value also teaches a type.
	w.Reconfigure(encoding.WriterConfig{Group: "g", ID: "w1", Fields: []string{"a", "b", "c"}})
	md, _ = announce(t, w, typed("c", "x", ua.TypeIDString))
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 1, MinorVersion: 2}) || len(md.Fields) != 3 ||
		fields(md)[2] != (fieldMeta{"c", ua.TypeIDString, -1}) {
		t.Fatalf("after adding c: %+v", md)
	}
	// A field's type changes: major bump (2.0).
	md, _ = announce(t, w, typed("a", int64(3), ua.TypeIDInt64))
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 2}) || fields(md)[0] != (fieldMeta{"a", ua.TypeIDInt64, -1}) {
		t.Fatalf("after a type change: %+v", md)
	}
	// A value without a type (bad status) changes nothing.
	if md, _ := announce(t, w, val("a", nil)); md != nil {
		t.Fatalf("a value without a type announced %+v", md)
	}
	// A node removed: major bump (3.0), the field gone.
	w.Reconfigure(encoding.WriterConfig{Group: "g", ID: "w1", Fields: []string{"a", "c"}})
	md, _ = announce(t, w, typed("a", int64(4), ua.TypeIDInt64))
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 3}) ||
		!reflect.DeepEqual(fields(md), []fieldMeta{{"a", ua.TypeIDInt64, -1}, {"c", ua.TypeIDString, -1}}) {
		t.Fatalf("after removing b: %+v", md)
	}
	// A node added whose first value has not come yet: data of the other fields keeps
	// the announced version; the new field's first value announces it (3.1) with its type.
	w.Reconfigure(encoding.WriterConfig{Group: "g", ID: "w1", Fields: []string{"a", "c", "d"}})
	if md, m := announce(t, w, typed("a", int64(5), ua.TypeIDInt64)); md != nil || m.MetaDataVersion != (encoding.MetaDataVersion{MajorVersion: 3}) {
		t.Fatalf("announced %+v before d's type was known; data version %+v", md, m.MetaDataVersion)
	}
	md, _ = announce(t, w, typed("d", true, ua.TypeIDBoolean))
	if md == nil || md.ConfigurationVersion != (encoding.MetaDataVersion{MajorVersion: 3, MinorVersion: 1}) || fields(md)[2] != (fieldMeta{"d", ua.TypeIDBoolean, -1}) {
		t.Fatalf("after d's first value: %+v", md)
	}
}

func TestMetaDataMessageShapeDefaultAndStrict(t *testing.T) {
	md := encoding.DataSetMetaData{WriterID: "opc.tcp://plc:50000_1000", WriterIndex: 3, Name: "opc.tcp://plc:50000_1000",
		ConfigurationVersion: encoding.MetaDataVersion{MajorVersion: 2, MinorVersion: 1},
		Fields: []encoding.FieldMetaData{{Name: "Temp", BuiltInType: ua.TypeIDDouble, ValueRank: -1},
			{Name: "Any", BuiltInType: 0, ValueRank: -2}}}
	type msg struct {
		MessageID, MessageType, PublisherID string `json:"-"`
		DataSetWriterID                     any    `json:"DataSetWriterId"`
		DataSetWriterName                   string
		DataSetWriterGroup, WriterGroupName string
		MetaData                            struct {
			Name   string
			Fields []struct {
				Name, DataType, DataTypeName string
				BuiltInType, FieldFlags      int
				ValueRank                    int32
			}
			ConfigurationVersion struct{ MajorVersion, MinorVersion uint32 }
		}
	}
	for _, strict := range []bool{false, true} {
		b, err := encoding.Options{Strict: strict, PublisherID: "pub"}.EncodeMetaData("g-7", "g", md)
		if err != nil {
			t.Fatal(err)
		}
		var head map[string]any
		var m msg
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if head["MessageId"] != "g-7" || head["MessageType"] != "ua-metadata" || head["PublisherId"] != "pub" {
			t.Fatalf("strict=%v header %s", strict, b)
		}
		if strict {
			if m.DataSetWriterID != float64(3) || m.DataSetWriterName != md.WriterID || m.WriterGroupName != "g" {
				t.Fatalf("strict writer id %s", b)
			}
		} else if m.DataSetWriterID != md.WriterID || m.DataSetWriterGroup != "g" {
			t.Fatalf("writer id %s", b)
		}
		f := m.MetaData.Fields
		if m.MetaData.Name != md.Name || len(f) != 2 || m.MetaData.ConfigurationVersion.MajorVersion != 2 || m.MetaData.ConfigurationVersion.MinorVersion != 1 {
			t.Fatalf("metadata %s", b)
		}
		if f[0].Name != "Temp" || f[0].BuiltInType != 11 || f[0].DataType != "i=11" || f[0].DataTypeName != "Double" || f[0].ValueRank != -1 ||
			f[1].BuiltInType != 0 || f[1].DataType != "i=24" || f[1].DataTypeName != "BaseDataType" || f[1].ValueRank != -2 {
			t.Fatalf("fields %s", b)
		}
	}
}
