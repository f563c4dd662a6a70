// edgeframe cloud stores and gateway identity, deployed by the application bundle:
//   - Event Hubs namespace (Standard: Kafka endpoint on 9093) with hub 'telemetry'
//   - storage account with container 'telemetry'
//   - user-assigned identity of the data gateway, federated with the cluster's OIDC issuer
//     (Kubernetes service account datagateway in gatewayNamespace), allowed to send to the
//     hub and write blobs — no keys leave Azure
targetScope = 'resourceGroup'

@description('Azure region')
param location string = resourceGroup().location

@description('Prefix of the globally unique names (3-11 lower-case letters and digits)')
@minLength(3)
@maxLength(11)
param namePrefix string

@description('Create the stores (false: only the identity, e.g. at L2/L3)')
param deployCloudStores bool = true

@description('OIDC issuer URL of the cluster (empty: no federated credential)')
param oidcIssuerUrl string = ''

@description('Namespace of the gateway service account')
param gatewayNamespace string = 'edge-l4'

@description('Partitions of the telemetry hub')
@minValue(1)
param partitionCount int = 4

var suffix = uniqueString(resourceGroup().id)
var eventHubsDataSender = '2b629674-e913-4c01-ae53-ef4638d8f975'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource ehns 'Microsoft.EventHub/namespaces@2024-01-01' = if (deployCloudStores) {
  name: '${namePrefix}-eh-${suffix}'
  location: location
  sku: { name: 'Standard', tier: 'Standard', capacity: 1 }
  properties: { kafkaEnabled: true, minimumTlsVersion: '1.2', disableLocalAuth: false }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = if (deployCloudStores) {
  parent: ehns
  name: 'telemetry'
  properties: { partitionCount: partitionCount, messageRetentionInDays: 1 }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = if (deployCloudStores) {
  name: take('${namePrefix}st${suffix}', 24)
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, supportsHttpsTrafficOnly: true }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = if (deployCloudStores) {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (deployCloudStores) {
  parent: blobService
  name: 'telemetry'
  properties: { publicAccess: 'None' }
}

resource gateway 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-edgeframe-datagateway'
  location: location
}

resource federation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = if (!empty(oidcIssuerUrl)) {
  parent: gateway
  name: 'datagateway-${gatewayNamespace}'
  properties: {
    issuer: oidcIssuerUrl
    subject: 'system:serviceaccount:${gatewayNamespace}:datagateway'
    audiences: ['api://AzureADTokenExchange']
  }
}

resource sendToHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deployCloudStores) {
  scope: hub
  name: guid(hub.id, gateway.id, eventHubsDataSender)
  properties: {
    principalId: gateway.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataSender)
  }
}

resource writeBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deployCloudStores) {
  scope: container
  name: guid(container.id, gateway.id, storageBlobDataContributor)
  properties: {
    principalId: gateway.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

output kafkaEndpoint string = deployCloudStores ? '${ehns.name}.servicebus.windows.net:9093' : ''
output blobEndpoint string = deployCloudStores ? storage.properties.primaryEndpoints.blob : ''
output gatewayClientId string = gateway.properties.clientId
