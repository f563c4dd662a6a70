#!/usr/bin/env bash
# Says up front what `make tools` is about to build on this machine and about how long that
# takes, by running every installer in plan mode (see common.sh): nothing is built or installed.
# Prints nothing but one line when everything is cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plan="$(mktemp)"
trap 'rm -f "${plan}"' EXIT
for s in "${here}"/[0-9]*.sh; do
  EDGEFRAME_TOOLS_PLAN="${plan}" bash "${s}" 2>/dev/null || true
done
source "${here}/common.sh"
if [[ ! -s "${plan}" ]]; then
  log "every component is cached under ${EDGEFRAME_TOOLS}"
  exit 0
fi
total=0
log "not cached yet, so built or installed now (rough cold times on 2 cores):"
while IFS=$'\t' read -r name secs; do
  log "$(printf '  %-58s %s' "${name}" "$(human_seconds "${secs}")")"
  total=$(( total + secs ))
done < "${plan}"
log "in all about $(human_seconds "${total}"); a first run from nothing also fills the Go module and build caches (about 18 GiB of disk in all, measured)"
