#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) from npm for the gateway's Blob sink tests,
# cached by version under $EDGEFRAME_TOOLS/azurite-<version>/ and linked as
# $EDGEFRAME_TOOLS/bin/azurite-blob (testenv.StartAzurite runs it).
source "$(dirname "$0")/common.sh"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
out="$(npm_tool azurite azurite "${AZURITE_VERSION}" 70)"
plan_mode && exit 0
if [[ ! -x "${out}/node_modules/.bin/azurite-blob" ]]; then
  log "azurite ${AZURITE_VERSION}: ${out} has no node_modules/.bin/azurite-blob"
  exit 1
fi
ln -sfn "${out}/node_modules/.bin/azurite-blob" "${EDGEFRAME_TOOLS}/bin/azurite-blob"
