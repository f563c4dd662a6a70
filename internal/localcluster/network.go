package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/edgeframe/edgeframe/internal/toolcache"
)

func toolPath(name string) string { return toolcache.Look(name) }

// forwardRule drops whatever a pod sends that would leave the bridge: pods have no default
// route, and this keeps it so even if one adds a route.
var forwardRule = []string{"FORWARD", "-s", PodCIDR, "!", "-o", Bridge, "-m", "comment", "--comment", "edgeframe-cluster", "-j", "DROP"}

// netUp creates the bridge with NodeIP (the API server and kubelet listen there before any pod
// exists), a route for the Service range over it (so host-side clients such as the API server
// calling a webhook reach Services with NodeIP as source), and the FORWARD drop rule.
func (c Config) netUp(ctx context.Context, t Tools) error {
	if _, err := os.Stat("/sys/class/net/" + Bridge); err != nil {
		if _, err := run(ctx, "ip", "link", "add", Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if out, _ := run(ctx, "ip", "-4", "addr", "show", "dev", Bridge); !strings.Contains(out, NodeIP+"/") {
		if _, err := run(ctx, "ip", "addr", "add", NodeIP+"/24", "dev", Bridge); err != nil {
			return err
		}
	}
	if _, err := run(ctx, "ip", "link", "set", Bridge, "up"); err != nil {
		return err
	}
	if _, err := run(ctx, "ip", "route", "replace", ServiceCIDR, "dev", Bridge, "src", NodeIP); err != nil {
		return err
	}
	if _, err := run(ctx, t.IPTables, append([]string{"-C"}, forwardRule...)...); err != nil {
		if _, err := run(ctx, t.IPTables, append([]string{"-I"}, forwardRule...)...); err != nil {
			return err
		}
	}
	return nil
}

// listNetns lists the named network namespaces (/var/run/netns).
func listNetns() ([]string, error) {
	entries, err := os.ReadDir("/var/run/netns")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

// mountsUnder lists the mount points under any of dirs, deepest first.
func mountsUnder(dirs ...string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		for _, d := range dirs {
			if mp == d || strings.HasPrefix(mp, strings.TrimSuffix(d, "/")+"/") {
				out = append(out, mp)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// unmountAll lazily unmounts every mount under dirs (deepest first, repeated for stacked mounts).
func unmountAll(dirs ...string) (int, error) {
	n := 0
	for round := 0; round < 5; round++ {
		mps, err := mountsUnder(dirs...)
		if err != nil {
			return n, err
		}
		if len(mps) == 0 {
			return n, nil
		}
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err == nil {
				n++
			}
		}
	}
	mps, _ := mountsUnder(dirs...)
	if len(mps) > 0 {
		return n, fmt.Errorf("still mounted: %s", strings.Join(mps, ", "))
	}
	return n, nil
}

// removeKubeChains deletes every rule that jumps to a KUBE-* chain and every KUBE-* chain, in
// every table of iptables and ip6tables: what kubelet (KUBE-FIREWALL, KUBE-KUBELET-CANARY,
// KUBE-IPTABLES-HINT) and kube-proxy leave behind. Only the node creates KUBE-* chains here.
func removeKubeChains(ctx context.Context) []string {
	var removed []string
	for _, bin := range []string{"iptables", "ip6tables"} {
		path := toolPath(bin)
		if path == "" {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			out, err := run(ctx, path, "-t", table, "-S")
			if err != nil {
				continue
			}
			var chains []string
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				switch {
				case len(f) >= 2 && f[0] == "-N" && strings.HasPrefix(f[1], "KUBE-"):
					chains = append(chains, f[1])
				case len(f) >= 2 && f[0] == "-A" && !strings.HasPrefix(f[1], "KUBE-") && strings.Contains(line, " -j KUBE-"):
					if _, err := run(ctx, path, append([]string{"-t", table, "-D"}, f[1:]...)...); err == nil {
						removed = append(removed, bin+" "+table+" "+line)
					}
				}
			}
			for _, ch := range chains {
				_, _ = run(ctx, path, "-t", table, "-F", ch)
			}
			for _, ch := range chains {
				if _, err := run(ctx, path, "-t", table, "-X", ch); err == nil {
					removed = append(removed, bin+" "+table+" chain "+ch)
				}
			}
		}
	}
	return removed
}
