package topology

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/edgeframe/edgeframe/internal/freeport"
)

// Ports allocates the loopback ports of a topology and remembers what each is for, so
// that a port in use is reported by its purpose.
type Ports struct {
	base  int
	next  int
	names map[int]string
}

// NewPorts numbers ports from base upward; base 0 takes free ports (freeport.Take).
func NewPorts(base int) *Ports {
	return &Ports{base: base, next: base, names: map[int]string{}}
}

// Alloc returns the port for purpose.
func (p *Ports) Alloc(purpose string) (int, error) {
	var port int
	if p.base != 0 {
		port = p.next
		p.next++
	} else {
		var err error
		if port, err = freeport.Take(); err != nil {
			return 0, fmt.Errorf("no free port for %s: %w", purpose, err)
		}
	}
	p.names[port] = purpose
	return port, nil
}

// Check tries to listen on every allocated port and reports each one in use, one line
// each, with how to find the listener.
func (p *Ports) Check() error {
	ports := make([]int, 0, len(p.names))
	for port := range p.names {
		ports = append(ports, port)
	}
	sort.Ints(ports)
	var errs []error
	for _, port := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d (%s) is in use: stop its listener (`ss -ltnp 'sport = :%d'`) or pass --base-port", port, p.names[port], port))
			continue
		}
		l.Close()
	}
	return errors.Join(errs...)
}

// Table lists the allocated ports by number: "port purpose".
func (p *Ports) Table() []string {
	ports := make([]int, 0, len(p.names))
	for port := range p.names {
		ports = append(ports, port)
	}
	sort.Ints(ports)
	out := make([]string, 0, len(ports))
	for _, port := range ports {
		out = append(out, fmt.Sprintf("%5d %s", port, p.names[port]))
	}
	return out
}
