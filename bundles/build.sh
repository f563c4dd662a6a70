#!/usr/bin/env bash
# `make bundles`: stage the charts and scripts into each bundle directory (porter builds from
# the manifest's directory), prove the bundles (image lock rebuilds to the same digests,
# schemas, references, chart renders, Bicep parameters, arcflux steps against the Azure
# fakes), then, where a porter binary is on PATH, run `porter lint` and `porter build`.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

stage() { # bundle dir
  local dir=$1
  rm -rf "$dir/charts" "$dir/scripts"
  mkdir -p "$dir/charts" "$dir/scripts"
  # Every chart with its dependencies built (charts/edge-lib-<version>.tgz, `helm dependency build`).
  "$GO" run ./charts/cmd/chartpkg --stage "$dir/charts" >/dev/null
  cp -R charts/profiles "$dir/charts/"
  cp bundles/scripts/*.sh "$dir/scripts/"
}

for b in infrastructure platform application; do
  stage "bundles/$b"
  echo "staged charts and scripts into bundles/$b"
done

"$GO" run ./tools/imagebuild/cmd/edgeframe-images verify
"$GO" test -count=1 ./test/bundles/

if command -v porter >/dev/null; then
  for d in . bundles/infrastructure bundles/platform bundles/application; do
    echo "porter lint + build in $d"
    (cd "$d" && porter lint && porter build)
  done
else
  echo "porter not on PATH: skipped porter lint/build (everything porter checks is covered by test/bundles)"
fi
