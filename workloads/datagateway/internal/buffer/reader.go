package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Record is one durable record as a reader returns it.
type Record struct {
	Offset  uint64
	Time    time.Time // when it was appended
	Payload []byte
	// Next is the position just after this record: commit it once the record is delivered.
	Next Position
}

// Reader reads records in order from a position. It is not safe for concurrent use;
// each drain lane has its own.
type Reader struct {
	b    *Buffer
	sink string
	pos  Position
	f    *os.File
	fseg uint64
	// lent are the read buffers the returned records alias; spare is one to read into
	// again (see Recycle).
	lent  [][]byte
	spare []byte
}

// maxSpare bounds the read buffer a Reader keeps for reuse.
const maxSpare = 4 << 20

// Recycle tells the reader that the records it returned so far are no longer used, so
// it may read the next ones into the same memory.
func (r *Reader) Recycle() {
	for _, b := range r.lent {
		if cap(b) > cap(r.spare) && cap(b) <= maxSpare {
			r.spare = b
		}
	}
	clear(r.lent)
	r.lent = r.lent[:0]
}

// readBuf returns a buffer of n bytes, the spare one when it is large enough.
func (r *Reader) readBuf(n int64) []byte {
	var b []byte
	if int64(cap(r.spare)) >= n {
		b, r.spare = r.spare[:n], nil
	} else {
		b = make([]byte, n)
	}
	r.lent = append(r.lent, b)
	return b
}

// NewReader reads from p (usually the sink's Cursor). sink names the reader in drop reports.
func (b *Buffer) NewReader(sink string, p Position) *Reader {
	return &Reader{b: b, sink: sink, pos: p}
}

// At is the position of offset when its byte position is unknown (the reader scans to it).
func At(offset uint64) Position { return Position{Offset: offset, Pos: -1} }

// Position is where the next Next call starts.
func (r *Reader) Position() Position { return r.pos }

// Close releases the open segment file.
func (r *Reader) Close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// ErrLimit is returned by Next when the reader has reached its limit offset.
var ErrLimit = io.EOF

// Next returns up to maxN records (at least one, at most about maxBytes of payload unless
// a single record is larger), waiting until one is durable or ctx ends. With limit > 0 it
// never reads the record at offset limit or later and returns ErrLimit once it is there.
// Records dropped by the buffer (policy or age) before the reader got to them are skipped.
func (r *Reader) Next(ctx context.Context, maxN, maxBytes int, limit uint64) ([]Record, error) {
	if maxN <= 0 {
		maxN = 1
	}
	for {
		if limit > 0 && r.pos.Offset >= limit {
			return nil, ErrLimit
		}
		seg, segEnd, segSize, sealed, wait, err := r.locate()
		if err != nil {
			return nil, err
		}
		if seg == nil {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-wait:
				continue
			}
		}
		if limit > 0 && segEnd > limit {
			segEnd = limit
		}
		recs, err := r.read(seg, segEnd, segSize, sealed, maxN, maxBytes)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			return recs, nil
		}
	}
}

// locate finds the segment holding r.pos.Offset. It returns a nil segment and a channel
// to wait on when nothing is durable there yet.
func (r *Reader) locate() (seg *segment, end uint64, size int64, sealed bool, wait <-chan struct{}, err error) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, 0, 0, false, nil, ErrClosed
	}
	first := b.segs[0].base
	if r.pos.Offset < first {
		// dropped under us: jump to the oldest retained record
		r.pos = Position{Offset: first, Seg: first}
	}
	if r.pos.Offset > b.next {
		return nil, 0, 0, false, nil, fmt.Errorf("buffer: reader at %d is beyond the end %d", r.pos.Offset, b.next)
	}
	for i, s := range b.segs {
		last := i == len(b.segs)-1
		if r.pos.Offset >= s.base && (r.pos.Offset < s.end() || (last && r.pos.Offset == s.end())) {
			if r.pos.Offset == s.end() { // at the durable end of the active segment
				return nil, 0, 0, false, b.notify, nil
			}
			if r.pos.Seg != s.base || r.pos.Pos < 0 {
				if r.pos.Offset != s.base {
					// A position without a byte offset in this segment: scan to it.
					r.pos = Position{Offset: r.pos.Offset, Seg: s.base, Pos: -1}
				} else {
					r.pos = Position{Offset: s.base, Seg: s.base}
				}
			}
			return s, s.end(), s.size, !last, nil, nil
		}
	}
	return nil, 0, 0, false, b.notify, nil
}

