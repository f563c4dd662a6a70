// Package azureauth selects the Azure cloud and the azidentity credential the
// arcflux mixin uses, from the same environment variables the az mixin and the
// Azure SDK read (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID,
// AZURE_FEDERATED_TOKEN_FILE, ...).
package azureauth

import (
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Cloud is a sovereign Azure cloud together with the names the Arc agents and
// the Arc data plane use for it.
type Cloud struct {
	// Name is the value accepted in the step's `cloud` field and AZURE_CLOUD.
	Name string
	// Configuration is the azcore cloud configuration (authority host, ARM endpoint).
	Configuration cloud.Configuration
	// AgentEnvironment is the Arc agent chart's global.azureEnvironment value.
	AgentEnvironment string
	// DataPlaneSuffix is the DNS suffix of the Arc data plane
	// (https://<location>.dp.kubernetesconfiguration.<suffix>).
	DataPlaneSuffix string
}

// Clouds are the clouds arcflux knows, by name.
var clouds = []Cloud{
	{Name: "AzurePublicCloud", Configuration: cloud.AzurePublic, AgentEnvironment: "AZUREPUBLICCLOUD", DataPlaneSuffix: "azure.com"},
	{Name: "AzureChinaCloud", Configuration: cloud.AzureChina, AgentEnvironment: "AZURECHINACLOUD", DataPlaneSuffix: "azure.cn"},
	{Name: "AzureUSGovernment", Configuration: cloud.AzureGovernment, AgentEnvironment: "AZUREUSGOVERNMENTCLOUD", DataPlaneSuffix: "azure.us"},
}

// CloudNames lists the accepted cloud names (for errors and the schema).
func CloudNames() []string {
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return names
}

// LookupCloud returns the cloud of that name (case-insensitive; "" means the
// public cloud; the az CLI spellings AzureCloud/AzureChinaCloud/AzureUSGovernment
// are accepted too).
func LookupCloud(name string) (Cloud, error) {
	switch strings.ToLower(name) {
	case "", "azurecloud", "public":
		return clouds[0], nil
	case "china":
		return clouds[1], nil
	case "usgovernment", "azureusgovernmentcloud":
		return clouds[2], nil
	}
	for _, c := range clouds {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q (want one of %s)", name, strings.Join(CloudNames(), ", "))
}

// ARMEndpoint returns the Resource Manager endpoint of the cloud.
func (c Cloud) ARMEndpoint() string {
	if s, ok := c.Configuration.Services[cloud.ResourceManager]; ok {
		return s.Endpoint
	}
	return ""
}

// ARMScope returns the token scope for Resource Manager in this cloud.
func (c Cloud) ARMScope() string {
	aud := "https://management.azure.com/"
	if s, ok := c.Configuration.Services[cloud.ResourceManager]; ok && s.Audience != "" {
		aud = s.Audience
	}
	return strings.TrimSuffix(aud, "/") + "/.default"
}

// Kind names the credential that Select chose.
type Kind string

// Credential kinds, in the order Select considers them.
const (
	ServicePrincipal Kind = "servicePrincipal"
	WorkloadIdentity Kind = "workloadIdentity"
	ManagedIdentity  Kind = "managedIdentity"
)

// Choose decides which credential the environment describes:
//   - AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH (with AZURE_CLIENT_ID and
//     AZURE_TENANT_ID): a service principal;
//   - AZURE_FEDERATED_TOKEN_FILE (with AZURE_CLIENT_ID and AZURE_TENANT_ID): workload identity;
//   - otherwise managed identity (user-assigned when AZURE_CLIENT_ID is set).
//
// A partially configured service principal or workload identity is an error
// naming the missing variables, rather than a silent fall-through.
func Choose(getenv func(string) string) (Kind, error) {
	has := func(k string) bool { return getenv(k) != "" }
	missing := func(keys ...string) []string {
		var m []string
		for _, k := range keys {
			if !has(k) {
				m = append(m, k)
			}
		}
		return m
	}
	switch {
	case has("AZURE_CLIENT_SECRET") || has("AZURE_CLIENT_CERTIFICATE_PATH"):
		if m := missing("AZURE_CLIENT_ID", "AZURE_TENANT_ID"); len(m) > 0 {
			return "", fmt.Errorf("service principal credential: %s not set", strings.Join(m, ", "))
		}
		return ServicePrincipal, nil
	case has("AZURE_FEDERATED_TOKEN_FILE"):
		if m := missing("AZURE_CLIENT_ID", "AZURE_TENANT_ID"); len(m) > 0 {
			return "", fmt.Errorf("workload identity credential: %s not set", strings.Join(m, ", "))
		}
		return WorkloadIdentity, nil
	default:
		return ManagedIdentity, nil
	}
}

// NewCredential builds the azidentity credential Choose selects, for the cloud.
func NewCredential(getenv func(string) string, c Cloud) (azcore.TokenCredential, Kind, error) {
	kind, err := Choose(getenv)
	if err != nil {
		return nil, "", err
	}
	opts := azcore.ClientOptions{Cloud: c.Configuration}
	var cred azcore.TokenCredential
	switch kind {
	case ServicePrincipal:
		tenant, client := getenv("AZURE_TENANT_ID"), getenv("AZURE_CLIENT_ID")
		if secret := getenv("AZURE_CLIENT_SECRET"); secret != "" {
			cred, err = azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
			break
		}
		path := getenv("AZURE_CLIENT_CERTIFICATE_PATH")
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, kind, fmt.Errorf("AZURE_CLIENT_CERTIFICATE_PATH: %w", rerr)
		}
		var pw []byte
		if p := getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD"); p != "" {
			pw = []byte(p)
		}
		certs, key, perr := azidentity.ParseCertificates(data, pw)
		if perr != nil {
			return nil, kind, fmt.Errorf("AZURE_CLIENT_CERTIFICATE_PATH %s: %w", path, perr)
		}
		cred, err = azidentity.NewClientCertificateCredential(tenant, client, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
	case WorkloadIdentity:
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts,
			ClientID:      getenv("AZURE_CLIENT_ID"),
			TenantID:      getenv("AZURE_TENANT_ID"),
			TokenFilePath: getenv("AZURE_FEDERATED_TOKEN_FILE"),
		})
	case ManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if id := getenv("AZURE_CLIENT_ID"); id != "" {
			mo.ID = azidentity.ClientID(id)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mo)
	}
	if err != nil {
		return nil, kind, fmt.Errorf("%s credential: %w", kind, err)
	}
	return cred, kind, nil
}
