package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CapAddressSpace limits process pid (0 = this test process) to its current virtual
// size plus headroom bytes (RLIMIT_AS). A process that allocates what a hostile length
// field asks for then fails with "runtime: out of memory" whatever vm.overcommit_memory
// says, so robustness tests fail on an unbounded allocation on any machine
// (testing-notes.md). For this process the previous limit is restored when t ends.
func CapAddressSpace(t testing.TB, pid int, headroom uint64) {
	t.Helper()
	status := "/proc/self/status"
	if pid != 0 {
		status = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	var vm uint64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmSize:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			vm = kb << 10
		}
	}
	if vm == 0 {
		t.Fatalf("no VmSize in %s", status)
	}
	var old unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, nil, &old); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	lim := unix.Rlimit{Cur: min(vm+headroom, old.Max), Max: old.Max}
	if pid != 0 {
		lim.Max = lim.Cur // a child keeps the cap for good
	}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil); err != nil {
		t.Fatalf("prlimit RLIMIT_AS=%d on pid %d: %v", lim.Cur, pid, err)
	}
	if pid == 0 {
		t.Cleanup(func() { _ = unix.Prlimit(0, unix.RLIMIT_AS, &old, nil) })
	}
}
