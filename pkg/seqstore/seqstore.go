// Package seqstore hands out the sequence numbers of one message writer (a tempsensor
// device, an opcpublisher writer group) so that they never repeat across restarts: message
// ids are <kind>/<writer>/<sequence> and consumers deduplicate by id, so a sequence used
// twice makes them drop a new message as a duplicate of an old one.
//
// It reserves ahead. The state file holds the high-water mark, the first sequence not yet
// reserved. Before Next hands out the first sequence of a new block (Block, 1000 by
// default) it durably raises the mark by a block: write a temporary file, fsync it, rename
// it over the state file, fsync the directory. Every sequence handed out is therefore below
// the mark on disk, and a process that crashes resumes at the mark: a gap of less than
// one block, never a reuse. Close records the exact next sequence, so a clean restart
// continues without a gap.
//
// The state file is one line, "seqstore v1 next=<n>\n". A file that does not read exactly
// so is reported as corrupt (ErrCorrupt, naming the file), never taken as a fresh start. A
// lock file next to it (<path>.lock, flock) keeps a second process from using the same
// state at the same time.
package seqstore

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// DefaultBlock is how many sequences one durable write reserves.
const DefaultBlock = 1000

// Errors Next, Open and Close wrap.
var (
	// ErrCorrupt: the state file exists but does not hold a valid mark.
	ErrCorrupt = errors.New("corrupt state file")
	// ErrLocked: another process (or another Store of this one) uses the state file.
	ErrLocked = errors.New("state file in use by another process")
	// ErrClosed: Next after Close.
	ErrClosed = errors.New("sequence store closed")
)

const (
	header = "seqstore v1 next="
	// maxFileBytes bounds what Open reads: a valid file is far smaller.
	maxFileBytes = 64
)

// Option configures Open.
type Option func(*Store)

// Block sets how many sequences one durable write reserves (n >= 1). A larger block
// means fewer fsyncs and a larger gap after a crash.
func Block(n int64) Option {
	return func(s *Store) {
		if n >= 1 {
			s.block = n
		}
	}
}

// Store allocates the sequences of one writer. It is safe for concurrent use.
type Store struct {
	path  string // "" = in memory
	block int64
	lock  *os.File

	mu     sync.Mutex
	next   int64 // the sequence Next hands out next
	limit  int64 // the durable mark: every sequence below it is reserved on disk
	closed bool
}

// Memory returns a store that is not durable: it starts at 1 in every process.
func Memory() *Store {
	return &Store{block: DefaultBlock, next: 1, limit: math.MaxInt64}
}

// Open opens the state file at path (its directory is created when missing). A missing
// file starts at 1; a corrupt one is an error wrapping ErrCorrupt that names the file.
// Nothing is written until the first Next.
func Open(path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("seqstore: empty path")
	}
	s := &Store{path: path, block: DefaultBlock}
	for _, o := range opts {
		o(s)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("seqstore: state directory %s: %w", dir, err)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("seqstore: %s: %w", path, err)
	}
	next, err := readMark(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	// Temporary files of a write a crash interrupted: the state file is either the old
	// or the new one, so they are garbage (and ours alone, under the lock).
	if stale, _ := filepath.Glob(filepath.Join(dir, globEscape(filepath.Base(path))+".tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			_ = os.Remove(f)
		}
	}
	s.lock, s.next, s.limit = lock, next, next
	return s, nil
}

// readMark reads the state file: 1 when it does not exist.
func readMark(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("seqstore: read %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return 0, fmt.Errorf("seqstore: read %s: %w", path, err)
	}
	next, perr := parseMark(b)
	if perr != nil {
		return 0, fmt.Errorf("seqstore: %s: %w: %v; refusing to restart its sequence (ids would repeat): restore the file, or write the first sequence to use after every one already sent as %q",
			path, ErrCorrupt, perr, header+"<n>\\n")
	}
	return next, nil
}

func parseMark(b []byte) (int64, error) {
	if len(b) > maxFileBytes {
		return 0, fmt.Errorf("longer than %d bytes", maxFileBytes)
	}
	s := string(b)
	if len(s) == 0 {
		return 0, errors.New("empty")
	}
	if !strings.HasPrefix(s, header) {
		return 0, fmt.Errorf("does not start with %q", header)
	}
	s = strings.TrimPrefix(s, header)
	if !strings.HasSuffix(s, "\n") {
		return 0, errors.New("truncated (no final newline)")
	}
	s = strings.TrimSuffix(s, "\n")
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("mark %q is not a positive decimal number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("mark %q is not a positive decimal number", s)
	}
	return n, nil
}

func formatMark(n int64) []byte {
	return []byte(header + strconv.FormatInt(n, 10) + "\n")
}

// Path is the state file ("" in memory).
func (s *Store) Path() string { return s.path }

// Peek is the sequence the next successful Next returns.
func (s *Store) Peek() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Next returns the next sequence. At a block boundary it first makes the new mark durable;
// when that fails it returns the error and hands out nothing, and the next call tries
// again.
func (s *Store) Next() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.next >= s.limit {
		if s.next > math.MaxInt64-s.block {
			return 0, fmt.Errorf("seqstore: %s: sequence space exhausted at %d", s.path, s.next)
		}
		mark := s.next + s.block
		if err := s.persist(mark); err != nil {
			return 0, err
		}
		s.limit = mark
	}
	seq := s.next
	s.next++
	return seq, nil
}

// Close records the exact next sequence (so a clean restart has no gap) and releases
// the lock. Next fails with ErrClosed afterwards. When the final write fails the mark on
// disk stays the reserved one, which is still safe.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.path == "" {
		return nil
	}
	var err error
	// Only when a block was reserved: a store that never handed out anything leaves the
	// file as it found it (or absent).
	if s.limit != s.next {
		err = s.persist(s.next)
	}
	return errors.Join(err, s.lock.Close())
}

// persist makes mark the durable state: temporary file, fsync, rename, fsync the directory.
func (s *Store) persist(mark int64) error {
	if s.path == "" {
		return nil
	}
	if err := writeDurably(s.path, formatMark(mark)); err != nil {
		return fmt.Errorf("seqstore: persist the sequence mark %d to %s: %w", mark, s.path, err)
	}
	return nil
}

func writeDurably(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// globEscape quotes the glob metacharacters of a file name.
func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
