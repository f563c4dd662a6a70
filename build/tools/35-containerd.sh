#!/usr/bin/env bash
# The container runtime of `make cluster-up`: containerd, ctr and containerd-shim-runc-v2 built
# from the Go module github.com/containerd/containerd/v2 through a wrapper module, cached under
# $EDGEFRAME_TOOLS/containerd-v<version>/ and linked into bin/; runc, the CNI plugins
# (/usr/lib/cni), iptables (kube-proxy) and conntrack from Debian.
# Cold: containerd ~2 min idle (427 s measured under load avg 15; 2 cores); apt ~20 s.
source "$(dirname "$0")/common.sh"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-2.4.2}"
if ! command -v runc >/dev/null || [[ ! -x /usr/lib/cni/bridge ]] || ! command -v iptables >/dev/null || ! command -v conntrack >/dev/null; then
  if to_build "runc, containernetworking-plugins, iptables, conntrack (apt)" 20; then
    apt_install runc containernetworking-plugins iptables conntrack
  fi
fi
out="${EDGEFRAME_TOOLS}/containerd-v${CONTAINERD_VERSION}"
bins=(containerd ctr containerd-shim-runc-v2)
if [[ -x "${out}/containerd" && -x "${out}/ctr" && -x "${out}/containerd-shim-runc-v2" ]]; then
  log "containerd ${CONTAINERD_VERSION}: cached at ${out}"
elif to_build "containerd ${CONTAINERD_VERSION}" 180; then
  work="${out}.build"; rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
  M=github.com/containerd/containerd/v2
  go mod init example.com/containerdwrap >/dev/null 2>&1
  go get -tool "${M}/cmd/containerd@v${CONTAINERD_VERSION}" "${M}/cmd/ctr@v${CONTAINERD_VERSION}" \
    "${M}/cmd/containerd-shim-runc-v2@v${CONTAINERD_VERSION}" >/dev/null
  for b in "${bins[@]}"; do
    # Static, and without the btrfs/devmapper snapshotters (they need C headers; overlayfs is used).
    CGO_ENABLED=0 go build -tags "no_btrfs no_devmapper" \
      -ldflags "-X ${M}/version.Version=v${CONTAINERD_VERSION}" -o "${b}" "${M}/cmd/${b}"
  done
  mkdir -p "${out}"; mv "${bins[@]}" "${out}/"
  cd /; rm -rf "${work}"
  log "containerd ${CONTAINERD_VERSION}: built at ${out}"
fi
plan_mode || for b in "${bins[@]}"; do ln -sfn "${out}/${b}" "${EDGEFRAME_TOOLS}/bin/${b}"; done
