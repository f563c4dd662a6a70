package testkit_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/test/testkit"
)

// fatalTB records the failure instead of failing the test that runs the helper.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fatalTB in its own goroutine (Fatalf ends it) and returns the failure.
func run(t *testing.T, fn func(testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	start := time.Now()
	msg := run(t, func(tb testing.TB) {
		testkit.Eventually(tb, 5*time.Second, "50 ms passed", func() bool { return time.Since(start) > 50*time.Millisecond })
	})
	if msg != "" {
		t.Fatalf("failed: %s", msg)
	}
	msg = run(t, func(tb testing.TB) {
		testkit.Eventually(tb, 50*time.Millisecond, "never", func() bool { return false })
	})
	if !strings.Contains(msg, "not within 50ms: never") {
		t.Errorf("failure %q, want it to name the deadline and what", msg)
	}
}

func TestEventuallyNoErrorReportsTheLastError(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		testkit.EventuallyNoError(tb, 5*time.Second, "the third call", func() error {
			if calls++; calls < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	})
	if msg != "" || calls != 3 {
		t.Fatalf("failed %q after %d calls, want success on the third", msg, calls)
	}
	calls = 0
	msg = run(t, func(tb testing.TB) {
		testkit.EventuallyNoError(tb, 50*time.Millisecond, "a file", func() error { calls++; return fmt.Errorf("attempt %d", calls) })
	})
	if want := fmt.Sprintf("not within 50ms: a file: attempt %d", calls); msg != want {
		t.Errorf("failure %q, want %q", msg, want)
	}
}
