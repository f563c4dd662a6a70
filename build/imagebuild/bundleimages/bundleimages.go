// Package bundleimages keeps the `images:` section of the porter.yaml manifests in step with
// the image lock: each entry's repository and digest are rewritten in place (the rest of the
// file, comments included, is left byte for byte), so `porter publish` relocates exactly the
// images `make images`/`make publish` produced.
package bundleimages

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/edgeframe/edgeframe/build/imagebuild/imagelock"
)

// ThirdPartyLabel marks an images entry that is not a workload image (mosquitto, Envoy, the
// collector, kubectl): `labels: {edgeframe.io/image: third-party}`. Such an entry is pinned by a
// published digest written by hand and listed so `porter archive`/`publish` relocate it; the lock
// neither has nor rewrites it.
const ThirdPartyLabel = "edgeframe.io/image"

// Ref is one images entry of a manifest.
type Ref struct {
	Repository string
	Digest     string
	// ThirdParty is set for an entry labelled ThirdPartyLabel: third-party.
	ThirdParty bool
}

// entry locates the scalar nodes of one images entry.
type entry struct {
	repo, digest *yaml.Node
	thirdParty   bool
}

func parse(src []byte) (map[string]entry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	root := doc.Content[0]
	out := map[string]entry{}
	images := lookup(root, "images")
	if images == nil {
		return out, nil
	}
	if images.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("images: want a mapping of name to {repository, digest}")
	}
	var errs []error
	for i := 0; i+1 < len(images.Content); i += 2 {
		name, body := images.Content[i].Value, images.Content[i+1]
		if body.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("images.%s: want a mapping", name))
			continue
		}
		e := entry{repo: lookup(body, "repository"), digest: lookup(body, "digest")}
		if labels := lookup(body, "labels"); labels != nil && labels.Kind == yaml.MappingNode {
			if v := lookup(labels, ThirdPartyLabel); v != nil && v.Value == "third-party" {
				e.thirdParty = true
			}
		}
		if e.repo == nil || e.repo.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("images.%s.repository: required", name))
		}
		if e.digest == nil || e.digest.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("images.%s.digest: required", name))
		}
		out[name] = e
	}
	return out, errors.Join(errs...)
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// Read returns the images of a manifest by name.
func Read(path string) (map[string]Ref, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	es, err := parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]Ref, len(es))
	for n, e := range es {
		out[n] = Ref{Repository: e.repo.Value, Digest: e.digest.Value, ThirdParty: e.thirdParty}
	}
	return out, nil
}

// Update rewrites repository and digest of every images entry from the lock. Every entry
// must be a locked workload, except third-party entries (ThirdPartyLabel), which are left as
// they are. It reports whether the file changed.
func Update(path string, lock imagelock.Lock) (bool, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	es, err := parse(src)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	type edit struct {
		node  *yaml.Node
		value string
	}
	var edits []edit
	var errs []error
	for name, e := range es {
		if e.thirdParty {
			continue
		}
		img, ok := lock.Images[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: images.%s: no such workload image in the lock", path, name))
			continue
		}
		edits = append(edits, edit{e.repo, img.Repository}, edit{e.digest, img.Digest})
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	lines := strings.Split(string(src), "\n")
	// Right to left within a line, bottom to top overall, so columns stay valid.
	sort.Slice(edits, func(i, j int) bool {
		a, b := edits[i].node, edits[j].node
		if a.Line != b.Line {
			return a.Line > b.Line
		}
		return a.Column > b.Column
	})
	for _, ed := range edits {
		n := ed.node
		if strings.Contains(n.Value, "\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return false, fmt.Errorf("%s:%d: images value must be a one-line scalar", path, n.Line)
		}
		line := lines[n.Line-1]
		start := n.Column - 1
		end := scalarEnd(line, start, n.Style)
		lines[n.Line-1] = line[:start] + strconv.Quote(ed.value) + line[end:]
	}
	out := strings.Join(lines, "\n")
	if out == string(src) {
		return false, nil
	}
	return true, os.WriteFile(path, []byte(out), 0o644)
}

// scalarEnd returns the end column of the one-line scalar starting at start.
func scalarEnd(line string, start int, style yaml.Style) int {
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '"' {
				return i + 1
			}
		}
	case style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
	default:
		end := len(line)
		if i := strings.Index(line[start:], " #"); i >= 0 {
			end = start + i
		}
		if i := strings.IndexAny(line[start:end], ",}"); i >= 0 {
			end = start + i
		}
		return start + len(strings.TrimRight(line[start:end], " \t"))
	}
	return len(line)
}
