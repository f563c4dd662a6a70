package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeframe/edgeframe/charts/render"
)

// PubSubName is the Dapr pub/sub component every workload uses, at every level.
const PubSubName = "edge-pubsub"

// credentialsSecret is the local secret store's secret holding the broker URL.
const credentialsSecret = "edge-pubsub-credentials"

// DaprFiles is a sidecar's rendered resources.
type DaprFiles struct {
	ResourcesDir string // Components, Resiliency, Subscriptions (--resources-path)
	ConfigPath   string // Configuration (--config), "" when the chart renders none
}

// DaprValues are the dapr-components chart values of one local sidecar.
type DaprValues struct {
	Level    string
	AppID    string
	Broker   string // host:port of the level's client listener
	User     string // per-level broker user of the app
	Password string
	Dir      string // where the resources are written
}

// plainURL is the broker URL given to the chart.
func (v DaprValues) plainURL() string { return "tcp://" + v.Broker }

// credentialURL is the pubsub.mqtt3 url with the level's credentials: mqtt3 (dapr
// components-contrib v1.18.0) has no username/password metadata and reads them only
// from the URL's user information.
func (v DaprValues) credentialURL() string {
	u := url.URL{Scheme: "tcp", Host: v.Broker, User: url.UserPassword(v.User, v.Password)}
	return u.String()
}

func (v DaprValues) values() map[string]any {
	return map[string]any{
		"level":  v.Level,
		"scopes": []any{v.AppID},
		"pubsub": map[string]any{
			"name":              PubSubName,
			"url":               v.plainURL(),
			"credentialsSecret": credentialsSecret,
			"qos":               1,
			"cleanSession":      false,
			"consumerID":        v.AppID + "-" + v.Level,
		},
		"secretStore": map[string]any{
			"type":        "localfile",
			"secretsFile": filepath.Join(v.Dir, "secrets.json"),
		},
		"resiliency": map[string]any{
			"enabled": true,
			// Inbound deliveries to an app that is down (kill -9 of the gateway) are
			// retried until it is back: mqtt3 acks a message only after the app did.
			"retry": map[string]any{"policy": "constant", "duration": "500ms", "maxRetries": -1},
		},
		"configuration": map[string]any{
			"enabled": true,
			"mtls":    map[string]any{"enabled": false}, // self-hosted: no Sentry
			"tracing": map[string]any{"samplingRate": "0"},
		},
	}
}

// RenderDapr renders the dapr-components chart for one sidecar and writes its
// resources (and the local secret store's file with the app's broker credentials).
func RenderDapr(ctx context.Context, chartDir string, v DaprValues) (DaprFiles, error) {
	files, err := render.Render(ctx, chartDir, v.values())
	if err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", v.AppID, err)
	}
	df := DaprFiles{ResourcesDir: filepath.Join(v.Dir, "resources")}
	if err := os.MkdirAll(df.ResourcesDir, 0o700); err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", v.AppID, err)
	}
	secrets, err := json.Marshal(map[string]any{
		// the chart's pubsub component reads its url (with the level's credentials:
		// mqtt3 takes them only from the URL) from this secret
		credentialsSecret: map[string]string{"url": v.credentialURL()},
	})
	if err != nil {
		return DaprFiles{}, err
	}
	if err := os.WriteFile(filepath.Join(v.Dir, "secrets.json"), secrets, 0o600); err != nil {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", v.AppID, err)
	}
	wrote := 0
	for name, text := range files {
		if !strings.HasPrefix(name, "templates/") || filepath.Ext(name) != ".yaml" {
			continue
		}
		base := filepath.Base(name)
		path := filepath.Join(df.ResourcesDir, base)
		if strings.Contains(text, "kind: Configuration") {
			path = filepath.Join(v.Dir, base)
			df.ConfigPath = path
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return DaprFiles{}, fmt.Errorf("dapr resources for %s: %w", v.AppID, err)
		}
		wrote++
	}
	if wrote == 0 {
		return DaprFiles{}, fmt.Errorf("dapr resources for %s: the chart %s rendered no YAML", v.AppID, chartDir)
	}
	return df, nil
}
