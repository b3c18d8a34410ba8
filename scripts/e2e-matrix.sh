#!/usr/bin/env bash
# Browser e2e over the deployment matrix: BASE_PATH ∈ {/llm, /ai/gateway, ""} ×
# {`next start` directly, behind nginx configured from deploy/nginx/}. Each base path
# is built once and the build is reused for its nginx run — and, for /llm, for the
# container-image test (scripts/test-image.ts: the standalone output run as the
# Dockerfile says, without Docker).
# E2E_MATRIX="/llm" (space-separated; "root" for the empty path) runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
t() { timeout --signal=TERM --kill-after=30 "$@"; }

for cell in ${E2E_MATRIX:-/llm /ai/gateway root}; do
  bp=$cell; [ "$cell" = root ] && bp=""
  printf '\n\033[1m== e2e · BASE_PATH="%s" · next start\033[0m\n' "$bp"
  E2E_BASE_PATH=$bp t 900 npx playwright test
  printf '\n\033[1m== e2e · BASE_PATH="%s" · nginx → next start\033[0m\n' "$bp"
  E2E_BASE_PATH=$bp E2E_VIA=nginx E2E_REUSE_BUILD=1 t 600 npx playwright test
  if [ "$cell" = /llm ]; then
    # the same build as the container image runs it: standalone folder alone, image's uid/ENV/CMD
    printf '\n\033[1m== image · BASE_PATH="%s" · standalone as the Dockerfile runs it\033[0m\n' "$bp"
    E2E_BASE_PATH=$bp t 300 npx tsx scripts/test-image.ts
    # the compose topology as processes: 2 replicas + PostgreSQL + Redis + nginx
    printf '\n\033[1m== topology · 2 replicas, PostgreSQL, Redis, nginx (deploy/compose as processes)\033[0m\n'
    bash scripts/ensure-postgres.sh
    E2E_BASE_PATH=$bp t 300 npx tsx scripts/test-topology.ts
  fi
done
