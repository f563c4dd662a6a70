package flagenv_test

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"flag"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/flagenv"
)

func TestApplyNamesHasTheLowestPrecedence(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	delay := fs.Duration("message-delay", 5*time.Second, "")
	count := fs.Int("message-count", 500, "")
	temp := fs.Float64("machine-temp-min", 21, "")
	names := map[string]string{"message-delay": "MessageDelay", "message-count": "MessageCount", "machine-temp-min": "machineTempMin"}
	lookup := testkit.Env(map[string]string{
		"MessageDelay":                          "1s",
		"MessageCount":                          "7",
		"machineTempMin":                        "30",
		"EDGEFRAME_TEMPSENSOR_MACHINE_TEMP_MIN": "25",
	})
	if err := flagenv.Parse(fs, "tempsensor", []string{"--message-delay=2s"}, lookup); err != nil {
		t.Fatal(err)
	}
	if err := flagenv.ApplyNames(fs, names, lookup); err != nil {
		t.Fatal(err)
	}
	if *delay != 2*time.Second || *count != 7 || *temp != 25 {
		t.Errorf("delay %s (want the flag's 2s), count %d (want MessageCount 7), temp %g (want EDGEFRAME_ 25)", *delay, *count, *temp)
	}
}

func TestApplyNamesNamesTheVariableAndTheFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("message-count", 500, "")
	fs.Bool("send-data", true, "")
	err := flagenv.ApplyNames(fs, map[string]string{"message-count": "MessageCount", "send-data": "SendData", "nope": "Nope"},
		testkit.Env(map[string]string{"MessageCount": "many", "SendData": "perhaps"}))
	for _, want := range []string{"MessageCount (flag --message-count)", "SendData (flag --send-data)", "no flag --nope"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
}
