#!/usr/bin/env bash
# `make bundles`: stage the charts, scripts and invocation image template into each level
# bundle directory (porter builds from the manifest's directory), prove the bundles (image lock
# rebuilds to the same digests, schemas, references, chart renders, Bicep parameters, arcflux
# steps against the Azure fakes), then, where a porter binary is on PATH, `porter lint` every
# bundle and, only when all are clean, `porter build` every bundle (which needs a Docker daemon).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}

stage() { # bundle dir
  local dir=$1
  rm -rf "$dir/charts" "$dir/scripts" "$dir/template.Dockerfile"
  mkdir -p "$dir/charts" "$dir/scripts"
  # Every chart with its dependencies built (charts/edge-lib-<version>.tgz, `helm dependency build`).
  "$GO" run ./build/cmd/chartpkg --stage "$dir/charts" >/dev/null
  cp -R charts/profiles "$dir/charts/"
  cp bundles/scripts/*.sh "$dir/scripts/"
  if grep -q '^dockerfile: template.Dockerfile$' "$dir/porter.yaml"; then
    cp bundles/template.Dockerfile "$dir/template.Dockerfile"
  fi
}

dirs=(.)   # the all-in-one bundle, then every level bundle
for m in bundles/*/porter.yaml; do
  d=$(dirname "$m")
  stage "$d"
  echo "staged charts and scripts into $d"
  dirs+=("$d")
done

"$GO" run ./build/cmd/edgeframe-images verify
"$GO" test -count=1 ./test/bundles/

if ! command -v porter >/dev/null; then
  echo "porter not on PATH: skipped porter lint/build (everything porter checks is covered by test/bundles)"
  exit 0
fi
# Lint every bundle first. porter lint exits 0 even when a mixin reports errors (porter build
# refuses them), so its report is read: an "error(<code>)" line is an error.
failed=()
for d in "${dirs[@]}"; do
  echo "porter lint in $d"
  if ! out=$(cd "$d" && porter lint 2>&1); then
    echo "$out"
    failed+=("$d")
    continue
  fi
  [[ -n "$out" ]] && echo "$out"
  if grep -q '^error(' <<<"$out"; then failed+=("$d"); fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "porter lint found errors in: ${failed[*]} (nothing built)" >&2
  exit 1
fi
echo "porter lint: ${#dirs[@]} bundles clean"
if ! docker info >/dev/null 2>&1; then
  echo "no Docker daemon: skipped porter build of ${dirs[*]} (linted above)"
  exit 0
fi
for d in "${dirs[@]}"; do
  echo "porter build in $d"
  (cd "$d" && porter build) || failed+=("$d")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "porter build failed in: ${failed[*]}" >&2
  exit 1
fi
