// Package freeport hands out loopback TCP ports for child processes to listen on.
//
// A port the kernel picks for ":0" is from its ephemeral range (32768–60999 by
// default). Closing that listener and passing the number to a child races twice: the
// kernel may hand the same number to the next ":0" (two listeners of one daprd got the
// same port that way), and it may make it the source port of some outgoing connection
// before the child binds. Ports here come from below the ephemeral range instead, each
// handed out once per process, from a random start (so concurrent test binaries start
// far apart), and each checked by listening on it.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// The range ports are taken from: below Linux's default ephemeral range.
const (
	Low  = 20000
	High = 32000
)

var (
	mu   sync.Mutex
	next = Low + rand.IntN(High-Low)
)

// Take returns a loopback port nothing listened on when it was checked and that this
// process has not handed out before.
func Take() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for tries := 0; tries < High-Low; tries++ {
		port := next
		next++
		if next >= High {
			next = Low
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("every port in %d-%d is in use", Low, High-1)
}
