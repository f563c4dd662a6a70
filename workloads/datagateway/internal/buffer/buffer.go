// Package buffer is the gateway's durable on-disk queue: an append-only log of records in
// segment files, written with group commit (one write and one fsync for every record that
// arrived while the previous fsync ran, or within CommitInterval), a CRC per record,
// recovery that truncates a torn tail after kill -9, bounds by bytes and by age with a
// reject or drop-oldest policy, and one durable cursor per sink so several sinks drain
// independently.
//
// Record layout (little endian): length u32 | crc32c u32 | appendTime i64 (unix ns) | payload.
// The CRC covers appendTime and payload. A segment file is named by the offset of its
// first record (%020d.seg); offsets are dense and grow across restarts.
package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Policy decides what Append does when the buffer is full.
type Policy string

const (
	// PolicyReject refuses new records (ErrFull): the caller NACKs and the broker keeps them.
	PolicyReject Policy = "reject"
	// PolicyDropOldest deletes the oldest segment to make room; every record lost is counted.
	PolicyDropOldest Policy = "drop-oldest"
)

const (
	headerSize = 16
	// MaxRecordBytes bounds one record's payload.
	MaxRecordBytes = 64 << 20
	segExt         = ".seg"
)

var (
	// ErrFull is returned by Append under PolicyReject when the record does not fit.
	ErrFull = errors.New("buffer: full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("buffer: closed")
	crcTable  = crc32.MakeTable(crc32.Castagnoli)
)

// Options configures a Buffer.
type Options struct {
	// Dir holds the segment and cursor files; it is created when missing.
	Dir string
	// MaxBytes bounds the bytes on disk (records including headers).
	MaxBytes int64
	// MaxAge drops sealed segments whose newest record is older (0 = no age bound).
	MaxAge time.Duration
	// SegmentBytes is the size at which the active segment is sealed and a new one started.
	SegmentBytes int64
	// Policy when full.
	Policy Policy
	// CommitInterval is how long the committer may wait for more records before the fsync
	// when fewer than CommitBytes are pending (0 = commit as soon as the previous fsync ends).
	CommitInterval time.Duration
	// CommitBytes ends the wait early.
	CommitBytes int
	// Sinks are the cursors kept. Cursors of sinks not listed are ignored.
	Sinks []string
	// OnDrop is called (outside the lock) for records a sink lost: reason "full" or "age" or "corrupt".
	OnDrop func(sink string, n uint64, reason string)
	// OnCommit is called after each successful write + fsync with the records it made
	// durable and how long the write and fsync took.
	OnCommit func(records int, took time.Duration)
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("buffer: dir: required"))
	}
	if o.SegmentBytes < 4096 {
		errs = append(errs, fmt.Errorf("buffer: segmentBytes: must be at least 4096, got %d", o.SegmentBytes))
	}
	if o.MaxBytes < 4*o.SegmentBytes {
		errs = append(errs, fmt.Errorf("buffer: maxBytes: must be at least 4 × segmentBytes (%d), got %d", 4*o.SegmentBytes, o.MaxBytes))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("buffer: maxAge: must not be negative, got %s", o.MaxAge))
	}
	if o.Policy != PolicyReject && o.Policy != PolicyDropOldest {
		errs = append(errs, fmt.Errorf("buffer: policy: want %q or %q, got %q", PolicyReject, PolicyDropOldest, o.Policy))
	}
	if o.CommitInterval < 0 {
		errs = append(errs, fmt.Errorf("buffer: commitInterval: must not be negative, got %s", o.CommitInterval))
	}
	if len(o.Sinks) == 0 {
		errs = append(errs, errors.New("buffer: sinks: at least one cursor is required"))
	}
	seen := map[string]bool{}
	for _, s := range o.Sinks {
		if s == "" || strings.ContainsAny(s, `/\ `) {
			errs = append(errs, fmt.Errorf("buffer: sinks: invalid cursor name %q", s))
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("buffer: sinks: duplicate cursor name %q", s))
		}
		seen[s] = true
	}
	return errors.Join(errs...)
}

type segment struct {
	base   uint64 // offset of the first record
	count  uint64 // durable records
	size   int64  // durable bytes
	lastTS int64  // append time of the newest record (unix ns)
	path   string
}

func (s *segment) end() uint64 { return s.base + s.count }

// Position is a point in the log: the next offset and where its record starts.
type Position struct {
	Offset uint64
	Seg    uint64 // base of the segment that holds Offset (or ends at it)
	Pos    int64  // byte position of Offset in that segment
}

type waiter struct {
	payload []byte
	ts      int64
	done    chan result
}

type result struct {
	off uint64
	err error
}

