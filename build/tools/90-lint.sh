#!/usr/bin/env bash
# staticcheck for `make lint`, built from the module proxy and cached by version.
source "$(dirname "$0")/common.sh"
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"
go_tool staticcheck "staticcheck-${STATICCHECK_VERSION}" "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" 60
