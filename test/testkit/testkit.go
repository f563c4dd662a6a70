// Package testkit holds the two helpers every test package may use without pulling in
// the real components of testenv: Eventually polls a condition with a deadline instead
// of sleeping, SkipShort keeps slow and real-component tests out of `go test -short`
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

// SkipShort skips t under -short; what says what the test needs ("mosquitto", "a 60 s
// outage"). testenv calls it wherever it starts a real component, builds a workload or
// looks up a tool, so a test using those honours -short by itself.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipped, needs " + what)
	}
}
