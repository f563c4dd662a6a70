#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) from npm for the gateway's Blob sink tests,
# cached by version under $EDGEFRAME_TOOLS/azurite-<version>/ and linked as
# $EDGEFRAME_TOOLS/bin/azurite-blob (testenv.StartAzurite runs it).
source "$(dirname "$0")/common.sh"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
out="${EDGEFRAME_TOOLS}/azurite-${AZURITE_VERSION}"
link="${EDGEFRAME_TOOLS}/bin/azurite-blob"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "azurite: installing nodejs and npm from apt"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    log "azurite: needs node and npm; install them (Debian: apt-get install nodejs npm) and re-run make tools"
    exit 1
  fi
fi
if [[ -x "${out}/node_modules/.bin/azurite-blob" ]] &&
   grep -q "\"version\": \"${AZURITE_VERSION}\"" "${out}/node_modules/azurite/package.json"; then
  log "azurite ${AZURITE_VERSION}: cached at ${out}"
else
  work="${out}.build"
  rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
  log "azurite ${AZURITE_VERSION}: npm install (about 70 s cold)"
  printf '{"name":"edgeframe-azurite","private":true}\n' > package.json
  npm install --no-audit --no-fund --loglevel=error "azurite@${AZURITE_VERSION}" >&2
  rm -rf "${out}"; mv "${work}" "${out}"
  log "azurite ${AZURITE_VERSION}: installed at ${out}"
fi
ln -sfn "${out}/node_modules/.bin/azurite-blob" "${link}"
