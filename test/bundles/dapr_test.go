package bundles_test

import (
	"fmt"
	"testing"
)

// The workloads run under the restricted Pod Security profile, and so must the daprd sidecar
// Dapr injects into them: restricted requires every container to drop ALL capabilities, which
// the injector does only with dapr_sidecar_injector.sidecarDropALLCapabilities. Without it the
// API server reports the workload pods as violating restricted (found on the real node,
// internal/localcluster: "opcpublisher…: unrestricted capabilities").
func TestDaprInstallsDropSidecarCapabilities(t *testing.T) {
	const key = "dapr_sidecar_injector.sidecarDropALLCapabilities"
	found := 0
	for _, b := range loadBundles(t) {
		for _, s := range b.allSteps() {
			if s.Mixin != "helm3" || s.Body["chart"] != "dapr/dapr" {
				continue
			}
			found++
			set, _ := s.Body["set"].(map[string]any)
			if fmt.Sprint(set[key]) != "true" {
				t.Errorf("%s %s: set %s = %v, want true", b.Name, s, key, set[key])
			}
		}
	}
	if found == 0 {
		t.Fatal("no bundle installs the dapr/dapr chart")
	}
}
