#!/usr/bin/env bash
# Installs the arcflux mixin where porter looks for it:
#   $PORTER_HOME/mixins/arcflux/arcflux                 (client, host OS/arch)
#   $PORTER_HOME/mixins/arcflux/runtimes/arcflux-runtime (runtime, linux/amd64)
# PORTER_HOME defaults to ~/.porter. VERSION/COMMIT override the stamped version.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PORTER_HOME="${PORTER_HOME:-${HOME}/.porter}"
dest="${PORTER_HOME}/mixins/${MIXIN}"
mkdir -p "${dest}/runtimes"
ext=""; [ "$(go env GOOS)" = windows ] && ext=".exe"
build "$(go env GOOS)" "$(go env GOARCH)" "${dest}/${MIXIN}${ext}"
build linux amd64 "${dest}/runtimes/${MIXIN}-runtime"
"${dest}/${MIXIN}${ext}" version
log "installed into ${dest}"
