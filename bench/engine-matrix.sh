#!/usr/bin/env bash
# Runs bench/engine.ts over {as published, batching patch} × {prebuilt, native} × {direct, api},
# alternating unpatched and patched passes so slow drifts in machine load hit both alike.
# Reverses patches/node-llama-cpp+3.22.1.patch in node_modules for the unpatched passes and
# re-applies it at the end (also on Ctrl-C). Don't run tests or npm install meanwhile.
#   bash bench/engine-matrix.sh [passes=2] [extra bench/engine.ts flags…]
set -uo pipefail
cd "$(dirname "$0")/.."
passes=${1:-2}
shift || true
trap 'npx patch-package --error-on-fail --error-on-warn >/dev/null' EXIT
run() { echo "### $*"; npx tsx bench/engine.ts "$@" 2>&1 | grep -E "^binary|^TTFT|Error"; }
for ((pass = 1; pass <= passes; pass++)); do
  for variant in unpatched patched; do
    if [ "$variant" = unpatched ]; then npx patch-package --reverse >/dev/null; else npx patch-package --error-on-fail --error-on-warn >/dev/null; fi
    echo "## pass $pass, $variant ($(uptime | sed 's/.*load/load/'))"
    for engine in prebuilt native; do
      for target in direct api; do run --target "$target" --engine "$engine" "$@"; done
    done
  done
done
