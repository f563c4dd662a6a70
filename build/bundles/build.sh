#!/usr/bin/env bash
# `make bundles`: stage every bundle into bin/bundles/<name>/ (its manifest and files, the charts
# with their dependencies built, the scripts and the invocation image template: porter builds
# from the manifest's directory), build the workload images from this source and write their
# digests into the staged manifests (the committed manifests name them by tag only), prove the
# bundles (schemas, references, chart renders, Bicep parameters, arcflux steps against the Azure
# fakes, reproducible images), then, where a porter binary is on PATH, `porter lint` every staged
# bundle and, only when all are clean, `porter build` every one (which needs a Docker daemon).
#
#   build/bundles/build.sh           everything above
#   build/bundles/build.sh --stage   only stage (what `make publish` does before it pushes and
#                                    writes the pushed digests into the staged manifests)
# Env: GO (default go), BUNDLES_OUT (default bin/bundles).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
OUT=${BUNDLES_OUT:-bin/bundles}

stage() { # name source-dir
  local name=$1 src=$2 dst="$OUT/$1"
  rm -rf "$dst"
  mkdir -p "$dst/charts"
  if [[ "$name" == all-in-one ]]; then
    # The repository root is this bundle's directory: its manifest, build context filter and
    # the one script its exec step runs (./bundles/scripts/cleanup.sh).
    cp porter.yaml .dockerignore "$dst/"
    mkdir -p "$dst/bundles/scripts"
    cp bundles/scripts/*.sh "$dst/bundles/scripts/"
  else
    # The bundle's own files; what an older build staged in place is not the source.
    for f in "$src"/* "$src"/.[!.]*; do
      case "$(basename "$f")" in charts|scripts|template.Dockerfile|.cnab|'.[!.]*') continue ;; esac
      cp -R "$f" "$dst/"
    done
    mkdir -p "$dst/scripts"
    cp bundles/scripts/*.sh "$dst/scripts/"
  fi
  # Every chart with its dependencies built (charts/edge-lib-<version>.tgz, `helm dependency build`).
  "$GO" run ./build/cmd/chartpkg --stage "$dst/charts" >/dev/null
  cp -R charts/profiles "$dst/charts/"
  if grep -q '^dockerfile: template.Dockerfile$' "$dst/porter.yaml"; then
    cp bundles/template.Dockerfile "$dst/template.Dockerfile"
  fi
}

dirs=()   # the all-in-one bundle, then every level bundle
stage all-in-one .
dirs+=("$OUT/all-in-one")
for m in bundles/*/porter.yaml; do
  d=$(dirname "$m")
  stage "$(basename "$d")" "$d"
  dirs+=("$OUT/$(basename "$d")")
done
echo "staged ${dirs[*]}"
if [[ "${1:-}" == --stage ]]; then
  exit 0
fi

# The images of this source; their digests go into the staged manifests (and bin/images.lock.json).
"$GO" run ./build/cmd/edgeframe-images build --manifests "$OUT/*/porter.yaml"
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
