#!/usr/bin/env bash
# The one test command (npm test): static checks, unit, integration on SQLite, the
# inference tests again on a native engine build (scripts/test-native-engine.sh),
# integration on PostgreSQL, and browser e2e at /llm, /ai/gateway and the root, each served by
# `next start` directly and behind nginx (and, on the /llm build, the container-image test:
# scripts/test-image.ts runs the standalone output as the Dockerfile says).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# A hung tier fails the run instead of stalling it.
t() { timeout --signal=TERM --kill-after=30 "$@"; }

step "typecheck";                 npx tsc --noEmit
step "lint";                      npx eslint . --max-warnings 0
step "unit";                      t 600 npx vitest run --project unit
step "integration · SQLite";      TEST_DB=sqlite t 1200 npx vitest run --project integration
step "native engine";             t 1800 bash scripts/test-native-engine.sh
step "integration · PostgreSQL";  bash scripts/ensure-postgres.sh
TEST_DB=postgresql TEST_PG_URL="${TEST_PG_URL:-postgresql://postgres:postgres@localhost:5432/postgres}" \
  t 1200 npx vitest run --project integration
step "e2e matrix";                bash scripts/e2e-matrix.sh
step "all tiers passed"
