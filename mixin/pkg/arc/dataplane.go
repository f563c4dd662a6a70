package arc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// DataPlane calls the Arc data plane's GetLatestHelmPackagePath.
type DataPlane struct {
	// Endpoint returns the data plane base URL for a location, e.g.
	// https://westeurope.dp.kubernetesconfiguration.azure.com.
	Endpoint func(location string) string
	// Credential and Scope authenticate the call with an ARM token (nil: anonymous).
	Credential azcore.TokenCredential
	Scope      string
	HTTP       *http.Client
}

// EndpointFor returns the public data-plane URL builder for a DNS suffix (azure.com, azure.cn, azure.us).
func EndpointFor(suffix string) func(location string) string {
	return func(location string) string {
		return fmt.Sprintf("https://%s.dp.kubernetesconfiguration.%s", strings.ToLower(strings.ReplaceAll(location, " ", "")), suffix)
	}
}

// LatestChart returns the agents chart reference, e.g.
// mcr.microsoft.com/azurearck8s/batch1/stable/v2/azure-arc-k8sagents:1.21.10.
func (d DataPlane) LatestChart(ctx context.Context, location, releaseTrain string) (string, error) {
	u := d.Endpoint(location) + "/azure-arc-k8sagents/GetLatestHelmPackagePath?api-version=2019-11-01-preview&releaseTrain=" + url.QueryEscape(releaseTrain)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return "", fmt.Errorf("agent chart location: %w", err)
	}
	if d.Credential != nil {
		tok, err := d.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.Scope}})
		if err != nil {
			return "", fmt.Errorf("agent chart location: token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
	}
	hc := d.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("agent chart location from %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("agent chart location from %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var out struct {
		RepositoryPath string `json:"repositoryPath"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RepositoryPath == "" {
		return "", fmt.Errorf("agent chart location from %s: no repositoryPath in answer %q", u, strings.TrimSpace(string(body)))
	}
	return out.RepositoryPath, nil
}
