#!/usr/bin/env bash
# Builds daprd from the dapr module through the wrapper module of common.sh (exact version only),
# with -tags stablecomponents, cached by version under $EDGEFRAME_TOOLS/daprd-<version>/.
source "$(dirname "$0")/common.sh"
out="${EDGEFRAME_TOOLS}/daprd-${DAPR_VERSION}"
if [[ -x "${out}/daprd" ]] && "${out}/daprd" --version 2>/dev/null | grep -q "${DAPR_VERSION}"; then
  log "daprd ${DAPR_VERSION}: cached at ${out}/daprd"
  ln -sfn "${out}/daprd" "${EDGEFRAME_TOOLS}/bin/daprd"; exit 0
fi
to_build "daprd ${DAPR_VERSION}" 600 || exit 0
work="${out}.build"
dapr_wrapper "${work}"
cd "${work}"
go build -tags stablecomponents -ldflags "${DAPR_LDFLAGS}" -o daprd github.com/dapr/dapr/cmd/daprd
mkdir -p "${out}"; mv daprd "${out}/daprd"
cd /; rm -rf "${work}"
ln -sfn "${out}/daprd" "${EDGEFRAME_TOOLS}/bin/daprd"
log "daprd ${DAPR_VERSION}: built at ${out}/daprd"
