#!/usr/bin/env bash
# Installs the helm CLI (the one the helm3 mixin puts in the bundles' invocation image) from its
# Go module, cached by version under $EDGEFRAME_TOOLS/helm-v<version>/. test/bundles runs
# bundles/scripts/helm-workloads.sh with it against a real API server (test/testenv).
source "$(dirname "$0")/common.sh"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
go_tool helm "helm-v${HELM_VERSION}" "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}" 210