// Buffer is the durable queue. It is safe for concurrent use.
type Buffer struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	segs     []*segment // oldest first; the last one is active
	active   *os.File
	pending  []*waiter
	pendSize int64
	total    int64  // durable bytes of all segments
	next     uint64 // offset of the next durable record
	cursors  map[string]Position
	dirty    map[string]bool
	err      error  // sticky write error
	refusing bool   // the last Append was refused for lack of room
	wbuf     []byte // the committer's write buffer
	closed   bool
	notify   chan struct{} // closed when new records become durable
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	lastSave time.Time
}

// Open recovers the buffer in opts.Dir (truncating a torn tail) and starts the committer.
func Open(opts Options) (*Buffer, error) {
	if opts.CommitBytes <= 0 {
		opts.CommitBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("buffer: dir %s: %w", opts.Dir, err)
	}
	b := &Buffer{
		opts: opts, log: opts.Logger,
		cursors: map[string]Position{}, dirty: map[string]bool{},
		notify: make(chan struct{}), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := b.recover(); err != nil {
		return nil, err
	}
	go b.commitLoop()
	return b, nil
}

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segExt) }

func (b *Buffer) recover() error {
	ents, err := os.ReadDir(b.opts.Dir)
	if err != nil {
		return fmt.Errorf("buffer: read dir %s: %w", b.opts.Dir, err)
	}
	var bases []uint64
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, segExt) {
			continue
		}
		base, err := strconv.ParseUint(strings.TrimSuffix(n, segExt), 10, 64)
		if err != nil {
			b.log.Warn("buffer: ignoring a file that is not a segment", "file", n)
			continue
		}
		bases = append(bases, base)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	for i, base := range bases {
		path := filepath.Join(b.opts.Dir, segName(base))
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("buffer: segment %s: %w", path, err)
		}
		s := &segment{base: base, path: path, size: st.Size(), lastTS: st.ModTime().UnixNano()}
		if i < len(bases)-1 {
			// Sealed segments were fsynced whole before the next one was created.
			s.count = bases[i+1] - base
		} else if err := b.scanTail(s); err != nil {
			return err
		}
		b.segs = append(b.segs, s)
		b.total += s.size
	}
	if n := len(b.segs); n > 0 {
		b.next = b.segs[n-1].end()
	}
	if n := len(b.segs); n == 0 || b.segs[n-1].size >= b.opts.SegmentBytes {
		if err := b.newSegment(); err != nil {
			return err
		}
	} else {
		f, err := os.OpenFile(b.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("buffer: open active segment: %w", err)
		}
		b.active = f
	}
	first := b.segs[0].base
	for _, name := range b.opts.Sinks {
		p, ok := b.loadCursor(name)
		if !ok || p.Offset < first || p.Offset > b.next {
			p = Position{Offset: first, Seg: first}
		}
		b.cursors[name] = p
	}
	return nil
}

// scanTail counts the valid records of the last segment and truncates anything after
// the first invalid one (a write cut short by kill -9 or power loss).
func (b *Buffer) scanTail(s *segment) error {
	f, err := os.OpenFile(s.path, os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("buffer: open %s: %w", s.path, err)
	}
	defer f.Close()
	var (
		pos   int64
		count uint64
		hdr   [headerSize]byte
		buf   []byte
		last  int64
	)
	for pos+headerSize <= s.size {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			break
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		if n > MaxRecordBytes || pos+headerSize+n > s.size {
			break
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, pos+headerSize); err != nil {
			break
		}
		if crcOf(hdr[8:16], buf) != binary.LittleEndian.Uint32(hdr[4:8]) {
			break
		}
		last = int64(binary.LittleEndian.Uint64(hdr[8:16]))
		pos += headerSize + n
		count++
	}
	if pos < s.size {
		b.log.Warn("buffer: truncating a torn tail", "segment", s.path, "valid_records", count, "cut_bytes", s.size-pos)
		if err := f.Truncate(pos); err != nil {
			return fmt.Errorf("buffer: truncate %s: %w", s.path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("buffer: sync %s: %w", s.path, err)
		}
	}
	s.size, s.count = pos, count
	if last != 0 {
		s.lastTS = last
	}
	return nil
}

func crcOf(ts, payload []byte) uint32 {
	c := crc32.Update(0, crcTable, ts)
	return crc32.Update(c, crcTable, payload)
}

// newSegment seals the active segment (already fsynced by the committer) and creates the next.
// Called with mu held or before the committer starts.
func (b *Buffer) newSegment() error {
	if b.active != nil {
		if err := b.active.Close(); err != nil {
			return fmt.Errorf("buffer: close segment: %w", err)
		}
		b.active = nil
	}
	s := &segment{base: b.next, path: filepath.Join(b.opts.Dir, segName(b.next)), lastTS: b.opts.Now().UnixNano()}
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("buffer: create segment: %w", err)
	}
	if err := syncDir(b.opts.Dir); err != nil {
		f.Close()
		return err
	}
	b.active = f
	b.segs = append(b.segs, s)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("buffer: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("buffer: sync dir: %w", err)
	}
	return nil
}

