#!/usr/bin/env bash
# Infrastructure bundle step: with CREATE_CLUSTER=true write the AKS cluster's kubeconfig to
# $KUBECONFIG (az aks get-credentials); otherwise check that the kubeconfig credential is there.
set -euo pipefail
: "${KUBECONFIG:?KUBECONFIG: required}"
if [[ "${CREATE_CLUSTER:-false}" == "true" ]]; then
  : "${RESOURCE_GROUP:?RESOURCE_GROUP: required with create-cluster}"
  : "${CLUSTER_NAME:?CLUSTER_NAME: required with create-cluster}"
  mkdir -p "$(dirname "$KUBECONFIG")"
  az aks get-credentials --resource-group "$RESOURCE_GROUP" --name "$CLUSTER_NAME" \
    --file "$KUBECONFIG" --overwrite-existing --only-show-errors
  echo "kubeconfig of AKS cluster $CLUSTER_NAME written to $KUBECONFIG"
elif [[ ! -s "$KUBECONFIG" ]]; then
  echo "credential kubeconfig: missing ($KUBECONFIG is empty); pass a kubeconfig credential or set create-cluster=true" >&2
  exit 1
else
  echo "using the kubeconfig credential"
fi
