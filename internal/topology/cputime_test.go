package topology

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// rusageCPU is this process's user+system CPU time from getrusage, an independent
// reference for CPUTimeOf.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUTimeOfARunningProcess(t *testing.T) {
	// this test process: spin until getrusage counts 300 ms more CPU (however long that
	// takes on a loaded machine) and see CPUTimeOf count the same
	before, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ref := rusageCPU(t)
	for deadline := time.Now().Add(30 * time.Second); rusageCPU(t)-ref < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatal("could not spin 300 ms of CPU within 30 s")
		}
	}
	spun := rusageCPU(t) - ref
	after, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < spun-100*time.Millisecond || d > spun+100*time.Millisecond {
		t.Fatalf("getrusage counted %s of CPU, CPUTimeOf %s", spun, d)
	}
}
