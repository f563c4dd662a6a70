#!/usr/bin/env bash
# Command source of the example parameter sets: prints output OUTPUT of installation
# INSTALLATION exactly, without the newline `porter installation outputs show` ends with, and
# SUFFIX (e.g. :8883) appended.
#
#   bundles/scripts/installation-output.sh INSTALLATION OUTPUT [SUFFIX]
#
# Porter runs a `command:` source without a shell: it splits the string on spaces, executes
# it and takes its combined output untrimmed. So the command is this script with arguments
# that hold no spaces, and the script prints nothing else (porter's own messages go to stderr
# and are shown only when it fails). Run porter from the repository root, where this relative
# path resolves.
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "installation-output.sh: want INSTALLATION OUTPUT [SUFFIX], got $# arguments" >&2
  exit 2
fi
installation=$1 output=$2 suffix=${3:-}
errs=$(mktemp)
trap 'rm -f "$errs"' EXIT
if ! value=$(porter installation outputs show "$output" -i "$installation" 2>"$errs"); then
  echo "installation-output.sh: output $output of installation $installation:" >&2
  cat "$errs" >&2
  exit 1
fi
if [[ -z "$value" ]]; then
  echo "installation-output.sh: output $output of installation $installation is empty" >&2
  exit 1
fi
printf '%s%s' "$value" "$suffix"
