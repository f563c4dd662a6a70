package config_test

import (
	"github.com/edgeframe/edgeframe/test/testkit"

	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/config"
)

func TestDefaultsAreTheIoTEdgeModule(t *testing.T) {
	c, err := config.Load(nil, testkit.Env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Delay() != 5*time.Second || c.MessageCount != 500 || !c.SendData || c.Model.MachineTempMin != 21 ||
		c.Model.MachineTempMax != 100 || c.Model.MachinePressureMin != 1 || c.Model.MachinePressureMax != 10 ||
		c.Model.AmbientTemp != 21 || c.Model.AmbientHumidity != 25 {
		t.Errorf("defaults %+v", c)
	}
	if c.Topic != "telemetry/tempsensor/sensor-1" || c.ControlTopic != "control/tempsensor" || c.PubSub != "edge-pubsub" || c.Level != "l2" {
		t.Errorf("names %+v", c)
	}
}

func TestSources(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c config.Config) bool
	}{
		{"flags", []string{"--message-delay=250ms", "--message-count", "-1", "--device-id", "m7", "--send-data=false"}, nil,
			func(c config.Config) bool {
				return c.Delay() == 250*time.Millisecond && c.MessageCount == -1 && c.Topic == "telemetry/tempsensor/m7" && !c.SendData
			}},
		{"IoT Edge flag names and TimeSpan", []string{"--MessageDelay=00:00:00.001", "--MessageCount=3", "--machineTempMax=50", "--SendData=False"}, nil,
			func(c config.Config) bool {
				return c.Delay() == time.Millisecond && c.MessageCount == 3 && c.Model.MachineTempMax == 50 && !c.SendData
			}},
		{"EDGEFRAME variables", nil, map[string]string{"EDGEFRAME_TEMPSENSOR_MESSAGE_COUNT": "9", "EDGEFRAME_TEMPSENSOR_TOPIC": "telemetry/x/y", "EDGEFRAME_TEMPSENSOR_RATE": "1000"},
			func(c config.Config) bool {
				return c.MessageCount == 9 && c.Topic == "telemetry/x/y" && c.Delay() == time.Millisecond
			}},
		{"IoT Edge variables", nil, map[string]string{"MessageDelay": "00:00:02", "MessageCount": "-1", "ambientTemp": "30", "ambientHumidity": "60", "SendData": "false"},
			func(c config.Config) bool {
				return c.Delay() == 2*time.Second && c.MessageCount == -1 && c.Model.AmbientTemp == 30 && c.Model.AmbientHumidity == 60 && !c.SendData
			}},
		{"state dir from the environment", []string{"--device-id=m7"}, map[string]string{"EDGEFRAME_TEMPSENSOR_STATE_DIR": "/var/lib/tempsensor"},
			func(c config.Config) bool {
				return c.StateDir == "/var/lib/tempsensor" && c.SequenceFile() == "/var/lib/tempsensor/seq-m7"
			}},
		{"no state dir: sequences in memory", nil, nil,
			func(c config.Config) bool { return c.StateDir == "" && c.SequenceFile() == "" }},
		{"flag beats EDGEFRAME beats IoT Edge variable", []string{"--message-count=1"},
			map[string]string{"EDGEFRAME_TEMPSENSOR_MESSAGE_COUNT": "2", "MessageCount": "3", "EDGEFRAME_TEMPSENSOR_MACHINE_TEMP_MIN": "10", "machineTempMin": "11"},
			func(c config.Config) bool { return c.MessageCount == 1 && c.Model.MachineTempMin == 10 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.args, testkit.Env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("got %+v (delay %s)", c, c.Delay())
			}
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	_, err := config.Load([]string{
		"--message-count=-2", "--device-id=a/b", "--level=l9", "--app-port=0", "--http=nope",
		"--pubsub=", "--queue-size=0", "--log-level=loud", "--machine-temp-max=10", "--ambient-humidity=0",
		"--control-topic=control/#", "--dapr-grpc=bad", "--publish-batch=0",
	}, testkit.Env(nil), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--message-count", "--device-id", "--level", "--app-port", "--http", "--pubsub",
		"--queue-size", "--log-level", "machineTempMax", "ambientHumidity", "--control-topic", "--dapr-grpc", "--publish-batch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestBadValuesNameTheirSource(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bare number is ambiguous", []string{"--MessageDelay=5"}, nil, "no unit"},
		{"bad TimeSpan", []string{"--message-delay=00:61:00"}, nil, "minutes"},
		{"IoT Edge variable", nil, map[string]string{"MessageCount": "lots"}, "MessageCount (flag --message-count)"},
		{"EDGEFRAME variable", nil, map[string]string{"EDGEFRAME_TEMPSENSOR_SEND_DATA": "maybe"}, "EDGEFRAME_TEMPSENSOR_SEND_DATA"},
		{"rate and delay", []string{"--rate=10"}, map[string]string{"MessageDelay": "1s"}, "either --rate or --message-delay"},
		{"too fast", []string{"--rate=1e6"}, nil, "above the maximum"},
		{"too short", []string{"--message-delay=1us"}, nil, "--message-delay: must be at least"},
		{"stray argument", []string{"extra"}, nil, "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(tc.args, testkit.Env(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var b strings.Builder
	_, err := config.Load([]string{"-h"}, testkit.Env(nil), &b)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(b.String(), "-message-delay") || !strings.Contains(b.String(), "-MessageDelay") {
		t.Fatalf("err %v, usage %q", err, b.String())
	}
}

func TestParseDelay(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"5s", 5 * time.Second, false},
		{"1ms", time.Millisecond, false},
		{"00:00:05", 5 * time.Second, false},
		{"00:00:00.001", time.Millisecond, false},
		{"00:00:00.0000001", 100 * time.Nanosecond, false},
		{"1.02:03:04.5", 26*time.Hour + 3*time.Minute + 4500*time.Millisecond, false},
		{"00:01", time.Minute, false},
		{"-00:00:01", -time.Second, false},
		{"5", 0, true},
		{"", 0, true},
		{"24:00:00", 0, true},
		{"00:00:60", 0, true},
		{"00:00:01.12345678", 0, true},
		{"a:b:c", 0, true},
		{"1:2:3:4", 0, true},
		{"soon", 0, true},
	}
	for _, tc := range cases {
		got, err := config.ParseDelay(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDelay(%q) = %s, %v; want %s, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// Every flag is documented in the workload's README configuration table.
func TestEveryFlagIsInTheREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	config.FlagSet(&c, io.Discard).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(string(b), "`--"+f.Name+"`") && !strings.Contains(string(b), "`"+f.Name+"`") {
			t.Errorf("flag --%s is not in README.md", f.Name)
		}
	})
}
