#!/usr/bin/env bash
# The Dapr control plane the Dapr chart deploys (operator, injector, sentry, placement), built from the same dapr module and wrapper (dapr_wrapper in common.sh) as daprd
# (10-daprd.sh), cached under $EDGEFRAME_TOOLS/dapr-control-plane-<version>/. `make cluster-e2e`
# packs them with daprd into the images the chart names (ghcr.io/dapr/dapr, ghcr.io/dapr/daprd).
# Not the scheduler: github.com/diagridio/go-etcd-cron, which it imports, is not served by the
# module proxy (403), so the node installs the chart with global.scheduler.enabled=false.
source "$(dirname "$0")/common.sh"
out="${EDGEFRAME_TOOLS}/dapr-control-plane-${DAPR_VERSION}"
bins=(operator injector sentry placement)
missing=()
for b in "${bins[@]}"; do [[ -x "${out}/${b}" ]] || missing+=("${b}"); done
if (( ${#missing[@]} == 0 )); then
  log "dapr control plane ${DAPR_VERSION}: cached at ${out}"; exit 0
fi
# Cold: operator ~5 min idle (585 s measured under load avg 15), then injector, sentry,
# placement ~10-25 s each (shared build cache).
to_build "dapr control plane ${DAPR_VERSION} (${missing[*]})" 420 || exit 0
work="${out}.build"
dapr_wrapper "${work}"
cd "${work}"
mkdir -p "${out}"
for b in "${missing[@]}"; do
  start=$(date +%s)
  CGO_ENABLED=0 go build -ldflags "${DAPR_LDFLAGS}" -o "${b}" "github.com/dapr/dapr/cmd/${b}"
  mv "${b}" "${out}/${b}"
  log "dapr control plane ${DAPR_VERSION}: ${b} built in $(( $(date +%s) - start )) s"
done
cd /; rm -rf "${work}"
