package charts

import (
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// collectorConfig is the part of an OpenTelemetry collector configuration the test reads.
type collectorConfig struct {
	Receivers  map[string]any `json:"receivers"`
	Processors struct {
		Resource struct {
			Attributes []struct{ Key, Value, Action string } `json:"attributes"`
		} `json:"resource"`
	} `json:"processors"`
	Exporters map[string]any `json:"exporters"`
	Service   struct {
		Pipelines map[string]struct {
			Receivers, Processors, Exporters []string
		} `json:"pipelines"`
	} `json:"service"`
}

// TestCollectorConfig: every pipeline of the rendered collector configuration only names
// components the configuration defines; the resource processor inserts the level, region and
// cluster; exporters follow the level (parent at L2/L3, Azure Monitor at the top).
func TestCollectorConfig(t *testing.T) {
	cases := []struct {
		name      string
		vals      map[string]any
		exporters []string
	}{
		{"nothing configured", map[string]any{}, []string{"debug"}},
		{"child level", map[string]any{"level": "l3", "region": "westeurope", "clusterName": "site-a",
			"exporters": map[string]any{"parent": map[string]any{"enabled": true, "endpoint": "http://172.16.0.10:4318"}}}, []string{"otlphttp/parent"}},
		{"top level", map[string]any{"level": "l4", "clusterName": "ent", "exporters": map[string]any{
			"azureMonitor": map[string]any{"enabled": true},
			"otlp":         map[string]any{"enabled": true, "endpoint": "https://otlp.example.com", "authSecret": "otlp-auth"}}}, []string{"azuremonitor", "otlphttp/upstream"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := renderChart(t, "observability", "otel-collector", "edge-system", c.vals)
			text := configMapData(t, files, "otel-collector-config", "config.yaml")
			var cfg collectorConfig
			if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("config.yaml: %v\n%s", err, text)
			}
			var raw struct {
				Processors map[string]any `json:"processors"`
			}
			if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
				t.Fatal(err)
			}
			for name, p := range cfg.Service.Pipelines {
				for _, r := range p.Receivers {
					if _, ok := cfg.Receivers[r]; !ok {
						t.Errorf("pipeline %s: receiver %s is not defined", name, r)
					}
				}
				for _, pr := range p.Processors {
					if _, ok := raw.Processors[pr]; !ok {
						t.Errorf("pipeline %s: processor %s is not defined", name, pr)
					}
				}
				got := append([]string(nil), p.Exporters...)
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(c.exporters, ",") {
					t.Errorf("pipeline %s exports to %v, want %v", name, got, c.exporters)
				}
				for _, e := range p.Exporters {
					if _, ok := cfg.Exporters[e]; !ok {
						t.Errorf("pipeline %s: exporter %s is not defined", name, e)
					}
				}
			}
			for _, want := range []string{"traces", "metrics", "logs"} {
				if _, ok := cfg.Service.Pipelines[want]; !ok {
					t.Errorf("no %s pipeline", want)
				}
			}
			if _, ok := cfg.Receivers["zipkin"]; !ok {
				t.Error("no zipkin receiver")
			}
			attrs := map[string]string{}
			for _, a := range cfg.Processors.Resource.Attributes {
				if a.Action != "insert" {
					t.Errorf("resource attribute %s uses %s: lower levels' values must be kept (insert)", a.Key, a.Action)
				}
				attrs[a.Key] = a.Value
			}
			for _, k := range []string{"edge.layer", "edge.region", "k8s.cluster.name"} {
				if attrs[k] == "" {
					t.Errorf("resource processor does not set %s", k)
				}
			}
			if lvl, ok := c.vals["level"]; ok && attrs["edge.layer"] != lvl {
				t.Errorf("edge.layer = %q, want %v", attrs["edge.layer"], lvl)
			}
			if strings.Contains(manifestsOf(files), "InstrumentationKey=") {
				t.Error("an Azure Monitor connection string is inline")
			}
		})
	}
}
