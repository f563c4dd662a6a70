package flagenv_test

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
)

func TestFlagWinsOverEnvAndEnvFillsTheRest(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	port := fs.Int("pn", 50000, "")
	delay := fs.Duration("message-delay", 5*time.Second, "")
	var file string
	fs.StringVar(&file, "pf", "", "")
	fs.StringVar(&file, "publishfile", "", "") // alias
	err := flagenv.Parse(fs, "opcplc", []string{"--pn=4840", "--publishfile", "a.json"}, testkit.Env(map[string]string{
		"EDGEFRAME_OPCPLC_PN":            "1",
		"EDGEFRAME_OPCPLC_MESSAGE_DELAY": "2s",
		"EDGEFRAME_OPCPLC_PF":            "from-env.json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if *port != 4840 || *delay != 2*time.Second || file != "a.json" {
		t.Errorf("pn=%d delay=%s file=%s", *port, *delay, file)
	}
}

func TestBadEnvValuesAreAllReported(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("pn", 1, "")
	fs.Bool("aa", false, "")
	err := flagenv.Parse(fs, "opcplc", nil, testkit.Env(map[string]string{"EDGEFRAME_OPCPLC_PN": "x", "EDGEFRAME_OPCPLC_AA": "maybe"}))
	if err == nil {
		t.Fatal("bad env accepted")
	}
	for _, want := range []string{"EDGEFRAME_OPCPLC_PN (flag --pn)", "EDGEFRAME_OPCPLC_AA (flag --aa)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}
