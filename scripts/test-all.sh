#!/usr/bin/env bash
# The one test command (npm test): static checks, unit, integration on SQLite and
# on PostgreSQL, and browser e2e under a sub-path and at the root.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "typecheck";                 npx tsc --noEmit
step "lint";                      npx eslint . --max-warnings 0
step "unit";                      npx vitest run --project unit
step "integration · SQLite";      TEST_DB=sqlite npx vitest run --project integration
step "integration · PostgreSQL";  bash scripts/ensure-postgres.sh
TEST_DB=postgresql TEST_PG_URL="${TEST_PG_URL:-postgresql://postgres:postgres@localhost:5432/postgres}" \
  npx vitest run --project integration
step "e2e · BASE_PATH=/llm";      E2E_BASE_PATH=/llm npx playwright test
step "e2e · BASE_PATH= (root)";   E2E_BASE_PATH= npx playwright test
step "all tiers passed"
