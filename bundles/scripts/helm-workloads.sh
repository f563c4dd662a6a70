#!/usr/bin/env bash
# Offline delivery of the application bundle: the edge-workloads chart installed with the Helm
# CLI that the helm3 mixin puts in the invocation image (/usr/local/bin/helm3: there is no
# `helm` on the image's PATH) instead of the edge-apps
# Flux configuration, with the same values as gitops/<level>/apps/helmrelease-edge-workloads.yaml:
# charts/profiles/<level>/edge-workloads.yaml plus level, the level's image repositories and
# digests and (l4) the gateway's workload identity.
#
#   helm-workloads.sh install|upgrade|uninstall
#   DELIVERY     gitops | offline; anything but offline prints "skipped: ..." and does nothing
#   LEVEL        l2 | l4 (namespace edge-<level>)
#   OPCPLC_REPOSITORY, OPCPLC_DIGEST, OPCPUBLISHER_REPOSITORY, OPCPUBLISHER_DIGEST,
#   TEMPSENSOR_REPOSITORY, TEMPSENSOR_DIGEST      (l2)
#   DATAGATEWAY_REPOSITORY, DATAGATEWAY_DIGEST, GATEWAY_CLIENT_ID (may be empty)   (l4)
#   CHARTS       directory with edge-workloads/ and profiles/ [./charts]
#   WAIT         true: helm --wait until the workloads are ready [true]
#   TIMEOUT      helm --timeout [10m]
#   HELM         the Helm CLI [helm3, the helm3 mixin's name for it]
#   DRY_RUN      true: print the helm command instead of running it
# Uninstall: an already removed release counts as success.
set -euo pipefail
SCRIPT=helm-workloads.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
action_of "$@"
action=$ACTION
delivery="${DELIVERY:-}"
case "$delivery" in
  offline) ;;
  gitops) echo "skipped: $action of the workloads with helm (DELIVERY=gitops: the edge-apps Flux configuration delivers them)"; exit 0 ;;
  *) die "DELIVERY \"$delivery\" is not gitops or offline" ;;
esac
level="${LEVEL:-}"
case "$level" in
  l2|l4) ;;
  *) die "LEVEL \"$level\" is not l2 or l4 (L3 runs no workloads)" ;;
esac
case "${WAIT:-true}" in true|false) ;; *) die "WAIT \"${WAIT}\" is not true or false" ;; esac
case "${DRY_RUN:-false}" in true|false) ;; *) die "DRY_RUN \"${DRY_RUN}\" is not true or false" ;; esac
charts="${CHARTS:-./charts}"
helm="${HELM:-helm3}"
ns="edge-$level"

run() {
  if [[ "${DRY_RUN:-false}" == "true" ]]; then
    printf '%q ' "$helm" "$@" | sed 's/ $//'; echo
  else
    "$helm" "$@"
  fi
}

if [[ "$action" == "uninstall" ]]; then
  echo "helm uninstall edge-workloads -n $ns"
  run uninstall edge-workloads --namespace "$ns" --ignore-not-found
  exit 0
fi

# required NAME: the variable must be set and not empty.
required() {
  local missing=()
  for v in "$@"; do [[ -n "${!v:-}" ]] || missing+=("$v"); done
  [[ ${#missing[@]} -eq 0 ]] || die "LEVEL=$level needs ${missing[*]}"
}
digest_ok() {
  local v
  for v in "$@"; do
    [[ "${!v}" =~ ^sha256:[0-9a-f]{64}$ ]] || die "$v \"${!v}\" is not a sha256:<64 hex> digest"
  done
}
args=(upgrade --install edge-workloads "$charts/edge-workloads" --namespace "$ns" --create-namespace
      --values "$charts/profiles/$level/edge-workloads.yaml" --set-string "level=$level")
if [[ "$level" == "l2" ]]; then
  required OPCPLC_REPOSITORY OPCPLC_DIGEST OPCPUBLISHER_REPOSITORY OPCPUBLISHER_DIGEST TEMPSENSOR_REPOSITORY TEMPSENSOR_DIGEST
  digest_ok OPCPLC_DIGEST OPCPUBLISHER_DIGEST TEMPSENSOR_DIGEST
  args+=(--set-string "opcplc.image.repository=$OPCPLC_REPOSITORY" --set-string "opcplc.image.digest=$OPCPLC_DIGEST"
         --set-string "opcpublisher.image.repository=$OPCPUBLISHER_REPOSITORY" --set-string "opcpublisher.image.digest=$OPCPUBLISHER_DIGEST"
         --set-string "tempsensor.image.repository=$TEMPSENSOR_REPOSITORY" --set-string "tempsensor.image.digest=$TEMPSENSOR_DIGEST")
else
  required DATAGATEWAY_REPOSITORY DATAGATEWAY_DIGEST
  digest_ok DATAGATEWAY_DIGEST
  args+=(--set-string "datagateway.image.repository=$DATAGATEWAY_REPOSITORY" --set-string "datagateway.image.digest=$DATAGATEWAY_DIGEST"
         --set-string "datagateway.workloadIdentity.clientId=${GATEWAY_CLIENT_ID:-}")
fi
if [[ "${WAIT:-true}" == "true" ]]; then
  args+=(--wait --timeout "${TIMEOUT:-10m}")
fi
[[ -f "$charts/profiles/$level/edge-workloads.yaml" ]] || [[ "${DRY_RUN:-false}" == "true" ]] \
  || die "CHARTS \"$charts\" has no profiles/$level/edge-workloads.yaml"
echo "helm upgrade --install edge-workloads -n $ns (offline delivery, values of gitops/$level/apps)"
run "${args[@]}"
