#!/usr/bin/env bash
# Builds daprd from the dapr module through a wrapper module (exact version only),
# with -tags stablecomponents, cached by version under $EDGEFRAME_TOOLS/daprd-<version>/.
source "$(dirname "$0")/common.sh"
DAPR_VERSION="${DAPR_VERSION:-1.18.0}"
out="${EDGEFRAME_TOOLS}/daprd-${DAPR_VERSION}"
if [[ -x "${out}/daprd" ]] && "${out}/daprd" --version 2>/dev/null | grep -q "${DAPR_VERSION}"; then
  log "daprd ${DAPR_VERSION}: cached at ${out}/daprd"
  ln -sfn "${out}/daprd" "${EDGEFRAME_TOOLS}/bin/daprd"; exit 0
fi
to_build "daprd ${DAPR_VERSION}" 600 || exit 0
work="${out}.build"
rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
M=$(gomod_file "github.com/dapr/dapr@v${DAPR_VERSION}")
sed 's#^module github.com/dapr/dapr#module example.com/daprwrap#' "$M" > go.mod
printf '\nrequire github.com/dapr/dapr v%s\n' "${DAPR_VERSION}" >> go.mod
cat > tools.go <<'GO'
//go:build tools

package daprwrap

import _ "github.com/dapr/dapr/cmd/daprd"
GO
go mod tidy >/dev/null
go build -tags stablecomponents \
  -ldflags "-X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}" \
  -o daprd github.com/dapr/dapr/cmd/daprd
mkdir -p "${out}"; mv daprd "${out}/daprd"
cd /; rm -rf "${work}"
ln -sfn "${out}/daprd" "${EDGEFRAME_TOOLS}/bin/daprd"
log "daprd ${DAPR_VERSION}: built at ${out}/daprd"
