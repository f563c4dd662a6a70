// Package testkit holds the helpers every test package may use without pulling in the
// real components of testenv: Eventually and EventuallyNoError poll a condition with a
// deadline instead of sleeping, SkipShort keeps slow and real-component tests out of `go test -short`
// (`make test-short`, the fast lane).
package testkit

import (
	"testing"
	"time"
)

// PollInterval is how often Eventually checks its condition.
const PollInterval = 20 * time.Millisecond

// Eventually polls cond every PollInterval until it holds and returns how long that
// took; when d passes first it fails the test naming what it waited for.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(PollInterval)
	}
	return time.Since(start)
}

// EventuallyNoError is Eventually for a check that says why it does not hold yet: it polls
// f until f returns nil and returns how long that took; when d passes first it fails the
// test naming what it waited for and f's last error.
func EventuallyNoError(t testing.TB, d time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := f()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s: %v", d, what, err)
		}
		time.Sleep(PollInterval)
	}
}

// SkipShort skips t under -short; what says what the test needs ("mosquitto", "a 60 s
// outage"). A test skips when it needs a real component or takes about a second or more
// of wall time on the 2-core reference machine (bash scripts by the dozen, helm lint of
// every chart, timed windows); the fast lane's budget is one minute for everything. testenv calls it wherever it starts a real component, builds a workload or
// looks up a tool, so a test using those honours -short by itself.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipped, needs " + what)
	}
}

// Env is a lookup over m, the shape of os.LookupEnv: what the workloads' and the demo's
// configuration loaders take, so tests give them an environment without touching the process's.
func Env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
