#!/usr/bin/env bash
# Installs kubeconform (R8) from its Go module, cached by version under
# $EDGEFRAME_TOOLS/kubeconform-v<version>/. The JSON schemas it validates against are generated
# offline from the Kubernetes module's OpenAPI document by the chart tests (test/charts).
source "$(dirname "$0")/common.sh"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-0.8.0}"
go_tool kubeconform "kubeconform-v${KUBECONFORM_VERSION}" "github.com/yannh/kubeconform/cmd/kubeconform@v${KUBECONFORM_VERSION}" 30
plan_mode && exit 0
# The schema generator reads k8s.io/kubernetes' swagger.json from the module cache.
go mod download "k8s.io/kubernetes@v1.37.2" >/dev/null 2>&1 || go mod download -json "k8s.io/kubernetes@v1.37.2" >/dev/null
