#!/usr/bin/env bash
# gotestsum runs `make test`: the same `go test`, plus one summary at the end that lists every
# skipped test with its reason, so a skip is never silent. Built from its Go module, cached by version.
source "$(dirname "$0")/common.sh"
GOTESTSUM_VERSION="${GOTESTSUM_VERSION:-v1.13.0}"
go_tool gotestsum "gotestsum-${GOTESTSUM_VERSION}" "gotest.tools/gotestsum@${GOTESTSUM_VERSION}" 40
