#!/usr/bin/env bash
# Cross-builds the arcflux mixin for every platform porter installs from, with the
# release file names porter's `mixins install` downloads, and writes the atom feed
# `porter mixins install arcflux --feed-url <URL>/atom.xml` reads:
#   bin/mixins/arcflux/<VERSION>/arcflux-<os>-<arch>[.exe]
#   bin/mixins/atom.xml
# Env: VERSION, COMMIT; PLATFORMS (default "linux/amd64 linux/arm64 darwin/amd64
# darwin/arm64 windows/amd64 windows/arm64"); FEED_BASE_URL (where the <VERSION>/
# directories are published, default the GitHub releases download URL); OUT (default bin/mixins).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}"
FEED_BASE_URL="${FEED_BASE_URL:-https://github.com/edgeframe/edgeframe/releases/download}"
OUT="${OUT:-${ROOT}/bin/mixins}"
vdir="${OUT}/${MIXIN}/${VERSION}"
mkdir -p "$vdir"
for p in $PLATFORMS; do
  os="${p%/*}"; arch="${p#*/}"
  ext=""; [ "$os" = windows ] && ext=".exe"
  build "$os" "$arch" "${vdir}/${MIXIN}-${os}-${arch}${ext}"
done
bash "$(dirname "${BASH_SOURCE[0]}")/feed.sh" "$OUT" "$FEED_BASE_URL" > "${OUT}/atom.xml"
log "feed ${OUT}/atom.xml"