func (r *Reader) open(s *segment) error {
	if r.f != nil && r.fseg == s.base {
		return nil
	}
	r.Close()
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	r.f, r.fseg = f, s.base
	return nil
}

const readChunk = 256 << 10

// read parses records of s from r.pos up to end (offset) and size (bytes).
func (r *Reader) read(s *segment, end uint64, size int64, sealed bool, maxN, maxBytes int) ([]Record, error) {
	if err := r.open(s); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // dropped meanwhile; locate will move on
		}
		return nil, fmt.Errorf("buffer: open %s: %w", s.path, err)
	}
	if r.pos.Pos < 0 {
		if err := r.seek(s, r.pos.Offset); err != nil {
			return nil, err
		}
	}
	want := min(size-r.pos.Pos, int64(max(maxBytes, 0))+int64(maxN)*headerSize)
	want = max(min(want, size-r.pos.Pos), 0)
	if want < headerSize && size-r.pos.Pos >= headerSize {
		want = headerSize
	}
	buf := r.readBuf(min(max(want, readChunk/4), size-r.pos.Pos))
	n, err := r.f.ReadAt(buf, r.pos.Pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("buffer: read %s: %w", s.path, err)
	}
	buf = buf[:n]
	var (
		out   []Record
		off   int
		bytes int
	)
	for r.pos.Offset < end && len(out) < maxN {
		if len(buf)-off < headerSize {
			if len(out) > 0 {
				break
			}
			return nil, r.corrupt(s, "short header")
		}
		ln := int(binary.LittleEndian.Uint32(buf[off : off+4]))
		if ln > MaxRecordBytes {
			return nil, r.corrupt(s, "bad length")
		}
		if len(buf)-off < headerSize+ln {
			if len(out) > 0 {
				break
			}
			// a single record larger than the chunk: read it whole
			if r.pos.Pos+int64(headerSize+ln) > size {
				return nil, r.corrupt(s, "record past the segment end")
			}
			big := make([]byte, headerSize+ln)
			if _, err := r.f.ReadAt(big, r.pos.Pos); err != nil {
				return nil, fmt.Errorf("buffer: read %s: %w", s.path, err)
			}
			buf, off = big, 0
		}
		hdr := buf[off : off+headerSize]
		payload := buf[off+headerSize : off+headerSize+ln]
		if crcOf(hdr[8:16], payload) != binary.LittleEndian.Uint32(hdr[4:8]) {
			if len(out) > 0 {
				break
			}
			return nil, r.corrupt(s, "checksum mismatch")
		}
		ts := int64(binary.LittleEndian.Uint64(hdr[8:16]))
		r.pos.Offset++
		r.pos.Pos += int64(headerSize + ln)
		off += headerSize + ln
		out = append(out, Record{Offset: r.pos.Offset - 1, Time: time.Unix(0, ts), Payload: payload, Next: r.pos})
		bytes += ln
		if bytes >= maxBytes && maxBytes > 0 {
			break
		}
	}
	if sealed && r.pos.Offset >= s.end() {
		// step into the next segment on the next call
		r.pos = Position{Offset: r.pos.Offset, Seg: r.pos.Offset, Pos: 0}
		r.Close()
	}
	return out, nil
}

// seek scans s from its start to offset.
func (r *Reader) seek(s *segment, offset uint64) error {
	var (
		hdr [headerSize]byte
		pos int64
	)
	for o := s.base; o < offset; o++ {
		if _, err := r.f.ReadAt(hdr[:], pos); err != nil {
			return r.corrupt(s, "short header while seeking")
		}
		pos += headerSize + int64(binary.LittleEndian.Uint32(hdr[0:4]))
	}
	r.pos.Pos = pos
	return nil
}

// corrupt skips the rest of a damaged segment, reporting the records lost to this reader.
func (r *Reader) corrupt(s *segment, why string) error {
	lost := s.end() - r.pos.Offset
	r.b.log.Error("buffer: damaged segment, skipping its remaining records", "segment", s.path, "reason", why, "sink", r.sink, "records", lost)
	r.b.report([]drop{{sink: r.sink, n: lost, reason: "corrupt"}})
	r.pos = Position{Offset: s.end(), Seg: s.end()}
	r.Close()
	return nil
}
