package topology

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Delivery is one message the gateway's file sink wrote.
type Delivery struct {
	Message
	Topic      string
	ReceivedAt time.Time // when the gateway received it ("receivedAt"), else when read
}

// Latency is the end-to-end latency: producer event time → gateway receipt.
func (d Delivery) Latency() time.Duration {
	if d.Time.IsZero() || d.ReceivedAt.IsZero() {
		return -1
	}
	return d.ReceivedAt.Sub(d.Time)
}

// decodeSinkLine reads one JSON line of the file sink:
// {"id","topic","time","receivedAt","event":{…the CloudEvent…}}. Lines that are a bare
// CloudEvent are read too.
func decodeSinkLine(line []byte) (Delivery, error) {
	var raw struct {
		ID         string          `json:"id"`
		Topic      string          `json:"topic"`
		ReceivedAt string          `json:"receivedAt"`
		Event      json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Delivery{}, err
	}
	ev := []byte(raw.Event)
	if len(ev) == 0 || string(ev) == "null" {
		ev = line
	}
	m, err := DecodeMessage(ev)
	if err != nil && raw.ID == "" {
		return Delivery{}, err
	}
	if raw.ID != "" {
		m.ID = raw.ID
	}
	d := Delivery{Message: m, Topic: raw.Topic}
	if raw.ReceivedAt != "" {
		if t, err := time.Parse(time.RFC3339Nano, raw.ReceivedAt); err == nil {
			d.ReceivedAt = t
		}
	}
	return d, nil
}

// SinkReader follows the file sink's directory: every complete line appended to any
// file under it (rotated files included) is read exactly once.
type SinkReader struct {
	Dir string

	mu      sync.Mutex
	offsets map[string]int64
	bad     int64
}

// NewSinkReader follows dir.
func NewSinkReader(dir string) *SinkReader {
	return &SinkReader{Dir: dir, offsets: map[string]int64{}}
}

// Poll returns the deliveries written since the last Poll.
func (r *SinkReader) Poll() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Delivery
	now := time.Now()
	_ = filepath.WalkDir(r.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		out = r.readFile(path, now, out)
		return nil
	})
	return out
}

func (r *SinkReader) readFile(path string, now time.Time, out []Delivery) []Delivery {
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	off := r.offsets[path]
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return out
	}
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil { // an incomplete last line is read next time
			break
		}
		off += int64(len(line))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		d, derr := decodeSinkLine(line)
		if derr != nil {
			r.bad++
			continue
		}
		if d.ReceivedAt.IsZero() {
			d.ReceivedAt = now
		}
		out = append(out, d)
	}
	r.offsets[path] = off
	return out
}

// Undecodable counts sink lines that were not deliveries.
func (r *SinkReader) Undecodable() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}
