# Shared settings for the tool installers. Sourced, not run.
# EDGEFRAME_TOOLS is the cache that survives between runs on the same machine.
set -euo pipefail
EDGEFRAME_TOOLS="${EDGEFRAME_TOOLS:-${HOME}/.cache/edgeframe/tools}"
mkdir -p "${EDGEFRAME_TOOLS}/bin"
log() { printf '[tools] %s\n' "$*" >&2; }
# Plan mode (EDGEFRAME_TOOLS_PLAN=FILE, set by plan.sh): an installer builds, installs and links
# nothing; it appends one line "NAME<TAB>SECONDS" to FILE for each component it would have to
# build, SECONDS being the rough cold cost on 2 cores. plan.sh adds them up, so a cold
# `make tools` says up front what it builds and about how long that takes.
plan_mode() { [[ -n "${EDGEFRAME_TOOLS_PLAN:-}" ]]; }
# to_build NAME SECONDS is called where an installer is about to build NAME. In plan mode it
# records the plan line and returns 1 (skip the build); otherwise it logs and returns 0.
to_build() {
  if plan_mode; then printf '%s\t%s\n' "$1" "$2" >> "${EDGEFRAME_TOOLS_PLAN}"; return 1; fi
  log "$1: building (about $(human_seconds "$2") cold on 2 cores)"
}
# human_seconds N prints N seconds as "N s" or "N min".
human_seconds() {
  if (( $1 < 120 )); then printf '%d s' "$1"; else printf '%d min' $(( ($1 + 30) / 60 )); fi
}
# gomod_file MODULE@VERSION prints the path of the module's go.mod in the module cache.
gomod_file() {
  go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'
}
# One run of an installer at a time: a second `make tools` waits for the first one's build
# instead of racing it in the same build directory.
# Plan mode only reads the cache, so it takes no lock.
if ! plan_mode; then
  exec 9>"${EDGEFRAME_TOOLS}/.lock-$(basename "$0" .sh)"
  flock 9
fi
# npm_tool NAME PACKAGE VERSION COLD installs PACKAGE@VERSION from npm into
# $EDGEFRAME_TOOLS/NAME-VERSION (nodejs and npm from apt first when missing and we are root),
# unless that version is already there, and prints the directory. COLD is the rough time of a
# cold install in seconds. In plan mode it installs nothing and prints nothing when cached.
npm_tool() {
  local name="$1" pkg="$2" version="$3" cold="$4"
  local out="${EDGEFRAME_TOOLS}/${name}-${version}"
  if [[ -f "${out}/node_modules/${pkg}/package.json" ]] &&
     grep -q "\"version\": \"${version}\"" "${out}/node_modules/${pkg}/package.json"; then
    log "${name} ${version}: cached at ${out}"
    printf '%s\n' "${out}"; return 0
  fi
  to_build "${name} ${version}" "${cold}" || return 0
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      log "${name}: installing nodejs and npm from apt"
      apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    else
      log "${name}: needs node and npm; install them (Debian: apt-get install nodejs npm) and re-run make tools"
      exit 1
    fi
  fi
  local work="${out}.build"
  rm -rf "${work}"; mkdir -p "${work}"
  printf '{"name":"edgeframe-%s","private":true}\n' "${name}" > "${work}/package.json"
  (cd "${work}" && npm install --no-audit --no-fund --loglevel=error "${pkg}@${version}" >&2)
  rm -rf "${out}"; mv "${work}" "${out}"
  log "${name} ${version}: installed at ${out}"
  printf '%s\n' "${out}"
}
# go_tool NAME DIR PACKAGE@VERSION COLD builds a Go command with `go install` into
# $EDGEFRAME_TOOLS/DIR unless DIR/NAME is there already, and links it as bin/NAME. COLD is the
# rough time of a cold build in seconds.
go_tool() {
  local name="$1" dir="${EDGEFRAME_TOOLS}/$2" pkg="$3" cold="$4"
  if [[ -x "${dir}/${name}" ]]; then
    log "${name} ${pkg##*@}: cached at ${dir}"
  elif plan_mode; then
    to_build "${name} ${pkg##*@}" "${cold}" || true; return 0
  else
    to_build "${name} ${pkg##*@}" "${cold}"
    mkdir -p "${dir}"
    GOBIN="${dir}" go install "${pkg}"
    log "${name} ${pkg##*@}: built at ${dir}"
  fi
  ln -sfn "${dir}/${name}" "${EDGEFRAME_TOOLS}/bin/${name}"
}

