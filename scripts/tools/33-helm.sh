#!/usr/bin/env bash
# Installs the helm CLI (the one the helm3 mixin puts in the bundles' invocation image) from its
# Go module, cached by version under $EDGEFRAME_TOOLS/helm-v<version>/. test/bundles runs
# bundles/scripts/helm-workloads.sh with it against a real API server (test/testenv).
source "$(dirname "$0")/common.sh"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
out="${EDGEFRAME_TOOLS}/helm-v${HELM_VERSION}"
bin="${EDGEFRAME_TOOLS}/bin"
mkdir -p "${bin}"
if [[ -x "${out}/helm" ]]; then
  log "helm ${HELM_VERSION}: cached at ${out}"
else
  log "helm ${HELM_VERSION}: building"
  mkdir -p "${out}"
  GOBIN="${out}" go install "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}"
  log "helm ${HELM_VERSION}: built at ${out}"
fi
ln -sfn "${out}/helm" "${bin}/helm"