// Append stores payload durably and returns its offset once it is on disk (fsynced).
// Under PolicyReject it returns ErrFull when the record does not fit.
func (b *Buffer) Append(ctx context.Context, payload []byte) (uint64, error) {
	w, err := b.enqueue(ctx, payload)
	if err != nil {
		return 0, err
	}
	return w.wait(ctx)
}

// AppendBatch stores payloads durably, in order, in as few commits as the committer
// needs (usually one), and returns each record's offset or error: errs[i] is nil once
// payloads[i] is on disk. A record that does not fit (ErrFull) or is too large fails
// alone; the others are still stored.
func (b *Buffer) AppendBatch(ctx context.Context, payloads [][]byte) (offs []uint64, errs []error) {
	offs, errs = make([]uint64, len(payloads)), make([]error, len(payloads))
	ws := make([]*waiter, len(payloads))
	for i, p := range payloads {
		ws[i], errs[i] = b.enqueue(ctx, p)
	}
	for i, w := range ws {
		if w != nil {
			offs[i], errs[i] = w.wait(ctx)
		}
	}
	return offs, errs
}

// wait returns the record's offset once it is durable.
func (w *waiter) wait(ctx context.Context) (uint64, error) {
	select {
	case r := <-w.done:
		return r.off, r.err
	case <-ctx.Done():
		// The record may still become durable; the caller will see it redelivered.
		return 0, ctx.Err()
	}
}

// enqueue makes room for payload (dropping old segments under PolicyDropOldest), adds it
// to the records of the next commit and wakes the committer.
func (b *Buffer) enqueue(ctx context.Context, payload []byte) (*waiter, error) {
	if len(payload) > MaxRecordBytes {
		return nil, fmt.Errorf("buffer: record of %d bytes exceeds the maximum of %d", len(payload), MaxRecordBytes)
	}
	need := int64(headerSize + len(payload))
	w := &waiter{payload: payload, done: make(chan result, 1)}
	var drops []drop
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return nil, err
	}
	for b.total+b.pendSize+need > b.opts.MaxBytes {
		if b.opts.Policy == PolicyReject {
			b.refusing = true
			b.mu.Unlock()
			return nil, ErrFull
		}
		for b.total+b.pendSize+need > b.opts.MaxBytes && len(b.segs) > 1 {
			drops = append(drops, b.dropOldestLocked("full")...)
		}
		if b.total+b.pendSize+need <= b.opts.MaxBytes {
			break
		}
		if b.pendSize == 0 {
			b.mu.Unlock()
			b.report(drops)
			return nil, ErrFull
		}
		// Records in flight fill the room: once they are committed, their segment can be
		// sealed and older ones dropped.
		wait := b.notify
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			b.report(drops)
			return nil, ctx.Err()
		}
		b.mu.Lock()
		if b.closed || b.err != nil {
			b.mu.Unlock()
			b.report(drops)
			return nil, ErrClosed
		}
	}
	w.ts = b.opts.Now().UnixNano()
	b.refusing = false
	b.pending = append(b.pending, w)
	b.pendSize += need
	b.mu.Unlock()
	b.report(drops)
	select {
	case b.kick <- struct{}{}:
	default:
	}
	return w, nil
}

type drop struct {
	sink   string
	n      uint64
	reason string
}

func (b *Buffer) report(drops []drop) {
	for _, d := range drops {
		b.log.Warn("buffer: dropped records", "sink", d.sink, "records", d.n, "reason", d.reason)
		if b.opts.OnDrop != nil {
			b.opts.OnDrop(d.sink, d.n, d.reason)
		}
	}
}

// dropOldestLocked deletes the oldest sealed segment and moves every cursor inside it to
// its end, returning what each sink lost. mu held; requires len(segs) > 1.
func (b *Buffer) dropOldestLocked(reason string) []drop {
	s := b.segs[0]
	b.segs = b.segs[1:]
	b.total -= s.size
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Error("buffer: remove segment", "segment", s.path, "err", err)
	}
	var out []drop
	for name, p := range b.cursors {
		if p.Offset < s.end() {
			out = append(out, drop{sink: name, n: s.end() - p.Offset, reason: reason})
			b.cursors[name] = Position{Offset: s.end(), Seg: s.end()}
			b.dirty[name] = true
		}
	}
	return out
}

