package topology

import (
	"os"
	"testing"
	"time"
)

func TestCPUTimeOfARunningProcess(t *testing.T) {
	// this test process: spin ~200 ms of CPU and see it counted
	before, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
	}
	after, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("300 ms of spinning counted as %s of CPU", d)
	}
}
