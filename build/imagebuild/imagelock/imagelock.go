// Package imagelock reads and writes the build record of the workload images,
// bin/images.lock.json: the digests of the images and charts that `make images`, `make bundles`
// or `make publish` produced, together with every build input that went into them (version,
// revision, creation time, toolchain, platforms), so a later build from the same source can
// prove it yields the same digests (`edgeframe-images verify`). It is a build output, never
// committed; the staged bundle manifests carry the same digests.
package imagelock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// DefaultPath is where a build writes the lock, relative to the repository root.
const DefaultPath = "bin/images.lock.json"

// Build records the inputs shared by every image of one build.
type Build struct {
	// Version is stamped into the binaries and the org.opencontainers.image.version label.
	Version string `json:"version"`
	// Revision is the org.opencontainers.image.revision label (the last commit touching the sources).
	Revision string `json:"revision"`
	// Source is the org.opencontainers.image.source label.
	Source string `json:"source"`
	// Created is the image creation time (SOURCE_DATE_EPOCH), RFC 3339 UTC.
	Created time.Time `json:"created"`
	// Go is the toolchain (`go env GOVERSION`); another toolchain gives other binaries.
	Go string `json:"go"`
	// Platforms are the os/arch pairs of every index.
	Platforms []string `json:"platforms"`
}

// Image is one workload image.
type Image struct {
	// Repository is <registry>/edgeframe/<name>.
	Repository string `json:"repository"`
	// Digest is the digest of the multi-platform index.
	Digest string `json:"digest"`
	// Platforms maps os/arch to the digest of that platform's manifest.
	Platforms map[string]string `json:"platforms"`
}

// Ref returns repository@digest.
func (i Image) Ref() string { return i.Repository + "@" + i.Digest }

// Chart is one chart pushed as an OCI artifact.
type Chart struct {
	Repository string `json:"repository"`
	Version    string `json:"version"`
	Digest     string `json:"digest"`
}

// Lock is the whole file.
type Lock struct {
	Build  Build            `json:"build"`
	Images map[string]Image `json:"images"`
	Charts map[string]Chart `json:"charts,omitempty"`
}

var (
	digestRE   = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+$`)
	repoRE     = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$`)
)

// Validate reports every problem at once, naming the field.
func (l Lock) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if l.Build.Version == "" {
		add("build.version: required")
	}
	if l.Build.Source == "" {
		add("build.source: required")
	}
	if l.Build.Created.IsZero() {
		add("build.created: required")
	}
	if l.Build.Go == "" {
		add("build.go: required")
	}
	if len(l.Build.Platforms) == 0 {
		add("build.platforms: at least one required")
	}
	for i, p := range l.Build.Platforms {
		if !platformRE.MatchString(p) {
			add("build.platforms[%d]: %q is not os/arch", i, p)
		}
	}
	if len(l.Images) == 0 {
		add("images: at least one required")
	}
	for _, name := range sortedKeys(l.Images) {
		img := l.Images[name]
		if !repoRE.MatchString(img.Repository) {
			add("images.%s.repository: %q is not a registry repository", name, img.Repository)
		}
		if !digestRE.MatchString(img.Digest) {
			add("images.%s.digest: %q is not sha256:<64 hex>", name, img.Digest)
		}
		for _, p := range l.Build.Platforms {
			if _, ok := img.Platforms[p]; !ok {
				add("images.%s.platforms: %s missing", name, p)
			}
		}
		for p, d := range img.Platforms {
			if !digestRE.MatchString(d) {
				add("images.%s.platforms[%s]: %q is not sha256:<64 hex>", name, p, d)
			}
		}
	}
	for _, name := range sortedKeys(l.Charts) {
		c := l.Charts[name]
		if !repoRE.MatchString(c.Repository) {
			add("charts.%s.repository: %q is not a registry repository", name, c.Repository)
		}
		if c.Version == "" {
			add("charts.%s.version: required", name)
		}
		if !digestRE.MatchString(c.Digest) {
			add("charts.%s.digest: %q is not sha256:<64 hex>", name, c.Digest)
		}
	}
	return errors.Join(errs...)
}

// Load reads and validates a lock file.
func Load(path string) (Lock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Lock{}, fmt.Errorf("image lock: %w", err)
	}
	var l Lock
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Lock{}, fmt.Errorf("image lock %s: %w", path, err)
	}
	if err := l.Validate(); err != nil {
		return Lock{}, fmt.Errorf("image lock %s: %w", path, err)
	}
	return l, nil
}

// Save validates and writes the lock (stable, indented JSON with a trailing newline).
func (l Lock) Save(path string) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("image lock: %w", err)
	}
	l.Build.Created = l.Build.Created.UTC()
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("image lock: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Repository returns the conventional image repository <registry>/edgeframe/<name>.
func Repository(registry, name string) string {
	return strings.TrimSuffix(registry, "/") + "/edgeframe/" + name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