func (b *Buffer) commitLoop() {
	defer close(b.done)
	for {
		select {
		case <-b.kick:
		case <-b.stop:
			b.commit() // whatever is still pending
			return
		}
		if b.opts.CommitInterval > 0 {
			deadline := time.NewTimer(b.opts.CommitInterval)
		wait:
			for {
				b.mu.Lock()
				enough := b.pendSize >= int64(b.opts.CommitBytes)
				b.mu.Unlock()
				if enough {
					break
				}
				select {
				case <-deadline.C:
					break wait
				case <-b.kick:
				case <-b.stop:
					break wait
				}
			}
			deadline.Stop()
		}
		b.commit()
	}
}

// commit writes every pending record with one write per segment and one fsync, then
// acknowledges the waiters.
func (b *Buffer) commit() {
	// The batch's bytes stay counted in pendSize until they are counted in total, so an
	// Append during the write still sees them and cannot overfill the buffer.
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	fatal := b.err
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	unpend := func(ws []*waiter) { // mu held
		for _, w := range ws {
			b.pendSize -= int64(headerSize + len(w.payload))
		}
	}
	if fatal != nil {
		b.mu.Lock()
		unpend(batch)
		b.mu.Unlock()
		for _, w := range batch {
			w.done <- result{err: fatal}
		}
		return
	}
	buf := b.wbuf[:0]
	defer func() {
		if cap(buf) <= 4<<20 {
			b.wbuf = buf[:0] // reuse the write buffer; let a rare huge one go
		}
	}()
	i := 0
	for i < len(batch) {
		b.mu.Lock()
		seg := b.segs[len(b.segs)-1]
		room := b.opts.SegmentBytes - seg.size
		b.mu.Unlock()
		buf = buf[:0]
		j := i
		for j < len(batch) {
			n := int64(headerSize + len(batch[j].payload))
			if int64(len(buf))+n > room && (seg.size > 0 || len(buf) > 0) {
				break
			}
			buf = appendRecord(buf, batch[j].ts, batch[j].payload)
			j++
		}
		var err error
		if len(buf) > 0 {
			start := time.Now()
			if _, err = b.active.Write(buf); err == nil {
				err = datasync(b.active)
			}
			if err == nil && b.opts.OnCommit != nil {
				b.opts.OnCommit(j-i, time.Since(start))
			}
		}
		b.mu.Lock()
		if err != nil {
			unpend(batch[i:])
			b.err = fmt.Errorf("buffer: write segment %s: %w", seg.path, err)
			b.log.Error("buffer: write failed; the buffer no longer accepts writes", "err", err)
			b.mu.Unlock()
			for _, w := range batch[i:] {
				w.done <- result{err: b.err}
			}
			return
		}
		for k := i; k < j; k++ {
			batch[k].done <- result{off: b.next}
			b.next++
		}
		seg.count += uint64(j - i)
		seg.size += int64(len(buf))
		b.total += int64(len(buf))
		unpend(batch[i:j])
		if j > i {
			seg.lastTS = batch[j-1].ts
		}
		close(b.notify)
		b.notify = make(chan struct{})
		if j < len(batch) || seg.size >= b.opts.SegmentBytes {
			if err := b.newSegment(); err != nil {
				unpend(batch[j:])
				b.err = err
				b.log.Error("buffer: cannot start a new segment; the buffer no longer accepts writes", "err", err)
				b.mu.Unlock()
				for _, w := range batch[j:] {
					w.done <- result{err: err}
				}
				return
			}
		}
		b.mu.Unlock()
		i = j
	}
}

// datasync flushes the file's data and the metadata needed to read it back (its size):
// fdatasync, cheaper than fsync because it skips timestamps.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

func appendRecord(buf []byte, ts int64, payload []byte) []byte {
	var hdr [headerSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(hdr[8:16], uint64(ts))
	binary.LittleEndian.PutUint32(hdr[4:8], crcOf(hdr[8:16], payload))
	buf = append(buf, hdr[:]...)
	return append(buf, payload...)
}

// Ready reports whether the buffer accepts writes: not closed, no write error, and (under
// PolicyReject) room for at least one more small record and the last Append not refused.
func (b *Buffer) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return ErrClosed
	case b.err != nil:
		return b.err
	case b.opts.Policy == PolicyReject && (b.refusing || b.total+b.pendSize+headerSize+1024 > b.opts.MaxBytes):
		return fmt.Errorf("%w: %d of %d bytes used", ErrFull, b.total+b.pendSize, b.opts.MaxBytes)
	}
	return nil
}

// Close commits what is pending, saves the cursors and closes the files.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.saveCursorsLocked(true)
	if b.active != nil {
		err = errors.Join(err, b.active.Close())
	}
	close(b.notify)
	b.notify = make(chan struct{})
	return err
}
