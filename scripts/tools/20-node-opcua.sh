#!/usr/bin/env bash
# Installs node-opcua from npm for the OPC UA interop tests, cached by version under
# $EDGEFRAME_TOOLS/node-opcua-<version>/ and published as $EDGEFRAME_TOOLS/bin/node-opcua
# (a symlink to the directory that holds node_modules; testenv.Tool(t, "node-opcua") returns it).
source "$(dirname "$0")/common.sh"
NODE_OPCUA_VERSION="${NODE_OPCUA_VERSION:-2.186.4}"
out="${EDGEFRAME_TOOLS}/node-opcua-${NODE_OPCUA_VERSION}"
link="${EDGEFRAME_TOOLS}/bin/node-opcua"
mkdir -p "${EDGEFRAME_TOOLS}/bin"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "node-opcua: installing nodejs and npm from apt"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    log "node-opcua: needs node and npm; install them (Debian: apt-get install nodejs npm) and re-run make tools"
    exit 1
  fi
fi
if [[ -f "${out}/node_modules/node-opcua/package.json" ]] &&
   grep -q "\"version\": \"${NODE_OPCUA_VERSION}\"" "${out}/node_modules/node-opcua/package.json"; then
  log "node-opcua ${NODE_OPCUA_VERSION}: cached at ${out}"
else
  work="${out}.build"
  rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
  log "node-opcua ${NODE_OPCUA_VERSION}: npm install (about 40 s cold)"
  printf '{"name":"edgeframe-node-opcua","private":true}\n' > package.json
  npm install --no-audit --no-fund --loglevel=error "node-opcua@${NODE_OPCUA_VERSION}" >&2
  rm -rf "${out}"; mv "${work}" "${out}"
  log "node-opcua ${NODE_OPCUA_VERSION}: installed at ${out}"
fi
ln -sfn "${out}" "${link}"
