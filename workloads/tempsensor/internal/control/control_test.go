package control_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/workloads/tempsensor/internal/control"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  []string
	}{
		{`{"command":"reset"}`, []string{"reset"}, nil},
		{` {"command":"Reset"} `, []string{"reset"}, nil},
		{`[{"command":"reset"},{"command":"pause"},{"command":"RESUME"}]`, []string{"reset", "pause", "resume"}, nil},
		{`"{\"command\":\"reset\"}"`, []string{"reset"}, nil},
		{``, nil, []string{"empty"}},
		{`[]`, nil, []string{"empty array"}},
		{`{"cmd":"reset"}`, nil, []string{"command: required"}},
		{`{"command":"explode"}`, nil, []string{`unknown command "explode"`}},
		{`[{"command":"reset"},{"command":"x"},{}]`, nil, []string{`[1].command: unknown command "x"`, `[2].command: required`}},
		{`{"command":7}`, nil, []string{"want {\"command\":...}"}},
		{`reset`, nil, []string{"want {\"command\":...} or an array"}},
	}
	for _, tc := range cases {
		got, err := control.Parse([]byte(tc.in))
		if tc.err == nil {
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%s) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			continue
		}
		for _, want := range tc.err {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%s) error %v, want it to contain %q", tc.in, err, want)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"command":"reset"}`, `[{"command":"pause"},{"command":"resume"}]`, `"{}"`, `[`, `{"command":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := control.Parse(b)
		if err == nil && len(cmds) == 0 {
			t.Fatalf("Parse(%q) accepted a message without commands", b)
		}
		for _, c := range cmds {
			if c != control.Reset && c != control.Pause && c != control.Resume {
				t.Fatalf("Parse(%q) returned unknown command %q", b, c)
			}
		}
	})
}
