#!/usr/bin/env bash
# Builds kubelet and kube-proxy (the node of `make cluster-up`) from the same Kubernetes module
# version as 30-kubernetes.sh, through the same wrapper module (kube_wrapper in common.sh),
# cached under $EDGEFRAME_TOOLS/kubernetes-v<KUBE_VERSION>/ and linked into bin/.
# Cold: kubelet ~75 s idle (427 s measured under load avg 15), kube-proxy ~30 s, after
# 30-kubernetes.sh (shared build cache; 2 cores).
source "$(dirname "$0")/common.sh"
kube_out="${EDGEFRAME_TOOLS}/kubernetes-v${KUBE_VERSION}"
mkdir -p "${kube_out}"
want=(kubelet kube-proxy)
missing=()
for b in "${want[@]}"; do
  if [[ -x "${kube_out}/${b}" ]]; then plan_mode || ln -sfn "${kube_out}/${b}" "${EDGEFRAME_TOOLS}/bin/${b}"; else missing+=("${b}"); fi
done
if (( ${#missing[@]} == 0 )); then
  log "kubelet, kube-proxy ${KUBE_VERSION}: cached at ${kube_out}"; exit 0
fi
to_build "kubernetes ${KUBE_VERSION} (${missing[*]})" 200 || exit 0
work="${kube_out}.node-build"
kube_wrapper "${work}" "${want[@]}"
cd "${work}"
for b in "${missing[@]}"; do
  start=$(date +%s)
  go build -ldflags "${KUBE_LDFLAGS}" -o "${b}" "k8s.io/kubernetes/cmd/${b}"
  mv "${b}" "${kube_out}/${b}"
  ln -sfn "${kube_out}/${b}" "${EDGEFRAME_TOOLS}/bin/${b}"
  log "kubernetes ${KUBE_VERSION}: ${b} built at ${kube_out}/${b} in $(( $(date +%s) - start )) s"
done
cd /; rm -rf "${work}"
