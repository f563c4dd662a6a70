package plc

import (
	"bytes"
	"strings"
	"time"
)

// specialRate is how often the special and GUID nodes change, as in OPC PLC.
const specialRate = time.Second

// LongIDLength is the length of the LongId3950 node's string identifier.
const LongIDLength = 3950

// LongID is the identifier of the --lid node: A…Z repeated to LongIDLength characters.
func LongID() string {
	var b strings.Builder
	for i := 0; i < LongIDLength; i++ {
		b.WriteByte(byte('A' + i%26))
	}
	return b.String()
}

// OpaqueID is the identifier (raw bytes) of the --on node.
const OpaqueID = "abc"

// longStrings are the --lsn nodes: name, data type and size in bytes.
var longStrings = []struct {
	name string
	dt   DataType
	size int
}{
	{"LongString10kB", String, 10 << 10},
	{"LongString50kB", String, 50 << 10},
	{"LongString100kB", ByteString, 100 << 10},
	{"LongString200kB", Byte, 200 << 10}, // an array of Byte, as in OPC PLC
}

func longValue(dt DataType, c byte, size int) any {
	b := bytes.Repeat([]byte{c}, size)
	switch dt {
	case String:
		return string(b)
	case ByteString:
		return b
	}
	return ByteArray(b)
}

// special builds OPC PLC's optional special nodes: Telemetry/Special/{LongId3950 (--lid),
// Opaque_abc (--on), LongString10kB…200kB (--lsn)} and Telemetry/Deterministic GUID/<guid>
// (--gn). The UInt32 ones count up every second, the long strings change to another
// repeated capital letter every second; all are writable, as in OPC PLC.
func (s *Simulator) special() *group {
	c := s.cfg
	var counters, strs []*Node
	if c.LongID || c.Opaque || c.LongStrings {
		s.folder("Special", "Special", "Telemetry")
	}
	if c.LongID {
		id := LongID()
		n := s.variable(id, "Special", UInt32, "Constantly increasing value", specialRate, uint32(0))
		n.Display = "LongId3950"
		counters = append(counters, n)
	}
	if c.Opaque {
		n := s.add(&Node{ID: OpaqueID, IDType: IDOpaque, Name: "Opaque_abc", Parent: "Special", DataType: UInt32,
			Description: "Constantly increasing value", Interval: specialRate})
		s.values[n.index] = Value{V: uint32(0), HasValue: true}
		counters = append(counters, n)
	}
	if c.LongStrings {
		for _, l := range longStrings {
			n := s.variable(l.name, "Special", l.dt, "Long string", specialRate, longValue(l.dt, 'A', l.size))
			n.Array = l.dt == Byte
			strs = append(strs, n)
		}
	}
	if c.GUIDNodes > 0 {
		s.folder("Deterministic GUID", "Deterministic GUID", "Telemetry")
		for _, g := range GUIDs(c.GUIDNodes) {
			n := s.add(&Node{ID: g, IDType: IDGUID, Name: strings.ToLower(g), Parent: "Deterministic GUID", DataType: UInt32,
				Description: "Constantly increasing value", Interval: specialRate})
			s.values[n.index] = Value{V: uint32(0), HasValue: true}
			counters = append(counters, n)
		}
	}
	if len(counters)+len(strs) == 0 {
		return nil
	}
	for _, n := range append(counters, strs...) {
		n.Writable = true
	}
	return &group{name: "Special", period: specialRate, step: func(t time.Time) []string {
		ids := make([]string, 0, len(counters)+len(strs))
		for _, n := range counters {
			v, _ := s.values[n.index].V.(uint32)
			ids = append(ids, s.set(n, v+1, StatusGood, true, t))
		}
		for i, n := range strs {
			ids = append(ids, s.set(n, longValue(n.DataType, byte('A'+s.rnd.IntN(26)), longStrings[i].size), StatusGood, true, t))
		}
		return ids
	}}
}