# Versions shared by the installers that build from the same modules.
KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
DAPR_VERSION="${DAPR_VERSION:-1.18.0}"
KUBE_MINOR="$(echo "${KUBE_VERSION}" | cut -d. -f2)"
# KUBE_LDFLAGS stamps the version the Kubernetes binaries report (without it: v0.0.0-master).
KUBE_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1"
KUBE_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=${KUBE_MINOR} -X k8s.io/component-base/version.gitTreeState=clean"
# kube_wrapper DIR CMD... writes, in DIR (created empty), the wrapper module (R7) that requires
# k8s.io/kubernetes@v$KUBE_VERSION with its staging modules pinned at their served versions,
# and adds k8s.io/kubernetes/cmd/<CMD> for each CMD as a tool. Build with
#   go build -ldflags "$KUBE_LDFLAGS" -o OUT k8s.io/kubernetes/cmd/CMD
kube_wrapper() {
  local dir="$1"; shift
  local staging="0.${KUBE_MINOR}.$(echo "${KUBE_VERSION}" | cut -d. -f3)" m cmds=()
  rm -rf "${dir}"; mkdir -p "${dir}"
  m=$(gomod_file "k8s.io/kubernetes@v${KUBE_VERSION}")
  sed -e 's#^module k8s.io/kubernetes#module example.com/k8swrap#' \
      -e "s#=> ./staging/src/\(k8s.io/[a-z-]*\)#=> \1 v${staging}#" "$m" > "${dir}/go.mod"
  printf '\nrequire k8s.io/kubernetes v%s\n' "${KUBE_VERSION}" >> "${dir}/go.mod"
  for c in "$@"; do cmds+=("k8s.io/kubernetes/cmd/${c}"); done
  (cd "${dir}" && go get -tool "${cmds[@]}" >/dev/null && go mod tidy >/dev/null)
}
# dapr_wrapper DIR writes, in DIR (created empty), the wrapper module (R5) that requires
# github.com/dapr/dapr@v$DAPR_VERSION (exact version; dapr's own replace lines kept) with daprd
# and the control plane (operator, injector, sentry, placement) as its packages. The scheduler
# (cmd/scheduler) cannot be built here: its dependency github.com/diagridio/go-etcd-cron is not
# served by the module proxy (403 "This module version is not available").
# Build daprd with -tags stablecomponents (cmd/daprd/components panics without it).
dapr_wrapper() {
  local dir="$1" m
  rm -rf "${dir}"; mkdir -p "${dir}"
  m=$(gomod_file "github.com/dapr/dapr@v${DAPR_VERSION}")
  sed 's#^module github.com/dapr/dapr#module example.com/daprwrap#' "$m" > "${dir}/go.mod"
  printf '\nrequire github.com/dapr/dapr v%s\n' "${DAPR_VERSION}" >> "${dir}/go.mod"
  cat > "${dir}/tools.go" <<'GO'
//go:build tools

package daprwrap

import (
	_ "github.com/dapr/dapr/cmd/daprd"
	_ "github.com/dapr/dapr/cmd/injector"
	_ "github.com/dapr/dapr/cmd/operator"
	_ "github.com/dapr/dapr/cmd/placement"
	_ "github.com/dapr/dapr/cmd/sentry"
)
GO
  (cd "${dir}" && go mod tidy >/dev/null)
}
# DAPR_LDFLAGS stamps the version the dapr binaries report.
DAPR_LDFLAGS="-X github.com/dapr/dapr/pkg/buildinfo.version=${DAPR_VERSION}"
# apt_install PKG... installs Debian packages (as root), or says which apt command to run.
apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    log "needs the Debian packages $*: run 'sudo apt-get install -y $*' (or make tools as root)"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}
