package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/edgeframe/edgeframe/internal/chartrender"
	"github.com/edgeframe/edgeframe/internal/selfhosted"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/config"
)

// TestNoProfileSubscriptionIsShadowedByTheGateway: daprd 1.18 lets an app's programmatic
// subscription replace a declarative one on the same pub/sub and topic (dapr
// pkg/runtime/compstore/subscriptions.go, ListSubscriptionsAppByPubSub: `subs[j] =
// programmatic`), so a Subscription a profile declares for the gateway's topic — its route,
// its deadLetterTopic — would never apply. The gateway's subscriptions are the ones it lists
// itself, with the configuration each profile gives it.
func TestNoProfileSubscriptionIsShadowedByTheGateway(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	charts := root + "/charts"
	ps, err := chartrender.Profiles(charts)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range ps {
		for _, r := range p.Releases {
			if r.Chart != selfhosted.DaprChart {
				continue
			}
			cfg := gatewayConfig(t, p, r.Namespace)
			if cfg == nil {
				continue // no gateway in this namespace
			}
			svc, err := NewService(nil, ServiceOptions{PubSub: cfg.PubSub, Topics: cfg.Topics, BulkMaxMessages: cfg.Bulk.MaxMessages, BulkMaxAwait: cfg.Bulk.MaxAwait}, nil)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := svc.ListTopicSubscriptions(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			taken := map[string]bool{}
			for _, s := range prog.GetSubscriptions() {
				taken[s.GetPubsubName()+"||"+s.GetTopic()] = true
			}
			rel := selfhosted.Release{Profile: p, Release: r}
			if rel.Values, err = p.Values(r); err != nil {
				t.Fatal(err)
			}
			files, err := rel.Render(t.Context(), charts, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(chartrender.Manifests(files), "\n---") {
				var sub struct {
					Kind     string                `json:"kind"`
					Metadata struct{ Name string } `json:"metadata"`
					Spec     struct {
						PubsubName string `json:"pubsubname"`
						Topic      string `json:"topic"`
					} `json:"spec"`
					Scopes []string `json:"scopes"`
				}
				if err := yaml.Unmarshal([]byte(doc), &sub); err != nil {
					t.Fatal(err)
				}
				if sub.Kind != "Subscription" || len(sub.Scopes) > 0 && !slices.Contains(sub.Scopes, "datagateway") {
					continue
				}
				if taken[sub.Spec.PubsubName+"||"+sub.Spec.Topic] {
					t.Errorf("profile %s, %s: Subscription %s (pubsub %s, topic %s) is replaced by the gateway's own subscription to the same topic; its route and dead-letter topic never apply",
						p.Name, r.Namespace, sub.Metadata.Name, sub.Spec.PubsubName, sub.Spec.Topic)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no profile runs the gateway next to a dapr-components release")
	}
}

// gatewayConfig is the gateway's configuration in namespace ns of profile p (its sinks YAML
// over the defaults), or nil when the profile runs no gateway there.
func gatewayConfig(t *testing.T, p chartrender.Profile, ns string) *config.Config {
	t.Helper()
	for _, r := range p.Releases {
		if r.Chart != "edge-workloads" || r.Namespace != ns {
			continue
		}
		vals, err := p.Values(r)
		if err != nil {
			t.Fatal(err)
		}
		gw, _ := vals["datagateway"].(map[string]any)
		if on, _ := gw["enabled"].(bool); !on {
			return nil
		}
		cfg := config.Default()
		if sinks, _ := gw["sinks"].(map[string]any); len(sinks) > 0 {
			b, err := yaml.Marshal(sinks)
			if err != nil {
				t.Fatal(err)
			}
			if cfg, err = config.Parse(b, func(string) (string, bool) { return "", false }); err != nil {
				t.Fatal(fmt.Errorf("profile %s: datagateway.sinks: %w", p.Name, err))
			}
		}
		return &cfg
	}
	return nil
}
