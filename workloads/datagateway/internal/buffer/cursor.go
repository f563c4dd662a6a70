package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// cursorSaveEvery bounds how often cursors are written to disk. A cursor that is older
// than the truth only causes redelivery (at-least-once), never loss.
const cursorSaveEvery = 100 * time.Millisecond

func (b *Buffer) cursorPath(sink string) string {
	return filepath.Join(b.opts.Dir, "cursor-"+sink)
}

// cursor file: offset u64 | seg u64 | pos i64 | crc32c u32 of the 24 bytes before.
func (b *Buffer) loadCursor(sink string) (Position, bool) {
	data, err := os.ReadFile(b.cursorPath(sink))
	if err != nil || len(data) != 28 {
		if err == nil {
			b.log.Warn("buffer: ignoring a damaged cursor file; the sink replays from the oldest record", "sink", sink)
		}
		return Position{}, false
	}
	if crc32.Checksum(data[:24], crcTable) != binary.LittleEndian.Uint32(data[24:]) {
		b.log.Warn("buffer: ignoring a cursor file with a bad checksum; the sink replays from the oldest record", "sink", sink)
		return Position{}, false
	}
	return Position{
		Offset: binary.LittleEndian.Uint64(data[0:8]),
		Seg:    binary.LittleEndian.Uint64(data[8:16]),
		Pos:    int64(binary.LittleEndian.Uint64(data[16:24])),
	}, true
}

func (b *Buffer) saveCursorsLocked(force bool) error {
	now := time.Now()
	if !force && now.Sub(b.lastSave) < cursorSaveEvery {
		return nil
	}
	b.lastSave = now
	var errs []error
	for sink := range b.dirty {
		p := b.cursors[sink]
		var data [28]byte
		binary.LittleEndian.PutUint64(data[0:8], p.Offset)
		binary.LittleEndian.PutUint64(data[8:16], p.Seg)
		binary.LittleEndian.PutUint64(data[16:24], uint64(p.Pos))
		binary.LittleEndian.PutUint32(data[24:], crc32.Checksum(data[:24], crcTable))
		if err := writeFileSync(b.cursorPath(sink), data[:]); err != nil {
			errs = append(errs, fmt.Errorf("buffer: save cursor %s: %w", sink, err))
			continue
		}
		delete(b.dirty, sink)
	}
	return errors.Join(errs...)
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Cursor is the committed position of sink.
func (b *Buffer) Cursor(sink string) (Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.cursors[sink]
	if !ok {
		return Position{}, fmt.Errorf("buffer: unknown sink cursor %q", sink)
	}
	return p, nil
}

// Commit records that sink has delivered everything before p. A cursor never moves
// backwards. Fully delivered segments (by every sink) are deleted.
func (b *Buffer) Commit(sink string, p Position) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.cursors[sink]
	if !ok {
		return fmt.Errorf("buffer: unknown sink cursor %q", sink)
	}
	if p.Offset <= cur.Offset {
		return nil
	}
	if p.Offset > b.next {
		return fmt.Errorf("buffer: commit %s at %d beyond the end %d", sink, p.Offset, b.next)
	}
	b.cursors[sink] = p
	b.dirty[sink] = true
	b.releaseLocked()
	return b.saveCursorsLocked(false)
}

// Flush writes dirty cursors now.
func (b *Buffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.saveCursorsLocked(true)
}

// releaseLocked deletes sealed segments every cursor has passed.
func (b *Buffer) releaseLocked() {
	low := b.next
	for _, p := range b.cursors {
		low = min(low, p.Offset)
	}
	for len(b.segs) > 1 && b.segs[0].end() <= low {
		s := b.segs[0]
		b.segs = b.segs[1:]
		b.total -= s.size
		b.refusing = false // room again
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Error("buffer: remove delivered segment", "segment", s.path, "err", err)
		}
	}
}

// Expire drops sealed segments whose newest record is older than MaxAge, counting the
// records each sink had not delivered. The gateway calls it periodically.
func (b *Buffer) Expire() {
	if b.opts.MaxAge <= 0 {
		return
	}
	cut := b.opts.Now().Add(-b.opts.MaxAge).UnixNano()
	var drops []drop
	b.mu.Lock()
	for len(b.segs) > 1 && b.segs[0].lastTS < cut {
		drops = append(drops, b.dropOldestLocked("age")...)
	}
	_ = b.saveCursorsLocked(false)
	b.mu.Unlock()
	b.report(drops)
}
