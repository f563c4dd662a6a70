#!/usr/bin/env bash
# Installs kwok (fake nodes whose pods reach Running) from its Go module (R9), cached by version
# under $EDGEFRAME_TOOLS/kwok-v<version>/ together with the stage configs shipped in the module
# (kwok-v<version>/stage/{node,pod}/...), which testenv.StartFakeCluster passes to kwok.
source "$(dirname "$0")/common.sh"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
out="${EDGEFRAME_TOOLS}/kwok-v${KWOK_VERSION}"
bin="${EDGEFRAME_TOOLS}/bin"
mkdir -p "${bin}"
if [[ -x "${out}/kwok" && -d "${out}/stage/pod/fast" ]]; then
  log "kwok ${KWOK_VERSION}: cached at ${out}"
elif to_build "kwok ${KWOK_VERSION}" 150; then
  rm -rf "${out}"; mkdir -p "${out}"
  GOBIN="${out}" go install "sigs.k8s.io/kwok/cmd/kwok@v${KWOK_VERSION}"
  dir=$(go mod download -json "sigs.k8s.io/kwok@v${KWOK_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp -r "${dir}/kustomize/stage" "${out}/stage"
  chmod -R u+w "${out}/stage"
  log "kwok ${KWOK_VERSION}: built at ${out}"
fi
plan_mode || ln -sfn "${out}/kwok" "${bin}/kwok"
