#!/usr/bin/env bash
# Builds etcd (R6) and kube-apiserver, kubectl, kube-controller-manager, kube-scheduler (R7)
# from their Go modules through wrapper modules (kube_wrapper in common.sh) (exact versions only), cached by version:
#   $EDGEFRAME_TOOLS/etcd-v<ETCD_VERSION>/{etcd,etcdctl}
#   $EDGEFRAME_TOOLS/kubernetes-v<KUBE_VERSION>/{kube-apiserver,kubectl,kube-controller-manager,kube-scheduler,etcd}
# The kubernetes directory also holds a link to etcd, so it can be used as KUBEBUILDER_ASSETS for envtest.
# Every binary is linked into $EDGEFRAME_TOOLS/bin. Each binary is built only when missing.
# Cold: etcd ~75 s; kube-apiserver ~12.5 min, kubectl ~1 min, controller-manager ~5 min, scheduler ~1 min (2 cores).
source "$(dirname "$0")/common.sh"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"

bin="${EDGEFRAME_TOOLS}/bin"
etcd_out="${EDGEFRAME_TOOLS}/etcd-v${ETCD_VERSION}"
kube_out="${EDGEFRAME_TOOLS}/kubernetes-v${KUBE_VERSION}"
mkdir -p "${bin}" "${etcd_out}" "${kube_out}"

link() { ln -sfn "$1" "${bin}/$(basename "$1")"; }

# --- etcd (R6) -------------------------------------------------------------------------------
if [[ -x "${etcd_out}/etcd" && -x "${etcd_out}/etcdctl" ]] && "${etcd_out}/etcd" --version 2>/dev/null | grep -q "${ETCD_VERSION}"; then
  log "etcd ${ETCD_VERSION}: cached at ${etcd_out}"
elif to_build "etcd ${ETCD_VERSION}" 75; then
  work="${etcd_out}.build"; rm -rf "${work}"; mkdir -p "${work}"; cd "${work}"
  go mod init example.com/etcdwrap >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" "go.etcd.io/etcd/etcdctl/v3@v${ETCD_VERSION}" >/dev/null
  go build -o etcd go.etcd.io/etcd/server/v3
  go build -o etcdctl go.etcd.io/etcd/etcdctl/v3
  mv etcd etcdctl "${etcd_out}/"
  cd /; rm -rf "${work}"
  log "etcd ${ETCD_VERSION}: built at ${etcd_out}"
fi
plan_mode || { link "${etcd_out}/etcd"; link "${etcd_out}/etcdctl"; }
plan_mode || ln -sfn "${etcd_out}/etcd" "${kube_out}/etcd"

# --- Kubernetes (R7) -------------------------------------------------------------------------
want=(kube-apiserver kubectl kube-controller-manager kube-scheduler)
missing=()
for b in "${want[@]}"; do
  if [[ -x "${kube_out}/${b}" ]]; then plan_mode || link "${kube_out}/${b}"; else missing+=("${b}"); fi
done
if (( ${#missing[@]} == 0 )); then
  log "kubernetes ${KUBE_VERSION}: cached at ${kube_out}"; exit 0
fi
# Cold on 2 cores: kube-apiserver ~12.5 min, kube-controller-manager ~5, kubectl ~1, kube-scheduler ~1.
declare -A cold=([kube-apiserver]=750 [kube-controller-manager]=300 [kubectl]=60 [kube-scheduler]=60)
total=0; for b in "${missing[@]}"; do total=$(( total + ${cold[$b]:-120} )); done
to_build "kubernetes ${KUBE_VERSION} (${missing[*]})" "${total}" || exit 0
work="${kube_out}.build"
kube_wrapper "${work}" "${want[@]}"
cd "${work}"
for b in "${missing[@]}"; do
  log "kubernetes ${KUBE_VERSION}: building ${b}"
  go build -ldflags "${KUBE_LDFLAGS}" -o "${b}" "k8s.io/kubernetes/cmd/${b}"
  mv "${b}" "${kube_out}/${b}"
  link "${kube_out}/${b}"
  log "kubernetes ${KUBE_VERSION}: ${b} built at ${kube_out}/${b}"
done
cd /; rm -rf "${work}"
log "kubernetes ${KUBE_VERSION}: done (${kube_out})"
