// edgeframe level network and (optionally) AKS cluster, deployed by the infrastructure bundle
// into the level's resource group.
//   - one VNet per level with one subnet for the cluster
//   - peering to the parent level's VNet (when parentVnetId is given)
//   - NSG: L2 and L3 cannot reach the Internet; they reach the parent level only (its proxy)
//   - AKS (createCluster), Azure CNI on the level subnet, OIDC issuer + workload identity
targetScope = 'resourceGroup'

@description('ISA-95 level of this network')
@allowed(['l2', 'l3', 'l4'])
param level string

@description('Name of the AKS cluster (createCluster)')
param clusterName string

@description('Azure region')
param location string = resourceGroup().location

@description('Create the AKS cluster (false: network only, the cluster exists elsewhere)')
param createCluster bool = false

@description('Address space of the level VNet')
param vnetAddressPrefix string = '10.2.0.0/16'

@description('Resource id of the parent level VNet to peer with (empty at L4)')
param parentVnetId string = ''

@description('Node count of the AKS system pool')
@minValue(1)
param nodeCount int = 1

@description('VM size of the AKS nodes')
param nodeSize string = 'Standard_D4s_v5'

var lowerLevel = level != 'l4'
var subnetPrefix = cidrSubnet(vnetAddressPrefix, 24, 0)

resource nsg 'Microsoft.Network/networkSecurityGroups@2023-09-01' = {
  name: 'nsg-edge-${level}'
  location: location
  properties: {
    securityRules: lowerLevel ? [
      {
        name: 'allow-vnet-outbound'
        properties: {
          priority: 100
          direction: 'Outbound'
          access: 'Allow'
          protocol: '*'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'VirtualNetwork'
          destinationPortRange: '*'
        }
      }
      {
        name: 'deny-internet-outbound'
        properties: {
          priority: 4000
          direction: 'Outbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: '*'
          sourcePortRange: '*'
          destinationAddressPrefix: 'Internet'
          destinationPortRange: '*'
        }
      }
    ] : [
      {
        name: 'allow-child-levels-inbound'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'VirtualNetwork'
          destinationPortRanges: ['443', '8883', '8084', '4318', '53']
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-09-01' = {
  name: 'vnet-edge-${level}'
  location: location
  properties: {
    addressSpace: { addressPrefixes: [vnetAddressPrefix] }
    subnets: [
      {
        name: 'cluster'
        properties: {
          addressPrefix: subnetPrefix
          networkSecurityGroup: { id: nsg.id }
        }
      }
    ]
  }
}

resource toParent 'Microsoft.Network/virtualNetworks/virtualNetworkPeerings@2023-09-01' = if (!empty(parentVnetId)) {
  parent: vnet
  name: 'to-parent'
  properties: {
    remoteVirtualNetwork: { id: parentVnetId }
    allowVirtualNetworkAccess: true
    allowForwardedTraffic: false
    allowGatewayTransit: false
    useRemoteGateways: false
  }
}

resource aks 'Microsoft.ContainerService/managedClusters@2024-02-01' = if (createCluster) {
  name: clusterName
  location: location
  identity: { type: 'SystemAssigned' }
  properties: {
    dnsPrefix: clusterName
    oidcIssuerProfile: { enabled: true }
    securityProfile: { workloadIdentity: { enabled: true } }
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        count: nodeCount
        vmSize: nodeSize
        osType: 'Linux'
        vnetSubnetID: vnet.properties.subnets[0].id
      }
    ]
    networkProfile: {
      networkPlugin: 'azure'
      outboundType: lowerLevel ? 'userDefinedRouting' : 'loadBalancer'
      serviceCidr: '10.0.0.0/16'
      dnsServiceIP: '10.0.0.10'
    }
  }
}

output vnetId string = vnet.id
output subnetId string = vnet.properties.subnets[0].id
output oidcIssuerUrl string = createCluster ? aks.properties.oidcIssuerProfile.issuerURL : ''
