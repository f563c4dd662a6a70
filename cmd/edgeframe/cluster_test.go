package main

import (
	"bytes"
	"strings"
	"testing"
)

// The cluster subcommand answers usage errors itself (exit 2 without a verb, 1 and the usage
// for an unknown verb, 2 for an unknown flag) before it touches the machine.
func TestClusterUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args     []string
		code     int
		stderrIs string
	}{
		{[]string{"cluster"}, 2, clusterUsage},
		{[]string{"cluster", "sideways"}, 1, `unknown command "sideways"`},
		{[]string{"cluster", "up", "--no-such-flag"}, 2, "flag provided but not defined: -no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		code := dispatch(c.args, func(string) (string, bool) { return "", false }, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.stderrIs) {
			t.Errorf("edgeframe %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.stderrIs)
		}
	}
	var stdout, stderr bytes.Buffer
	if dispatch([]string{"help"}, nil, &stdout, &stderr); !strings.Contains(stdout.String(), "cluster ") {
		t.Errorf("edgeframe help does not list cluster:\n%s", stdout.String())
	}
}
