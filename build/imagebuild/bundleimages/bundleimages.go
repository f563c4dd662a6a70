// Package bundleimages writes the digests of the workload images just built into the
// `images:` section of a staged porter.yaml: each workload entry's repository, tag and digest
// are set from the build's lock (a digest line is added where the committed manifest has only
// repository and tag), and the rest of the file, comments included, is left byte for byte, so
// `porter publish` relocates exactly the images `make bundles`/`make publish` produced. The
// committed manifests carry no workload digests; only the staged copies do.
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
	// Digest is empty for a workload entry of a committed manifest (it has a tag).
	Digest string
	Tag    string
	// ThirdParty is set for an entry labelled ThirdPartyLabel: third-party.
	ThirdParty bool
}

// entry locates the scalar nodes of one images entry (digest and tag may be nil).
type entry struct {
	repoKey, repo, digest, tag *yaml.Node
	thirdParty                 bool
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
		e := entry{repoKey: lookupKey(body, "repository"), repo: lookup(body, "repository"), digest: lookup(body, "digest"), tag: lookup(body, "tag")}
		if labels := lookup(body, "labels"); labels != nil && labels.Kind == yaml.MappingNode {
			if v := lookup(labels, ThirdPartyLabel); v != nil && v.Value == "third-party" {
				e.thirdParty = true
			}
		}
		if e.repo == nil || e.repo.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("images.%s.repository: required", name))
		}
		if e.digest != nil && e.digest.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("images.%s.digest: want a string", name))
		}
		if e.tag != nil && e.tag.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("images.%s.tag: want a string", name))
		}
		if e.thirdParty && e.digest == nil {
			errs = append(errs, fmt.Errorf("images.%s.digest: required for a third-party image", name))
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

func lookupKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func value(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
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
		out[n] = Ref{Repository: e.repo.Value, Digest: value(e.digest), Tag: value(e.tag), ThirdParty: e.thirdParty}
	}
	return out, nil
}

// Update sets repository, digest and (where the entry has one) tag of every workload images
// entry from the lock: tag becomes the build's version, and an entry without a digest gets a
// digest line under its repository (a block mapping is needed for that). Every entry must be
// a locked workload, except third-party entries (ThirdPartyLabel), which are left as they are.
// It reports whether the file changed.
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
		node   *yaml.Node
		value  string
		insert string // a whole line added after node's line instead of a value replaced
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
		edits = append(edits, edit{node: e.repo, value: img.Repository})
		if e.tag != nil && lock.Build.Version != "" {
			edits = append(edits, edit{node: e.tag, value: lock.Build.Version})
		}
		switch {
		case e.digest != nil:
			edits = append(edits, edit{node: e.digest, value: img.Digest})
		case e.repoKey.Line == e.repo.Line && e.repo.Style&yaml.FlowStyle == 0 && !flowLine(src, e.repoKey):
			edits = append(edits, edit{node: e.repoKey, insert: strings.Repeat(" ", e.repoKey.Column-1) + "digest: " + strconv.Quote(img.Digest)})
		default:
			errs = append(errs, fmt.Errorf("%s:%d: images.%s: no digest to set and not a block mapping to add one to", path, e.repo.Line, name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	lines := strings.Split(string(src), "\n")
	// Right to left within a line, bottom to top overall, so columns and lines stay valid;
	// a line inserted after line L comes before every edit on L.
	sort.Slice(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		if a.node.Line != b.node.Line {
			return a.node.Line > b.node.Line
		}
		if (a.insert != "") != (b.insert != "") {
			return a.insert != ""
		}
		return a.node.Column > b.node.Column
	})
	for _, ed := range edits {
		n := ed.node
		if ed.insert != "" {
			lines = append(lines[:n.Line], append([]string{ed.insert}, lines[n.Line:]...)...)
			continue
		}
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

// flowLine reports whether key sits inside a flow mapping ({…}) on its line.
func flowLine(src []byte, key *yaml.Node) bool {
	lines := strings.Split(string(src), "\n")
	return strings.Contains(lines[key.Line-1][:key.Column-1], "{")
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
