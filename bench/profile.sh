#!/bin/bash
# Instructions per call for each layer of (a) (bench/layers.ts), counted by valgrind's callgrind:
# user-space instructions only (the kernel's work is not counted), repeatable to a fraction of a
# percent where wall-clock times on a shared machine vary by tens of percent. Needs valgrind.
# LAYERS=component_layers counts (e)'s layers instead (bench/component_layers.ts): there each
# case is also run with one call, and that run (the setup of a sandbox and an instance, which a
# component's is larger than a core module's) is subtracted.
#
#   npm run build && [LAYERS=component_layers] bash bench/profile.sh [CALLS] [CASE...]
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-20000}
shift || true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "$out"
valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" node "build/bench/${LAYERS:-layers}.js" "$calls" "$@" \
  >"$out/cases" 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
# Each dump file starts with "desc: Trigger: dump LABEL" and holds "totals: N" since the dump before.
declare -A ir
for f in "$out"/cg.*.*; do ir[$(sed -n 's/^desc: Trigger: dump //p' "$f")]=$(sed -n 's/^totals: //p' "$f"); done
printf '| case | instructions per call (user space) |\n|---|---:|\n'
while IFS=$'\t' read -r label name setup; do
  if [ -n "$setup" ]; then
    printf '| %s | %d |\n' "$name" $(( (${ir[$label]} - ${ir[$setup]}) / (calls - 1) ))
  else
    printf '| %s | %d |\n' "$name" $(( (${ir[$label]} - ${ir[empty]}) / calls ))
  fi
done <"$out/cases"
