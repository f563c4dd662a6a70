package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"sort"
)

// ApplyNames sets every flag of fs that is still unset (neither on the command line nor
// by Apply) from a variable of a name chosen by the caller: names maps a flag name to its
// variable. It lets a workload also accept the variable names of the tool it mirrors
// (IoT Edge's MessageDelay, OPC Publisher's PublishedNodesFile) at a lower precedence
// than its own EDGEFRAME_* names. Call it after Apply. Every bad value is reported, each
// naming the variable and the flag.
func ApplyNames(fs *flag.FlagSet, names map[string]string, lookup func(string) (string, bool)) error {
	given := map[flag.Value]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Value] = true })
	flags := make([]string, 0, len(names))
	for name := range names {
		flags = append(flags, name)
	}
	sort.Strings(flags)
	var errs []error
	for _, name := range flags {
		f := fs.Lookup(name)
		if f == nil {
			errs = append(errs, fmt.Errorf("flagenv: no flag --%s for variable %s", name, names[name]))
			continue
		}
		if given[f.Value] {
			continue
		}
		v, ok := lookup(names[name])
		if !ok {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s (flag --%s): %w", names[name], name, err))
			continue
		}
		given[f.Value] = true
	}
	return errors.Join(errs...)
}
