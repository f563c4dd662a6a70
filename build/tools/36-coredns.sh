#!/usr/bin/env bash
# CoreDNS (the cluster DNS of `make cluster-up`) from its Go module with its default plugin set,
# cached under $EDGEFRAME_TOOLS/coredns-v<version>/ and linked into bin/. Cold: ~2 min idle (360 s measured under
# load avg 15; 2 cores).
source "$(dirname "$0")/common.sh"
COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
out="${EDGEFRAME_TOOLS}/coredns-v${COREDNS_VERSION}"
if [[ -x "${out}/coredns" ]]; then
  log "coredns ${COREDNS_VERSION}: cached at ${out}"
elif to_build "coredns ${COREDNS_VERSION}" 180; then
  work="${out}.build"; rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
  go mod init example.com/corednswrap >/dev/null 2>&1
  go get -tool "github.com/coredns/coredns@v${COREDNS_VERSION}" >/dev/null
  CGO_ENABLED=0 go build -ldflags "-X github.com/coredns/coredns/coremain.GitCommit=v${COREDNS_VERSION}" \
    -o coredns github.com/coredns/coredns
  mkdir -p "${out}"; mv coredns "${out}/"
  cd /; rm -rf "${work}"
  log "coredns ${COREDNS_VERSION}: built at ${out}"
fi
plan_mode || ln -sfn "${out}/coredns" "${EDGEFRAME_TOOLS}/bin/coredns"
