package imagebuild

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The root Dockerfile must build every workload `make images` builds, each in a stage
// named after it whose entrypoint is /usr/local/bin/<name> — the same layout as the
// daemonless images, so charts work with either.
func TestDockerfileHasAStagePerWorkload(t *testing.T) {
	root := filepath.Join("..", "..")
	names, err := Workloads(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	build := regexp.MustCompile(`(?s)go build .*?-o /out/ (.*?)\n\n`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("no `go build … -o /out/ <packages>` in the build stage")
	}
	built := strings.Fields(strings.ReplaceAll(build[1], "\\", " "))
	stages := regexp.MustCompile(`(?m)^FROM runtime AS (\S+)$`).FindAllStringSubmatch(df, -1)
	if len(stages) != len(names) || len(built) != len(names) {
		t.Fatalf("workloads %v; Dockerfile stages %v, built packages %v", names, stages, built)
	}
	for _, n := range names {
		if !strings.Contains(df, "./workloads/"+n+"/cmd/"+n) {
			t.Errorf("%s: not built (want ./workloads/%s/cmd/%s in the go build)", n, n, n)
		}
		stage := regexp.MustCompile(`(?s)FROM runtime AS ` + n + `\n(.*?)(\n\n|$)`).FindStringSubmatch(df)
		if stage == nil {
			t.Errorf("%s: no `FROM runtime AS %s` stage", n, n)
			continue
		}
		for _, want := range []string{
			`LABEL org.opencontainers.image.title="` + n + `"`,
			"COPY --from=build /out/" + n + " /usr/local/bin/" + n,
			`ENTRYPOINT ["/usr/local/bin/` + n + `"]`,
		} {
			if !strings.Contains(stage[1], want) {
				t.Errorf("%s stage lacks %s", n, want)
			}
		}
	}
}
