package app_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/app"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/config"
)

func noEnv(string) (string, bool) { return "", false }

func TestBadFlagsAreAConfigurationError(t *testing.T) {
	err := app.Run(context.Background(), []string{"--mm=Uadp", "--bs=-1"}, noEnv, io.Discard, io.Discard)
	if !errors.Is(err, workload.ErrConfig) || !strings.Contains(err.Error(), "--mm") || !strings.Contains(err.Error(), "--bs") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingPublishedNodesFileFailsAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := app.Run(ctx, []string{"--pf", filepath.Join(t.TempDir(), "nope.json"), "--http", "127.0.0.1:0"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--pf") || !strings.Contains(err.Error(), "nope.json") {
		t.Fatalf("got %v", err)
	}
}

// An invalid file does not stop the process: every problem is logged, /readyz says why.
func TestInvalidFileIsLoggedEntryByEntry(t *testing.T) {
	pf := filepath.Join(t.TempDir(), "pn.json")
	if err := os.WriteFile(pf, []byte(`[{"EndpointUrl":"http://x","OpcNodes":[{"Id":"bad"}]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	log := runUntilApplied(t, pf)
	for _, want := range []string{"entry 0: EndpointUrl", "entry 0: OpcNodes[0].Id", `"validEntries":0`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// Every flag is in the README's configuration reference.
func TestEveryFlagIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.FlagSet(io.Discard).VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("README does not document %s", name)
		}
	})
}

// Without --state-dir the start warns that ids repeat after a restart; with it, it does not.
func TestWithoutStateDirItWarnsThatIDsRepeat(t *testing.T) {
	pf := filepath.Join(t.TempDir(), "pn.json")
	if err := os.WriteFile(pf, []byte(`[]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if log := runUntilApplied(t, pf); !strings.Contains(log, `"level":"WARN","msg":"no --state-dir`) || !strings.Contains(log, "ids repeat after a restart") {
		t.Errorf("no warning about repeating ids:\n%s", log)
	}
	if log := runUntilApplied(t, pf, "--state-dir", t.TempDir()); strings.Contains(log, "no --state-dir") {
		t.Errorf("warning with --state-dir:\n%s", log)
	}
}

// runUntilApplied runs opcpublisher on the file pf (plus args) until it logs that the file
// was applied, stops it and returns its log.
func runUntilApplied(t *testing.T, pf string, args ...string) string {
	t.Helper()
	var out testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, append([]string{"--pf", pf, "--http", "127.0.0.1:0"}, args...), noEnv, &out, io.Discard)
	}()
	testkit.Eventually(t, 10*time.Second, "the log says publishednodes.json applied", func() bool {
		return strings.Contains(out.String(), "publishednodes.json applied")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return out.String()
}
