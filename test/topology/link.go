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
type Link struct {
	Name   string
	Listen string // 127.0.0.1:port the child dials
	Target string // parent bridge listener

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	cut   bool
	wg    sync.WaitGroup
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
	l.ln, l.cut = ln, false
	l.mu.Unlock()
	l.wg.Add(1)
	go l.accept(ln)
	return nil
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
	c.Close()
	up.Close()
	<-done
	l.untrack(c, up)
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

// Restore listens again on the same address.
func (l *Link) Restore() error {
	l.mu.Lock()
	open := !l.cut
	l.mu.Unlock()
	if open {
		return nil
	}
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after Cut
		if err = l.open(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
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
	l.wg.Wait()
	return nil
}
