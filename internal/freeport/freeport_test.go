package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestTakeHandsOutEachPortOnceBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 500; i++ {
		port, err := Take()
		if err != nil {
			t.Fatal(err)
		}
		if port < Low || port >= High {
			t.Fatalf("port %d outside %d-%d", port, Low, High-1)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
}

func TestTakeSkipsAPortInUse(t *testing.T) {
	busy, err := Take()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", busy))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mu.Lock()
	next = busy
	mu.Unlock()
	port, err := Take()
	if err != nil {
		t.Fatal(err)
	}
	if port == busy {
		t.Fatalf("Take returned port %d, which a listener holds", busy)
	}
}
