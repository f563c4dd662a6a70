package bundles_test

import (
	"fmt"
	"strings"
	"testing"
)

// Every ${ bundle.* } template resolves to something declared, in an action where it applies.
func TestTemplatesResolveToDeclarations(t *testing.T) {
	for _, b := range loadBundles(t) {
		t.Run(b.Name, func(t *testing.T) {
			params, creds, outs, imgs := b.named("parameters"), b.named("credentials"), b.named("outputs"), b.images()
			for _, a := range b.actions() {
				produced := map[string]bool{}
				for _, s := range b.steps(a) {
					for _, ref := range templates(s.Body) {
						kind, rest := ref[0], ref[1]
						where := fmt.Sprintf("%s: ${ bundle.%s.%s }", s, kind, rest)
						switch kind {
						case "parameters":
							p, ok := params[rest]
							if !ok {
								t.Errorf("%s: no such parameter", where)
							} else if !appliesTo(p, a) {
								t.Errorf("%s: parameter does not apply to %s", where, a)
							}
						case "credentials":
							c, ok := creds[rest]
							if !ok {
								t.Errorf("%s: no such credential", where)
							} else if !appliesTo(c, a) {
								t.Errorf("%s: credential does not apply to %s", where, a)
							}
						case "outputs":
							if !produced[rest] {
								t.Errorf("%s: no earlier step of %s produces it", where, a)
							}
						case "images":
							name, field, _ := strings.Cut(rest, ".")
							if _, ok := imgs[name]; !ok {
								t.Errorf("%s: no such image", where)
							}
							if field != "repository" && field != "digest" && field != "tag" {
								t.Errorf("%s: images have repository, digest and tag", where)
							}
						default:
							t.Errorf("%s: unsupported template kind (no dependencies are declared)", where)
						}
					}
					for _, o := range s.outputs() {
						produced[o] = true
					}
				}
				// Every bundle output that applies to this action is produced by one of its steps.
				for n, o := range outs {
					if _, hasPath := o["path"]; hasPath || !appliesTo(o, a) || a == "uninstall" {
						continue
					}
					ca, _ := b.M["customActions"].(map[string]any)
					if _, custom := ca[a]; custom && o["applyTo"] == nil {
						continue
					}
					if !produced[n] {
						t.Errorf("output %s applies to %s but no %s step produces it", n, a, a)
					}
				}
			}
			// Every declared parameter and credential is used somewhere.
			used := map[string]bool{}
			for _, s := range b.allSteps() {
				for _, ref := range templates(s.Body) {
					used[ref[0]+"."+ref[1]] = true
				}
			}
			for n := range params {
				if !used["parameters."+n] {
					t.Errorf("parameter %s is never used", n)
				}
			}
			for n, c := range creds {
				if _, isPath := c["path"]; isPath {
					continue // files are read by the tools (kubeconfig)
				}
				if _, isEnv := c["env"]; isEnv && strings.HasPrefix(n, "azure-") {
					continue // AZURE_* reach az and the Azure SDK credential through the environment
				}
				if !used["credentials."+n] {
					t.Errorf("credential %s is never used", n)
				}
			}
			for n := range imgs {
				if !used["images."+n+".digest"] {
					t.Errorf("image %s is never passed by digest", n)
				}
			}
		})
	}
}

// Uninstall undoes install in reverse order: every Helm release installed is uninstalled,
// Flux configurations are removed before the Arc disconnect, releases before namespaces.
func TestUninstallReversesInstall(t *testing.T) {
	for _, b := range loadBundles(t) {
		t.Run(b.Name, func(t *testing.T) {
			pairs := [][2]string{{"install", "uninstall"}}
			if ca, ok := b.M["customActions"].(map[string]any); ok {
				for n := range ca {
					if strings.HasSuffix(n, "-install") {
						pairs = append(pairs, [2]string{n, strings.TrimSuffix(n, "install") + "uninstall"})
					}
				}
			}
			for _, p := range pairs {
				installed := map[string]int{} // namespace/release -> install position
				var order []string
				// The offline delivery script installs and removes edge-workloads in edge-<level>.
				const scriptRelease = "edge-${ bundle.parameters.level }/edge-workloads"
				for _, s := range b.steps(p[0]) {
					if s.Mixin == "helm3" {
						key := fmt.Sprint(s.Body["namespace"], "/", s.Body["name"])
						installed[key] = len(order)
						order = append(order, key)
					}
					if isWorkloadsScript(s) {
						installed[scriptRelease] = len(order)
						order = append(order, scriptRelease)
					}
				}
				var removed []string
				lastRelease, firstNamespace, fluxAt, disconnectAt := -1, -1, -1, -1
				for i, s := range b.steps(p[1]) {
					switch s.Mixin {
					case "helm3":
						for _, r := range s.Body["releases"].([]any) {
							removed = append(removed, fmt.Sprint(s.Body["namespace"], "/", r))
						}
						lastRelease = i
					case "exec":
						if isWorkloadsScript(s) {
							removed = append(removed, scriptRelease)
							lastRelease = i
						}
						if env, _ := s.Body["envs"].(map[string]any); env["NAMESPACES"] != nil && firstNamespace < 0 {
							firstNamespace = i
						}
					case "arcflux":
						if _, ok := s.Body["flux"]; ok {
							fluxAt = i
						}
						if _, ok := s.Body["connect"]; ok {
							disconnectAt = i
						}
					}
				}
				for k := range installed {
					found := false
					for _, r := range removed {
						found = found || r == k
					}
					if !found {
						t.Errorf("%s installs release %s that %s never removes", p[0], k, p[1])
					}
				}
				for i := 1; i < len(removed); i++ {
					a, aok := installed[removed[i-1]]
					c, cok := installed[removed[i]]
					if aok && cok && a < c {
						t.Errorf("%s removes %s before %s: not the reverse of %s", p[1], removed[i-1], removed[i], p[0])
					}
				}
				if firstNamespace >= 0 && lastRelease > firstNamespace {
					t.Errorf("%s deletes namespaces before removing every release", p[1])
				}
				if fluxAt >= 0 && disconnectAt >= 0 && fluxAt > disconnectAt {
					t.Errorf("%s disconnects Arc before removing the Flux configuration", p[1])
				}
			}
		})
	}
}
