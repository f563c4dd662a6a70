package app_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

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
	if !errors.Is(err, app.ErrConfig) {
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
