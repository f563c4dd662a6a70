# Shared by the arcflux build scripts. Sourced, not run.
set -euo pipefail
MIXIN=arcflux
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PKG=github.com/edgeframe/edgeframe/pkg/version
# VERSION: env, else the nearest v* tag (untagged commits get v0.0.0-dev+<sha>).
COMMIT="${COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
VERSION="${VERSION:-$(git -C "$ROOT" describe --tags --match 'v*' --exact-match 2>/dev/null || echo "v0.0.0-dev+${COMMIT}")}"
LDFLAGS="-w -s -X ${PKG}.Version=${VERSION} -X ${PKG}.Commit=${COMMIT}"
# build GOOS GOARCH OUT
build() {
  log "building ${MIXIN} ${VERSION} for $1/$2 -> $3"
  (cd "$ROOT" && CGO_ENABLED=0 GOOS="$1" GOARCH="$2" go build -ldflags "$LDFLAGS" -o "$3" ./mixin/cmd/arcflux)
}
log() { printf '[arcflux] %s\n' "$*" >&2; }
