package buffer

import (
	"encoding/binary"
	"os"
	"time"
)

// SinkStats is the backlog of one sink.
type SinkStats struct {
	Messages uint64
	Bytes    int64
	// OldestAge is how long the oldest undelivered record has waited (0 when none).
	OldestAge time.Duration
}

// Stats is a snapshot of the buffer.
type Stats struct {
	Bytes    int64  // on disk, durable
	Segments int    // files
	Next     uint64 // offset the next record gets
	First    uint64 // oldest retained offset
	Sinks    map[string]SinkStats
}

// Stats computes the backlog of every sink. It reads one record header per sink to find
// the oldest undelivered record's age.
func (b *Buffer) Stats() Stats {
	type probe struct {
		name string
		path string
		pos  int64
	}
	var probes []probe
	b.mu.Lock()
	st := Stats{Bytes: b.total, Segments: len(b.segs), Next: b.next, First: b.segs[0].base, Sinks: map[string]SinkStats{}}
	for name, p := range b.cursors {
		ss := SinkStats{Messages: b.next - p.Offset}
		var found bool
		for _, s := range b.segs {
			switch {
			case found:
				ss.Bytes += s.size
			case p.Offset >= s.base && p.Offset < s.end():
				found = true
				pos := p.Pos
				if p.Seg != s.base || pos < 0 || p.Offset == s.base {
					pos = 0
				}
				ss.Bytes += s.size - pos
				probes = append(probes, probe{name: name, path: s.path, pos: pos})
			}
		}
		st.Sinks[name] = ss
	}
	now := b.opts.Now()
	b.mu.Unlock()
	for _, pr := range probes {
		if ts, ok := readTS(pr.path, pr.pos); ok {
			ss := st.Sinks[pr.name]
			ss.OldestAge = max(now.Sub(time.Unix(0, ts)), 0)
			st.Sinks[pr.name] = ss
		}
	}
	return st
}

func readTS(path string, pos int64) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var hdr [headerSize]byte
	if _, err := f.ReadAt(hdr[:], pos); err != nil {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(hdr[8:16])), true
}

// End is the offset the next appended record will get (everything before it is durable).
func (b *Buffer) End() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.next
}

// Oldest is the offset of the oldest record still held. A record below it that a sink had
// not delivered was dropped (policy or age) and counted as lost for that sink.
func (b *Buffer) Oldest() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.segs[0].base
}
