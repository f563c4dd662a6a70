package topology

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// selfCPU is this process's CPU time as getrusage(2) counts it: the reference CPUTimeOf's
// /proc reading is checked against, independent of how busy the machine is.
func selfCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUTimeOfARunningProcess(t *testing.T) {
	before, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until this process has used 300 ms of CPU (not of wall time: on a loaded machine
	// 300 ms of wall time can be much less CPU).
	ref0 := selfCPU(t)
	for selfCPU(t)-ref0 < 300*time.Millisecond {
	}
	ref := selfCPU(t) - ref0
	after, err := CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts in clock ticks (10 ms), and other goroutines of the test binary add a little.
	if d := after - before; d < ref-50*time.Millisecond || d > ref+time.Second {
		t.Fatalf("%s of CPU (getrusage) counted as %s from /proc", ref, d)
	}
}
