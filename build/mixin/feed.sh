#!/usr/bin/env bash
# feed.sh DIR BASE_URL — prints the atom feed porter's `mixins install --feed-url`
# reads, for every DIR/<mixin>/<version>/<mixin>-<os>-<arch>[.exe] (the layout of
# `porter mixins feed generate`): one entry per mixin version, category = mixin
# name, content = version, one rel="download" link per file. Versions that are
# not release tags (containing "-dev" or a -N-gSHA suffix) are skipped, as porter does.
set -euo pipefail
dir="$1"; base="${2%/}"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cat <<HEAD
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${base}/atom.xml</id>
  <title>edgeframe Porter mixins</title>
  <updated>${now}</updated>
  <link rel="self" href="${base}/atom.xml"/>
  <author>
    <name>edgeframe</name>
    <uri>https://github.com/edgeframe/edgeframe</uri>
  </author>
HEAD
for mdir in "$dir"/*/; do
  [ -d "$mdir" ] || continue
  m="$(basename "$mdir")"
  [[ "$m" =~ ^[a-z0-9-]+$ ]] || continue
  printf '  <category term="%s"/>\n' "$m"
done
for vdir in "$dir"/*/v*/; do
  [ -d "$vdir" ] || continue
  v="$(basename "$vdir")"; m="$(basename "$(dirname "$vdir")")"
  [[ "$m" =~ ^[a-z0-9-]+$ ]] || continue
  if [[ "$v" == *-dev* || "$v" =~ -[0-9]+-g[0-9a-f]+$ ]]; then continue; fi
  files=()
  for f in "$vdir"/"$m"-*-*; do
    [ -f "$f" ] && files+=("$(basename "$f")")
  done
  [ ${#files[@]} -gt 0 ] || continue
  updated="$(date -u -r "$vdir" +%Y-%m-%dT%H:%M:%SZ)"
  printf '  <entry>\n    <id>%s/%s/%s</id>\n    <title>%s @ %s</title>\n    <updated>%s</updated>\n    <category term="%s"/>\n    <content>%s</content>\n' \
    "$base" "$v" "$m" "$m" "$v" "$updated" "$m" "$v"
  for f in "${files[@]}"; do
    printf '    <link rel="download" href="%s/%s/%s"/>\n' "$base" "$v" "$f"
  done
  printf '  </entry>\n'
done
echo '</feed>'
