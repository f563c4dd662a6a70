package selfhosted

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// DaprChart is the chart of every level's Dapr resources.
const DaprChart = "dapr-components"

// SecretsFile is the local file secret store's file in DaprSpec.Dir.
const SecretsFile = "secrets.json"

// DaprSpec is what a local sidecar changes in its level's dapr-components release.
type DaprSpec struct {
	Level string
	// AppID must be one of the profile's scopes.
	AppID string
	// Broker is the level broker's client listener, host:port.
	Broker string
	// User and Password log in to the broker ("" User: no credentials, an anonymous test broker).
	User, Password string
	// Dir receives resources/ (--resources-path), the Configuration and secrets.json.
	Dir string
	// OTLPEndpoint is where the sidecar exports its traces (host:port).
	OTLPEndpoint string
}

// credentialsURL is the pubsub.mqtt3 url with the level's credentials: mqtt3 (dapr
// components-contrib v1.18.0) has no username/password metadata and reads them only from the
// URL's user information.
func (s DaprSpec) credentialsURL() string {
	u := url.URL{Scheme: "tcp", Host: s.Broker}
	if s.User != "" {
		u.User = url.UserPassword(s.User, s.Password)
	}
	return u.String()
}

// LocalDaprValues is the overlay of a local sidecar: the local file secret store (in a cluster,
// the Kubernetes secret store serves the same secret) and the loopback trace endpoint. Nothing else.
func LocalDaprValues(s DaprSpec) map[string]any {
	return map[string]any{
		"secretStore":   map[string]any{"type": "localfile", "secretsFile": filepath.Join(s.Dir, SecretsFile)},
		"configuration": map[string]any{"tracing": map[string]any{"otlpEndpoint": s.OTLPEndpoint}},
	}
}

// RenderDaprResources renders the profile's dapr-components release of s.Level with the local
// overlay: rendered file name → YAML.
func RenderDaprResources(ctx context.Context, chartsDir string, s DaprSpec) (map[string]string, error) {
	rel, err := LoadRelease(chartsDir, s.Level, DaprChart)
	if err != nil {
		return nil, fmt.Errorf("dapr resources for %s: %w", s.AppID, err)
	}
	var v struct {
		Scopes []string `json:"scopes"`
	}
	b, _ := json.Marshal(rel.Values)
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("dapr resources for %s: profile %s scopes: %w", s.AppID, rel.Profile.Name, err)
	}
	if len(v.Scopes) > 0 && !slices.Contains(v.Scopes, s.AppID) {
		return nil, fmt.Errorf("dapr resources for %s: app id %q is not in profile %s's scopes %v, so daprd would load none of them", s.AppID, s.AppID, rel.Profile.Name, v.Scopes)
	}
	if s.OTLPEndpoint == "" {
		return nil, fmt.Errorf("dapr resources for %s: OTLPEndpoint is required (the profile's collector is a cluster address)", s.AppID)
	}
	return rel.Render(ctx, chartsDir, LocalDaprValues(s))
}

// DaprFiles is a sidecar's rendered resources.
type DaprFiles struct {
	ResourcesDir string // Components, Resiliency, Subscriptions (--resources-path)
	ConfigPath   string // Configuration (--config), "" when the profile renders none
}

// RenderDapr renders s's Dapr resources and writes them, and the local secret store's file
// with the broker URL and the app's credentials, under s.Dir.
func RenderDapr(ctx context.Context, chartsDir string, s DaprSpec) (DaprFiles, error) {
	files, err := RenderDaprResources(ctx, chartsDir, s)
	if err != nil {
		return DaprFiles{}, err
	}
	df := DaprFiles{ResourcesDir: filepath.Join(s.Dir, "resources")}
	if err := os.MkdirAll(df.ResourcesDir, 0o700); err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", s.AppID, err)
	}
	secret, err := credentialsSecret(files)
	if err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", s.AppID, err)
	}
	secrets, err := json.Marshal(map[string]any{secret: map[string]string{"url": s.credentialsURL()}})
	if err != nil {
		return DaprFiles{}, err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, SecretsFile), secrets, 0o600); err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", s.AppID, err)
	}
	wrote := 0
	for name, text := range files {
		if !strings.HasPrefix(name, "templates/") || filepath.Ext(name) != ".yaml" {
			continue
		}
		base := filepath.Base(name)
		path := filepath.Join(df.ResourcesDir, base)
		if strings.Contains(text, "\nkind: Configuration\n") {
			path = filepath.Join(s.Dir, base)
			df.ConfigPath = path
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", s.AppID, err)
		}
		wrote++
	}
	if wrote == 0 {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: the profile rendered no YAML", s.AppID)
	}
	return df, nil
}

// credentialsSecret is the secret the rendered pub/sub component reads its url from.
func credentialsSecret(files map[string]string) (string, error) {
	var c struct {
		Spec struct {
			Metadata []struct {
				Name         string `json:"name"`
				SecretKeyRef struct {
					Name string `json:"name"`
					Key  string `json:"key"`
				} `json:"secretKeyRef"`
			} `json:"metadata"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(files["templates/pubsub.yaml"]), &c); err != nil {
		return "", fmt.Errorf("rendered templates/pubsub.yaml: %w", err)
	}
	for _, m := range c.Spec.Metadata {
		if m.Name == "url" && m.SecretKeyRef.Name != "" && m.SecretKeyRef.Key == "url" {
			return m.SecretKeyRef.Name, nil
		}
	}
	return "", fmt.Errorf("rendered templates/pubsub.yaml: its url is not a secretKeyRef with key url, so there is nowhere to put the local broker's credentials")
}
