package workload_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/pkg/workload"
)

type cfg struct{ Level string }

func load(args []string, _ func(string) (string, bool), stderr io.Writer) (cfg, error) {
	var c cfg
	fs := flag.NewFlagSet("w", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Level, "level", "l2", "ISA-95 level")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Level != "l2" && c.Level != "l3" && c.Level != "l4" {
		return c, fmt.Errorf("--level: %q: want l2, l3 or l4", c.Level)
	}
	return c, nil
}

func noEnv(string) (string, bool) { return "", false }

func TestLoad(t *testing.T) {
	c, ok, err := workload.Load(load, []string{"--level=l3"}, noEnv, io.Discard)
	if err != nil || !ok || c.Level != "l3" {
		t.Fatalf("Load = %+v, %v, %v", c, ok, err)
	}
	var usage bytes.Buffer
	if _, ok, err := workload.Load(load, []string{"--help"}, noEnv, &usage); ok || err != nil || !strings.Contains(usage.String(), "-level") {
		t.Errorf("--help: ok=%v err=%v usage=%q; want the usage and no error", ok, err, usage.String())
	}
	_, ok, err = workload.Load(load, []string{"--level=l7"}, noEnv, io.Discard)
	if ok || !errors.Is(err, workload.ErrConfig) || !strings.Contains(err.Error(), "--level") {
		t.Errorf("bad level: ok=%v err=%v; want ErrConfig naming --level", ok, err)
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
		out  string
	}{
		{nil, 0, ""},
		{fmt.Errorf("%w: --level: bad", workload.ErrConfig), 2, "w: configuration: --level: bad\n"},
		{errors.New("listen: address in use"), 1, "w: listen: address in use\n"},
	} {
		var out bytes.Buffer
		if got := workload.Status("w", tc.err, &out); got != tc.want || out.String() != tc.out {
			t.Errorf("Status(%v) = %d, %q; want %d, %q", tc.err, got, out.String(), tc.want, tc.out)
		}
	}
}
