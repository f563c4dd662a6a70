package encoding

import (
	"slices"
	"sync"
	"time"
)

// WriterConfig describes one data set writer (one publishednodes.json entry).
type WriterConfig struct {
	Group       string
	ID          string // DataSetWriterId as configured
	Index       uint16 // numeric DataSetWriterId for strict mode
	EndpointURL string
	// KeyFrameCount: every KeyFrameCount-th data message is a key frame carrying every
	// field's last value; 0 = only the first message (and the first after a gap).
	KeyFrameCount int
	// Fields is the writer's field set (payload keys), in configuration order.
	Fields []string
}

// Writer is the state of one data set writer: its sequence number, the last value of
// each field (for key frames) and its metadata version. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	cfg     WriterConfig
	seq     uint32 // last sequence number used
	sinceKF int    // data messages since the last key frame; -1 = next is a key frame
	last    map[string]Value
	version MetaDataVersion
	// types is each field's type as its values show it; announced is the field list of
	// the last metadata announcement (nil: none yet), whose version is version.
	types     map[string]fieldType
	announced []FieldMetaData
}

// NewWriter starts a writer at sequence number 1 with metadata version 1.0.
func NewWriter(cfg WriterConfig) *Writer {
	return &Writer{cfg: cfg, sinceKF: -1, last: map[string]Value{}, version: MetaDataVersion{MajorVersion: 1},
		types: map[string]fieldType{}}
}

// Config is the writer's current configuration.
func (w *Writer) Config() WriterConfig {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg
}

// Reconfigure applies a changed configuration. A changed field set makes the next
// message a key frame; its metadata version is bumped when MetaData announces it
// (major for removed fields, minor for added ones: Part 14 ConfigurationVersion).
func (w *Writer) Reconfigure(cfg WriterConfig) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.cfg.Fields
	removed, added := false, false
	for _, f := range old {
		if !slices.Contains(cfg.Fields, f) {
			removed = true
			delete(w.last, f)
			delete(w.types, f)
		}
	}
	for _, f := range cfg.Fields {
		if !slices.Contains(old, f) {
			added = true
		}
	}
	if removed || added || cfg.KeyFrameCount != w.cfg.KeyFrameCount {
		w.sinceKF = -1
	}
	w.cfg = cfg
}

// MetaData records the types values show for their fields and returns the writer's
// metadata when it must be announced before the data message carrying these values:
// the first time, and when the field set or a field's type differs from the last
// announcement (a field removed or a known type changed bumps the major version,
// anything else the minor). A field added by Reconfigure whose type is not known yet
// is announced once its first value (with its type) arrives, or with the next change,
// so adding a node is announced once, with its type; data messages carry the announced
// version until then.
func (w *Writer) MetaData(values []Value) (DataSetMetaData, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range values {
		if v.Type == 0 {
			continue // no value (a bad status): says nothing about the type
		}
		ft := fieldType{builtIn: v.Type, rank: -1}
		if v.Array {
			ft.rank = 1
		}
		w.types[v.Field] = ft
	}
	cur := make([]FieldMetaData, 0, len(w.cfg.Fields))
	allTyped := true
	for _, f := range w.cfg.Fields {
		ft, ok := w.types[f]
		if !ok {
			ft, allTyped = fieldType{rank: -2}, false // unknown yet: BaseDataType, any value rank
		}
		cur = append(cur, FieldMetaData{Name: f, BuiltInType: ft.builtIn, ValueRank: ft.rank})
	}
	if w.announced != nil {
		if slices.Equal(cur, w.announced) {
			return DataSetMetaData{}, false
		}
		prev := make(map[string]FieldMetaData, len(w.announced))
		for _, f := range w.announced {
			prev[f.Name] = f
		}
		now := make(map[string]FieldMetaData, len(cur))
		major := false
		for _, f := range cur {
			now[f.Name] = f
			if p, ok := prev[f.Name]; ok && p.BuiltInType != 0 && p != f {
				major = true // a known type changed
			}
		}
		for name := range prev {
			if _, ok := now[name]; !ok {
				major = true // a field removed
			}
		}
		touched := false
		for _, v := range values {
			if p, ok := prev[v.Field]; !ok || p != now[v.Field] {
				touched = true
			}
		}
		if !major && !allTyped && !touched {
			return DataSetMetaData{}, false // a new field's type is still unknown and this data does not carry it
		}
		if major {
			w.version = MetaDataVersion{MajorVersion: w.version.MajorVersion + 1}
		} else {
			w.version.MinorVersion++
		}
	}
	w.announced = cur
	return DataSetMetaData{WriterID: w.cfg.ID, WriterIndex: w.cfg.Index, Name: w.cfg.ID, ConfigurationVersion: w.version,
		Fields: slices.Clone(cur)}, true
}

// Data returns the data set message for values that changed together (one
// notification): a key frame (every field's last value) or a delta frame (just these).
func (w *Writer) Data(values []Value, now time.Time) DataSetMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range values {
		w.last[v.Field] = v
	}
	key := w.sinceKF < 0 || (w.cfg.KeyFrameCount > 0 && w.sinceKF+1 >= w.cfg.KeyFrameCount)
	m := w.header(now)
	w.seq++
	m.SequenceNumber = w.seq
	if key {
		w.sinceKF = 0
		m.MessageType = TypeKeyFrame
		m.Payload = make([]Value, 0, len(w.last))
		for _, f := range w.cfg.Fields {
			if v, ok := w.last[f]; ok {
				m.Payload = append(m.Payload, v)
			}
		}
	} else {
		w.sinceKF++
		m.MessageType = TypeDeltaFrame
		m.Payload = values
	}
	return m
}

// KeepAlive returns a ua-keepalive message. As Part 14 specifies, it carries the
// sequence number the next data message will have and does not consume it.
func (w *Writer) KeepAlive(now time.Time) DataSetMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.header(now)
	m.MessageType = TypeKeepAlive
	m.SequenceNumber = w.seq + 1
	return m
}

// Gap records that the source was unreachable for missed publishing intervals: the
// sequence number skips them, so a subscriber sees the data gap as missing sequence
// numbers, and the next data message is a key frame. It returns the last sequence
// number before and the next one after the gap.
func (w *Writer) Gap(missed uint32) (last, next uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	last = w.seq
	w.seq += missed
	w.sinceKF = -1
	return last, w.seq + 1
}

// Sample returns the next sequence number for a Samples-mode value.
func (w *Writer) Sample() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return w.seq
}

func (w *Writer) header(now time.Time) DataSetMessage {
	return DataSetMessage{WriterID: w.cfg.ID, WriterIndex: w.cfg.Index, MetaDataVersion: w.version, Timestamp: now}
}
