#!/usr/bin/env bash
# Uninstall step shared by the bundles; everything already gone counts as success.
#   NAMESPACES      space-separated namespaces to delete (after their releases are gone)
#   CREATE_CLUSTER  "true": delete the AKS cluster and the level deployment's resources
#   DEPLOYMENT      an ARM deployment whose resources are deleted (cloud stores)
#   RESOURCE_GROUP, CLUSTER_NAME, LEVEL
set -euo pipefail
if [[ -n "${NAMESPACES:-}" ]] && command -v kubectl >/dev/null && [[ -s "${KUBECONFIG:-}" ]]; then
  for ns in $NAMESPACES; do
    kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=5m
  done
fi
gone() { grep -qE 'ResourceNotFound|ResourceGroupNotFound|NotFound|could not be found' <<<"$1"; }
run_az() {
  local out
  if ! out=$(az "$@" --only-show-errors 2>&1); then
    if gone "$out"; then echo "already gone: az $*"; return 0; fi
    echo "$out" >&2; return 1
  fi
  [[ -n "$out" ]] && echo "$out"
  return 0
}
if [[ "${CREATE_CLUSTER:-false}" == "true" ]]; then
  : "${RESOURCE_GROUP:?RESOURCE_GROUP: required}" "${CLUSTER_NAME:?CLUSTER_NAME: required}" "${LEVEL:?LEVEL: required}"
  run_az aks delete --resource-group "$RESOURCE_GROUP" --name "$CLUSTER_NAME" --yes
  run_az network vnet delete --resource-group "$RESOURCE_GROUP" --name "vnet-edge-$LEVEL"
  run_az network nsg delete --resource-group "$RESOURCE_GROUP" --name "nsg-edge-$LEVEL"
fi
if [[ -n "${DEPLOYMENT:-}" ]]; then
  : "${RESOURCE_GROUP:?RESOURCE_GROUP: required}"
  ids=$(az deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT" \
        --query 'properties.outputResources[].id' --output tsv 2>/dev/null || true)
  # Children before parents: hubs and containers are deleted with their namespace/account.
  for id in $(tr ' ' '\n' <<<"$ids" | awk -F/ '{print NF, $0}' | sort -rn | cut -d' ' -f2-); do
    run_az resource delete --ids "$id"
  done
  run_az deployment group delete --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT"
fi
