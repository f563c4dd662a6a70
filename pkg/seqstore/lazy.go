package seqstore

import "sync"

// Lazy is a writer's store opened on first use. While opening fails (a corrupt or locked
// state file, a directory that cannot be written) Next returns that error and the next
// call tries again, so a workload can report the problem and recover once it is fixed
// instead of exiting. An empty path is an in-memory store (Memory). Safe for concurrent
// use.
type Lazy struct {
	path string
	opts []Option

	mu     sync.Mutex
	s      *Store
	closed bool
}

// NewLazy returns the lazily opened store of path ("" = in memory).
func NewLazy(path string, opts ...Option) *Lazy {
	return &Lazy{path: path, opts: opts}
}

// Path is the state file ("" in memory).
func (l *Lazy) Path() string { return l.path }

// Open opens the store now if it is not open yet and returns it.
func (l *Lazy) Open() (*Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.openLocked()
}

func (l *Lazy) openLocked() (*Store, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if l.s != nil {
		return l.s, nil
	}
	if l.path == "" {
		l.s = Memory()
		return l.s, nil
	}
	s, err := Open(l.path, l.opts...)
	if err != nil {
		return nil, err
	}
	l.s = s
	return s, nil
}

// Next opens the store if needed and returns its next sequence.
func (l *Lazy) Next() (int64, error) {
	l.mu.Lock()
	s, err := l.openLocked()
	l.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return s.Next()
}

// Close closes the store if it was opened; Next fails with ErrClosed afterwards.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.s == nil {
		return nil
	}
	return l.s.Close()
}
