#!/usr/bin/env bash
# staticcheck for `make lint`, built from the module proxy and cached by version.
source "$(dirname "$0")/common.sh"
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"
out="${EDGEFRAME_TOOLS}/staticcheck-${STATICCHECK_VERSION}"
if [[ ! -x "${out}/staticcheck" ]]; then
  log "staticcheck ${STATICCHECK_VERSION}: building"
  GOBIN="${out}" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi
ln -sfn "${out}/staticcheck" "${EDGEFRAME_TOOLS}/bin/staticcheck"
log "staticcheck ${STATICCHECK_VERSION}: ready"
