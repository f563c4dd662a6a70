#!/usr/bin/env bash
# Offline bundle step: the level's Dapr resources (chart dapr-components, values of
# charts/profiles/<level>) and its workloads (helm-workloads.sh with DELIVERY=offline), Helm
# only. L3 runs neither: the step prints "skipped: ..." there.
#
#   offline-level.sh install|upgrade|uninstall
#   LEVEL      l2 | l3 | l4 (namespace edge-<level>)
#   HELM       the Helm CLI [helm3, the helm3 mixin's name for it]
#   CHARTS     directory with dapr-components/, edge-workloads/ and profiles/ [./charts]
#   and the image variables of helm-workloads.sh (install, upgrade).
# Uninstall: the workloads, then the Dapr resources; already removed counts as success.
set -euo pipefail
SCRIPT=offline-level.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
action_of "$@"
action=$ACTION
level="${LEVEL:-}"
case "$level" in
  l2|l4) ;;
  l3) echo "skipped: $action of the Dapr resources and workloads (L3 runs none)"; exit 0 ;;
  *) die "LEVEL \"$level\" is not l2, l3 or l4" ;;
esac
helm="${HELM:-helm3}"
charts="${CHARTS:-./charts}"
ns="edge-$level"
workloads="$(dirname "$0")/helm-workloads.sh"
if [[ "$action" == "uninstall" ]]; then
  DELIVERY=offline bash "$workloads" uninstall
  echo "helm uninstall dapr-components -n $ns"
  "$helm" uninstall dapr-components --namespace "$ns" --ignore-not-found
  exit 0
fi
echo "helm upgrade --install dapr-components -n $ns"
"$helm" upgrade --install dapr-components "$charts/dapr-components" --namespace "$ns" --create-namespace \
  --values "$charts/profiles/$level/dapr-components.yaml" --set "level=$level"
DELIVERY=offline bash "$workloads" "$action"
