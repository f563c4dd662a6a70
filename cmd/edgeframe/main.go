// Command edgeframe is the project's own command line. Its subcommands:
//
//	edgeframe demo [flags]                 run the local topology L2 → L3 → L4 (`make demo`)
//	edgeframe cluster up|down|e2e [flags]  a real single-node Kubernetes on this machine and
//	                                       the all-in-one bundle on it (`make cluster-*`)
//	edgeframe version                      print the stamped version and commit
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgeframe/edgeframe/pkg/version"
)

const usage = `usage: edgeframe <command> [flags]

commands:
  demo      run the local topology L2 → L3 → L4 and print a live table (edgeframe demo -h lists its flags)
  cluster   up|down|e2e: a real single-node Kubernetes on this machine and the all-in-one bundle on it (root)
  version   print the version and commit this binary was built from
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// dispatch runs the subcommand args[0] and returns the process exit code: 2 for a usage
// error, 1 when the command fails.
func dispatch(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		return demoMain(args[1:], lookup, stdout, stderr)
	case "cluster":
		return clusterMain(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "edgeframe %s (%s)\n", version.Version, version.Commit)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "edgeframe: unknown command %q\n%s", args[0], usage)
		return 2
	}
}

func demoMain(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	log.SetOutput(io.Discard) // the Helm chart loader's notices
	o, err := parse(args, lookup)
	if err != nil {
		fmt.Fprintln(stderr, "edgeframe demo:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "edgeframe demo:", strings.ReplaceAll(err.Error(), "\n", "\nedgeframe demo: "))
		return 1
	}
	return 0
}
