#!/usr/bin/env bash
# Installs kubeconform (R8) from its Go module, cached by version under
# $EDGEFRAME_TOOLS/kubeconform-v<version>/. The JSON schemas it validates against are generated
# offline from the Kubernetes module's OpenAPI document by the chart tests (test/charts).
source "$(dirname "$0")/common.sh"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-0.8.0}"
out="${EDGEFRAME_TOOLS}/kubeconform-v${KUBECONFORM_VERSION}"
bin="${EDGEFRAME_TOOLS}/bin"
mkdir -p "${bin}"
if [[ -x "${out}/kubeconform" ]]; then
  log "kubeconform ${KUBECONFORM_VERSION}: cached at ${out}"
else
  log "kubeconform ${KUBECONFORM_VERSION}: building"
  mkdir -p "${out}"
  GOBIN="${out}" go install "github.com/yannh/kubeconform/cmd/kubeconform@v${KUBECONFORM_VERSION}"
  log "kubeconform ${KUBECONFORM_VERSION}: built at ${out}"
fi
ln -sfn "${out}/kubeconform" "${bin}/kubeconform"
# The schema generator reads k8s.io/kubernetes' swagger.json from the module cache.
go mod download "k8s.io/kubernetes@v1.37.2" >/dev/null 2>&1 || go mod download -json "k8s.io/kubernetes@v1.37.2" >/dev/null
