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
}

// NewWriter starts a writer at sequence number 1 with metadata version 1.0.
func NewWriter(cfg WriterConfig) *Writer {
	return &Writer{cfg: cfg, sinceKF: -1, last: map[string]Value{}, version: MetaDataVersion{MajorVersion: 1}}
}

// Config is the writer's current configuration.
func (w *Writer) Config() WriterConfig {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg
}

// Reconfigure applies a changed configuration. A field set that lost or changed fields
// bumps the major metadata version, one that only gained fields the minor version
// (Part 14 ConfigurationVersion); either way the next message is a key frame.
func (w *Writer) Reconfigure(cfg WriterConfig) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.cfg.Fields
	removed, added := false, false
	for _, f := range old {
		if !slices.Contains(cfg.Fields, f) {
			removed = true
			delete(w.last, f)
		}
	}
	for _, f := range cfg.Fields {
		if !slices.Contains(old, f) {
			added = true
		}
	}
	switch {
	case removed:
		w.version = MetaDataVersion{MajorVersion: w.version.MajorVersion + 1}
	case added:
		w.version.MinorVersion++
	}
	if removed || added || cfg.KeyFrameCount != w.cfg.KeyFrameCount {
		w.sinceKF = -1
	}
	w.cfg = cfg
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
