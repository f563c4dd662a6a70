package bundles_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	bicepParamRE  = regexp.MustCompile(`(?m)^param\s+([A-Za-z0-9_]+)\s+(\w+)(\s*=.*)?$`)
	bicepOutputRE = regexp.MustCompile(`(?m)^output\s+([A-Za-z0-9_]+)\s+\w+\s*=`)
	armOutputRE   = regexp.MustCompile(`^\$\.properties\.outputs\.([A-Za-z0-9_]+)\.value$`)
)

type bicepFile struct {
	params  map[string]bool // name -> has default
	outputs map[string]bool
}

func parseBicep(t *testing.T, path string) bicepFile {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := bicepFile{params: map[string]bool{}, outputs: map[string]bool{}}
	for _, m := range bicepParamRE.FindAllStringSubmatch(string(src), -1) {
		f.params[m[1]] = m[3] != ""
	}
	for _, m := range bicepOutputRE.FindAllStringSubmatch(string(src), -1) {
		f.outputs[m[1]] = true
	}
	if len(f.params) == 0 {
		t.Fatalf("%s declares no param", path)
	}
	// Braces, brackets and parentheses balance (a cheap syntax check: Bicep cannot run here).
	depth := map[rune]int{}
	pairs := map[rune]rune{'}': '{', ']': '[', ')': '('}
	inString := false
	for _, line := range strings.Split(string(src), "\n") {
		if i := strings.Index(line, "//"); i >= 0 && strings.Count(line[:i], "'")%2 == 0 {
			line = line[:i]
		}
		for _, r := range line {
			switch {
			case r == '\'':
				inString = !inString
			case inString:
			case r == '{' || r == '[' || r == '(':
				depth[r]++
			case pairs[r] != 0:
				depth[pairs[r]]--
				if depth[pairs[r]] < 0 {
					t.Fatalf("%s: unbalanced %c", path, r)
				}
			}
		}
	}
	for r, d := range depth {
		if d != 0 {
			t.Fatalf("%s: unbalanced %c (%d open)", path, r, d)
		}
	}
	return f
}

// The az deployment steps pass only parameters the Bicep file declares, every Bicep
// parameter without a default is passed, and every output a step reads is declared.
func TestBicepParametersAndOutputsMatchTheSteps(t *testing.T) {
	checked := 0
	for _, b := range loadBundles(t) {
		for _, s := range b.allSteps() {
			flags, _ := s.Body["flags"].(map[string]any)
			tf, _ := flags["template-file"].(string)
			if s.Mixin != "az" || tf == "" {
				continue
			}
			checked++
			f := parseBicep(t, b.localPath(t, tf))
			passed := map[string]bool{}
			args, _ := s.Body["arguments"].([]any)
			afterParams := false
			for _, a := range args {
				arg := a.(string)
				if arg == "--parameters" {
					afterParams = true
					continue
				}
				if !afterParams {
					continue
				}
				name, _, ok := strings.Cut(arg, "=")
				if !ok {
					t.Errorf("%s: argument %q after --parameters is not name=value", s, arg)
					continue
				}
				if _, declared := f.params[name]; !declared {
					t.Errorf("%s: passes %s, %s declares no such param", s, name, tf)
				}
				passed[name] = true
			}
			for p, hasDefault := range f.params {
				if !hasDefault && !passed[p] {
					t.Errorf("%s: %s requires param %s, the step does not pass it", s, tf, p)
				}
			}
			outs, _ := s.Body["outputs"].([]any)
			for _, o := range outs {
				jp, _ := o.(map[string]any)["jsonPath"].(string)
				m := armOutputRE.FindStringSubmatch(jp)
				if m == nil {
					t.Errorf("%s: output jsonPath %q is not $.properties.outputs.<name>.value", s, jp)
					continue
				}
				if !f.outputs[m[1]] {
					t.Errorf("%s: reads output %s, %s declares no such output", s, m[1], tf)
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d Bicep deployment steps found", checked)
	}
}
