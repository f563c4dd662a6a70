package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/workload"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/test/testkit"
	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/app"
)

func TestConfigurationErrorsAreMarkedAndNameEveryField(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "MessageCount" {
			return "-5", true
		}
		return "", false
	}
	err := app.Run(context.Background(), []string{"--level=l7", "--queue-size=0"}, env, io.Discard, io.Discard)
	if !errors.Is(err, workload.ErrConfig) {
		t.Fatalf("err %v is not a configuration error", err)
	}
	for _, want := range []string{"--level", "--queue-size", "--message-count"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	var usage strings.Builder
	if err := app.Run(context.Background(), []string{"--help"}, func(string) (string, bool) { return "", false }, io.Discard, &usage); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(usage.String(), "-MessageCount") {
		t.Errorf("usage %q", usage.String())
	}
}

// runPaused starts tempsensor (paused: no sidecar needed) until its log has "tempsensor starting"
// and the sensor loop has begun, then stops it and returns the log.
func runPaused(t *testing.T, args ...string) string {
	t.Helper()
	var out testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args = append([]string{"--send-data=false", "--http=127.0.0.1:0", fmt.Sprintf("--app-port=%d", testenv.FreePort(t))}, args...)
	go func() { done <- app.Run(ctx, args, func(string) (string, bool) { return "", false }, &out, io.Discard) }()
	testkit.Eventually(t, 10*time.Second, "the log says sending", func() bool {
		return strings.Contains(out.String(), `"msg":"sending"`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String()
}

func TestWithoutStateDirItWarnsThatIDsRepeat(t *testing.T) {
	log := runPaused(t)
	if !strings.Contains(log, `"level":"WARN","msg":"no --state-dir`) || !strings.Contains(log, "ids repeat after a restart") {
		t.Errorf("no warning about repeating ids:\n%s", log)
	}
	dir := t.TempDir()
	log = runPaused(t, "--state-dir", dir, "--device-id=m9")
	if strings.Contains(log, "no --state-dir") || !strings.Contains(log, `"msg":"sequence store opened"`) ||
		!strings.Contains(log, filepath.Join(dir, "seq-m9")) {
		t.Errorf("with --state-dir:\n%s", log)
	}
}
