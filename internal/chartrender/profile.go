package chartrender

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"sigs.k8s.io/yaml"
)

// ProfileFile is the file in a profile directory that lists its namespaces and releases.
const ProfileFile = "profile.yaml"

// Profile is the set of Helm releases that make up one cluster (charts/profiles/<name>).
type Profile struct {
	// Name is the profile directory's name (l2, l3, l4, single-cluster).
	Name string `json:"-"`
	// Dir is the profile directory.
	Dir string `json:"-"`
	// Namespaces the releases go to, created with the restricted Pod Security profile.
	Namespaces []string `json:"namespaces"`
	// Releases in install order.
	Releases []ProfileRelease `json:"releases"`
}

// ProfileRelease is one release of a profile.
type ProfileRelease struct {
	Name      string `json:"name"`
	Chart     string `json:"chart"`
	Namespace string `json:"namespace"`
	// Values is the values file, relative to the profile directory.
	Values string `json:"values"`
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// LoadProfile reads dir/profile.yaml and checks it as a whole: every problem is reported.
func LoadProfile(dir string) (Profile, error) {
	path := filepath.Join(dir, ProfileFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	var p Profile
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	p.Name, p.Dir = filepath.Base(dir), dir
	if err := p.Validate(); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// Validate reports every problem of the profile at once.
func (p Profile) Validate() error {
	var errs []error
	if len(p.Releases) == 0 {
		errs = append(errs, errors.New("releases: at least one release is required"))
	}
	ns := map[string]bool{}
	for i, n := range p.Namespaces {
		if !dnsLabel.MatchString(n) {
			errs = append(errs, fmt.Errorf("namespaces[%d]: %q is not a DNS label", i, n))
		}
		ns[n] = true
	}
	seen := map[string]bool{}
	for i, r := range p.Releases {
		at := fmt.Sprintf("releases[%d]", i)
		if !dnsLabel.MatchString(r.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not a DNS label", at, r.Name))
		}
		if r.Chart == "" {
			errs = append(errs, fmt.Errorf("%s.chart: required", at))
		}
		if !ns[r.Namespace] {
			errs = append(errs, fmt.Errorf("%s.namespace: %q is not listed in namespaces", at, r.Namespace))
		}
		key := r.Namespace + "/" + r.Name
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: release %s appears twice", at, key))
		}
		seen[key] = true
		if r.Values != "" {
			if _, err := os.Stat(filepath.Join(p.Dir, r.Values)); err != nil {
				errs = append(errs, fmt.Errorf("%s.values: %w", at, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Values reads the values file of release r.
func (p Profile) Values(r ProfileRelease) (map[string]any, error) {
	vals := map[string]any{}
	if r.Values == "" {
		return vals, nil
	}
	path := filepath.Join(p.Dir, r.Values)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("values of release %s/%s: %w", r.Namespace, r.Name, err)
	}
	if err := yaml.Unmarshal(b, &vals); err != nil {
		return nil, fmt.Errorf("values of release %s/%s: %s: %w", r.Namespace, r.Name, path, err)
	}
	return vals, nil
}

// ChartDir is the directory of release r's chart, given the charts directory.
func (r ProfileRelease) ChartDir(chartsDir string) string { return filepath.Join(chartsDir, r.Chart) }

// Profiles lists the profiles under chartsDir/profiles, sorted by name.
func Profiles(chartsDir string) ([]Profile, error) {
	matches, err := filepath.Glob(filepath.Join(chartsDir, "profiles", "*", ProfileFile))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	var out []Profile
	var errs []error
	for _, m := range matches {
		p, err := LoadProfile(filepath.Dir(m))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Charts lists the application charts under chartsDir (directories with a Chart.yaml whose
// type is not library), sorted by name.
func Charts(chartsDir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(chartsDir, "*", "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		var meta struct {
			Type string `json:"type"`
		}
		if err := yaml.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		if meta.Type != "library" {
			out = append(out, filepath.Dir(m))
		}
	}
	sort.Strings(out)
	return out, nil
}
