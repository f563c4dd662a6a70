package azureauth_test

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/edgeframe/edgeframe/mixin/pkg/azureauth"
)

func TestChoose(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    azureauth.Kind
		wantErr string
	}{
		{"service principal", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "t"}, azureauth.ServicePrincipal, ""},
		{"certificate", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "/x.pem", "AZURE_TENANT_ID": "t"}, azureauth.ServicePrincipal, ""},
		{"secret without tenant", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, "", "service principal credential: AZURE_TENANT_ID not set"},
		{"workload identity", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, azureauth.WorkloadIdentity, ""},
		{"workload identity incomplete", map[string]string{"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, "", "AZURE_CLIENT_ID, AZURE_TENANT_ID not set"},
		{"user-assigned managed identity", map[string]string{"AZURE_CLIENT_ID": "c"}, azureauth.ManagedIdentity, ""},
		{"system-assigned managed identity", nil, azureauth.ManagedIdentity, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := azureauth.Choose(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Choose = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestNewCredentialTypes(t *testing.T) {
	cloud, _ := azureauth.LookupCloud("")
	env := map[string]string{"AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "00000000-0000-0000-0000-0000000000a1"}
	cred, kind, err := azureauth.NewCredential(func(k string) string { return env[k] }, cloud)
	if err != nil || kind != azureauth.ServicePrincipal {
		t.Fatal(kind, err)
	}
	if _, ok := cred.(*azidentity.ClientSecretCredential); !ok {
		t.Fatalf("credential %T", cred)
	}
	env = map[string]string{"AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1", "AZURE_TENANT_ID": "00000000-0000-0000-0000-0000000000a1", "AZURE_FEDERATED_TOKEN_FILE": t.TempDir() + "/token"}
	cred, _, err = azureauth.NewCredential(func(k string) string { return env[k] }, cloud)
	if _, ok := cred.(*azidentity.WorkloadIdentityCredential); err != nil || !ok {
		t.Fatalf("credential %T, %v", cred, err)
	}
	cred, _, err = azureauth.NewCredential(func(string) string { return "" }, cloud)
	if _, ok := cred.(*azidentity.ManagedIdentityCredential); err != nil || !ok {
		t.Fatalf("credential %T, %v", cred, err)
	}
}

func TestClouds(t *testing.T) {
	cases := map[string][3]string{
		"":                  {"AZUREPUBLICCLOUD", "https://management.azure.com", "https://management.core.windows.net/.default"},
		"AzureChinaCloud":   {"AZURECHINACLOUD", "https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/.default"},
		"azureusgovernment": {"AZUREUSGOVERNMENTCLOUD", "https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net/.default"},
	}
	for name, want := range cases {
		c, err := azureauth.LookupCloud(name)
		if err != nil {
			t.Fatal(err)
		}
		if c.AgentEnvironment != want[0] || c.ARMEndpoint() != want[1] || c.ARMScope() != want[2] {
			t.Errorf("%q: env %s endpoint %s scope %s", name, c.AgentEnvironment, c.ARMEndpoint(), c.ARMScope())
		}
	}
	if _, err := azureauth.LookupCloud("AzureGermanCloud"); err == nil || !strings.Contains(err.Error(), "AzurePublicCloud, AzureChinaCloud, AzureUSGovernment") {
		t.Fatalf("err = %v", err)
	}
}
