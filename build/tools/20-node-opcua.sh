#!/usr/bin/env bash
# Installs node-opcua from npm for the OPC UA interop tests, cached by version under
# $EDGEFRAME_TOOLS/node-opcua-<version>/ and published as $EDGEFRAME_TOOLS/bin/node-opcua
# (a symlink to the directory that holds node_modules; testenv.Tool(t, "node-opcua") returns it).
source "$(dirname "$0")/common.sh"
NODE_OPCUA_VERSION="${NODE_OPCUA_VERSION:-2.186.4}"
out="$(npm_tool node-opcua node-opcua "${NODE_OPCUA_VERSION}" 40)"
plan_mode && exit 0
ln -sfn "${out}" "${EDGEFRAME_TOOLS}/bin/node-opcua"
