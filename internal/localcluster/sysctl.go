package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sysctls are the machine-wide kernel settings the node changes: kubelet (with the default
// protectKernelDefaults: false) sets vm.overcommit_memory=1, vm.panic_on_oom=0, kernel.panic=10,
// kernel.panic_on_oops=1 and the kernel.keys.root_* limits; the CNI bridge with isGateway sets
// net.ipv4.ip_forward=1; kube-proxy may set route_localnet, the bridge netfilter hooks and the
// conntrack table size. Up records them and Down writes the recorded values back.
var Sysctls = []string{
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
	"net/netfilter/nf_conntrack_max",
}

// ReadSysctls returns the current value of each key that exists on this kernel.
func ReadSysctls(keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sysctl %s: %w", k, err)
		}
		out[k] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// RestoreSysctls writes back every recorded value that differs now and returns what it
// changed ("key: now -> recorded").
func RestoreSysctls(recorded map[string]string) ([]string, error) {
	keys := make([]string, 0, len(recorded))
	for k := range recorded {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var changed []string
	var errs []error
	for _, k := range keys {
		p := filepath.Join("/proc/sys", k)
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s: %w", k, err))
			continue
		}
		now := strings.TrimSpace(string(b))
		if now == recorded[k] {
			continue
		}
		if err := os.WriteFile(p, []byte(recorded[k]+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s: restore %q: %w", k, recorded[k], err))
			continue
		}
		changed = append(changed, fmt.Sprintf("%s: %s -> %s", strings.ReplaceAll(k, "/", "."), now, recorded[k]))
	}
	return changed, errors.Join(errs...)
}
