package topology

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Link is the network path of one bridge (child broker → parent's TLS bridge listener):
// a TCP forwarder on loopback that can be cut — listener closed and every connection
// reset, as when the line between two sites goes down — and restored on the same port.
// TLS passes through it untouched.
//
// Like a routed path, the link refuses connections while the parent is down instead of
// accepting and closing them: it stops listening as soon as a forwarded connection ends
// and listens again once the parent accepts connections. (A TLS
// bridge of mosquitto 2.0.11 whose handshake peer accepts and then closes spins in a
// busy loop for good, ignoring SIGTERM — reproduced with a bare accept-and-close
// server.)
type Link struct {
	Name   string
	Listen string // 127.0.0.1:port the child dials
	Target string // parent bridge listener

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	cut     bool // cut by the test: stays down until Restore
	paused  bool // the parent is down: listening again when it is back
	closed  bool
	wg      sync.WaitGroup
	probing bool
}

// NewLink starts forwarding listen → target.
func NewLink(name, listen, target string) (*Link, error) {
	l := &Link{Name: name, Listen: listen, Target: target, conns: map[net.Conn]struct{}{}}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Link) open() error {
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return fmt.Errorf("link %s: listen %s: %w", l.Name, l.Listen, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ln.Close()
		return nil
	}
	l.ln, l.cut = ln, false
	l.mu.Unlock()
	l.wg.Add(1)
	go l.accept(ln)
	return nil
}

// listenAgain reopens the listener, retrying while the port lingers.
func (l *Link) listenAgain() error {
	var err error
	for i := 0; i < 50; i++ {
		if err = l.open(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (l *Link) accept(ln net.Listener) {
	defer l.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go l.forward(c)
	}
}

func (l *Link) forward(c net.Conn) {
	defer l.wg.Done()
	up, err := net.DialTimeout("tcp", l.Target, 5*time.Second)
	if err != nil {
		l.pause()
		c.Close()
		return
	}
	if !l.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	up.Close()
	// Refuse the child's reconnect until the parent is seen up again: a parent that
	// was killed may still accept for a moment while its sockets are torn down.
	l.pause()
	c.Close()
	<-done
	l.untrack(c, up)
}

// targetUp reports whether the parent accepts TCP connections.
func (l *Link) targetUp() bool {
	c, err := net.DialTimeout("tcp", l.Target, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// pause stops listening and probes the parent every 100 ms, listening again once it
// accepted three probes in a row (unless the link is cut or closed meanwhile).
func (l *Link) pause() {
	l.mu.Lock()
	if l.cut || l.closed || l.probing {
		l.mu.Unlock()
		return
	}
	ln := l.ln
	l.ln, l.paused, l.probing = nil, true, true
	l.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for up := 0; up < 3; { // three probes in a row, 100 ms apart
			time.Sleep(100 * time.Millisecond)
			l.mu.Lock()
			stop := l.cut || l.closed
			l.mu.Unlock()
			if stop {
				break
			}
			if l.targetUp() {
				up++
			} else {
				up = 0
			}
		}
		l.mu.Lock()
		l.probing, l.paused = false, false
		reopen := !l.cut && !l.closed
		l.mu.Unlock()
		if reopen {
			_ = l.listenAgain()
		}
	}()
}

func (l *Link) track(cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return false
	}
	for _, c := range cs {
		l.conns[c] = struct{}{}
	}
	return true
}

func (l *Link) untrack(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.conns, c)
	}
}

// Cut closes the listener and resets every open connection: the child cannot reach
// the parent until Restore.
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	ln := l.ln
	l.ln = nil
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, as a dropped line looks to the peer
		}
		c.Close()
	}
}

// Restore listens again on the same address (once the parent accepts).
func (l *Link) Restore() error {
	l.mu.Lock()
	if !l.cut {
		l.mu.Unlock()
		return nil
	}
	l.cut = false
	l.mu.Unlock()
	if !l.targetUp() {
		l.pause()
		return nil
	}
	return l.listenAgain()
}

// IsCut reports whether the link is down.
func (l *Link) IsCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// Close cuts the link for good and waits for its goroutines.
func (l *Link) Close() error {
	l.Cut()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.Cut()
	l.wg.Wait()
	return nil
}
