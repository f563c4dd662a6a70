package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Down stops everything Up started and removes its state: the workloads' pods (through the API
// while it runs, then any task left with ctr), kube-proxy's iptables rules, the processes, the
// pods' network namespaces and links, the bridge and its rules, the mounts under the node's
// directories, the pods' cgroups and the state directory; then it writes back the kernel
// settings Up recorded. It reports what it restored and every failure (it goes on after one).
func (c Config) Down(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errNotRoot
	}
	s, err := c.loadState()
	if errors.Is(err, os.ErrNotExist) {
		c.Log.Info("no node state", "dir", c.StateDir)
		return c.removeLeftovers(ctx, nil)
	}
	if err != nil {
		return err
	}
	t, _ := FindTools()
	var errs []error
	find := func(name string) (Proc, bool) {
		for _, p := range s.Procs {
			if p.Name == name {
				return p, alive(p)
			}
		}
		return Proc{}, false
	}
	stopNamed := func(names ...string) {
		for _, n := range names {
			if p, ok := find(n); ok {
				if err := stop(p, 20*time.Second); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	// No new pods, then remove the running ones through kubelet so CNI tears their network down.
	stopNamed("kube-controller-manager", "kube-scheduler")
	if _, kubeletUp := find("kubelet"); kubeletUp {
		if _, apiUp := find("kube-apiserver"); apiUp {
			if _, err := c.kubectl(ctx, "delete", "pods", "--all", "--all-namespaces", "--grace-period=5", "--wait=false"); err != nil {
				c.Log.Warn("delete pods", "err", err)
			}
			_ = poll(ctx, "pods removed", 90*time.Second, func(ctx context.Context) error {
				out, err := c.kubectl(ctx, "get", "pods", "-A", "-o", "name")
				if err != nil {
					return err
				}
				if strings.TrimSpace(out) != "" {
					return fmt.Errorf("left: %s", strings.Join(strings.Fields(out), " "))
				}
				return nil
			})
		}
	}
	stopNamed("kube-proxy", "kubelet")
	if t.KubeProxy != "" {
		if _, err := run(ctx, t.KubeProxy, "--cleanup"); err != nil {
			c.Log.Warn("kube-proxy --cleanup", "err", err)
		}
	}
	if _, ok := find("containerd"); ok && t.Ctr != "" {
		c.killTasks(ctx, t)
	}
	// Stop the rest in reverse start order.
	for i := len(s.Procs) - 1; i >= 0; i-- {
		if err := stop(s.Procs[i], 20*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.removeLeftovers(ctx, s); err != nil {
		errs = append(errs, err)
	}
	changed, err := RestoreSysctls(s.Sysctls)
	if err != nil {
		errs = append(errs, err)
	}
	c.Log.Info("restored kernel settings", "changed", changed)
	if err := os.RemoveAll(c.StateDir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.StateDir, err))
	}
	return errors.Join(errs...)
}

// killTasks kills and deletes every task and container containerd still has (k8s.io namespace).
func (c Config) killTasks(ctx context.Context, t Tools) {
	ctr := func(args ...string) (string, error) {
		return run(ctx, t.Ctr, append([]string{"--address", c.containerdSock(), "-n", "k8s.io"}, args...)...)
	}
	out, _ := ctr("tasks", "ls", "-q")
	for _, id := range strings.Fields(out) {
		_, _ = ctr("tasks", "kill", "-a", "-s", "SIGKILL", id)
	}
	_ = poll(ctx, "tasks stopped", 20*time.Second, func(context.Context) error {
		for _, id := range strings.Fields(out) {
			_, _ = ctr("tasks", "rm", "-f", id)
		}
		left, _ := ctr("tasks", "ls", "-q")
		if strings.TrimSpace(left) != "" {
			return fmt.Errorf("tasks left: %s", left)
		}
		return nil
	})
	cs, _ := ctr("containers", "ls", "-q")
	for _, id := range strings.Fields(cs) {
		_, _ = ctr("containers", "rm", id)
	}
}

// removeLeftovers removes what outlives the processes: the pods' network namespaces created
// while the node ran, the veths on the bridge and the bridge, the FORWARD rule, every mount
// under the node's directories and the kubepods cgroups.
func (c Config) removeLeftovers(ctx context.Context, s *State) error {
	var errs []error
	if s != nil {
		now, _ := listNetns()
		for _, ns := range now {
			if !slices.Contains(s.Netns, ns) && strings.HasPrefix(ns, "cni-") {
				if _, err := run(ctx, "ip", "netns", "delete", ns); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if _, err := os.Stat("/sys/class/net/" + Bridge); err == nil {
		ports, _ := filepath.Glob("/sys/class/net/" + Bridge + "/brif/*")
		for _, p := range ports {
			_, _ = run(ctx, "ip", "link", "delete", filepath.Base(p))
		}
		if _, err := run(ctx, "ip", "link", "delete", Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if removed := removeKubeChains(ctx); len(removed) > 0 {
		c.Log.Info("removed iptables rules and chains", "removed", removed)
	}
	if ipt := toolPath("iptables"); ipt != "" {
		for {
			if _, err := run(ctx, ipt, append([]string{"-D"}, forwardRule...)...); err != nil {
				break
			}
		}
	}
	if _, err := unmountAll(c.StateDir, "/run/containerd/io.containerd.runtime.v2.task/k8s.io"); err != nil {
		errs = append(errs, err)
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods*")
	for _, d := range cg {
		if err := removeCgroupTree(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes an (empty) cgroup directory tree, leaves first.
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return nil
}
