# Shared settings for the tool installers. Sourced, not run.
# EDGEFRAME_TOOLS is the cache that survives between runs on the same machine.
set -euo pipefail
EDGEFRAME_TOOLS="${EDGEFRAME_TOOLS:-${HOME}/.cache/edgeframe/tools}"
mkdir -p "${EDGEFRAME_TOOLS}/bin"
log() { printf '[tools] %s\n' "$*" >&2; }
# gomod_file MODULE@VERSION prints the path of the module's go.mod in the module cache.
gomod_file() {
  go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'
}
# One run of an installer at a time: a second `make tools` waits for the first one's build
# instead of racing it in the same build directory.
exec 9>"${EDGEFRAME_TOOLS}/.lock-$(basename "$0" .sh)"
flock 9
