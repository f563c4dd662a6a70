// Package flagenv gives every command-line flag an environment fallback named
// EDGEFRAME_<APP>_<FLAG>, so a workload is configured the same way by flags (dapr run,
// a shell) and by env (a Helm chart).
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// EnvName is the environment variable that backs flag name of app.
func EnvName(app, name string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "EDGEFRAME_" + strings.ToUpper(r.Replace(app)) + "_" + strings.ToUpper(r.Replace(name))
}

// Apply sets every flag of fs that was not given on the command line from its
// environment variable, when that is set. fs must already be parsed. Every bad value
// is reported, each naming the variable and the flag.
func Apply(fs *flag.FlagSet, app string, lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// A flag given under any of its aliases counts as set: aliases share the Value.
	given := map[flag.Value]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Value] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || given[f.Value] {
			return
		}
		env := EnvName(app, f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (flag --%s): %w", env, f.Name, err))
			return
		}
		given[f.Value] = true
	})
	return errors.Join(errs...)
}

// Parse parses args into fs and then applies the environment fallbacks.
func Parse(fs *flag.FlagSet, app string, args []string, lookup func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return Apply(fs, app, lookup)
}
