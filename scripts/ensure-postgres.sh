#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at TEST_PG_URL (default: Debian's local
# cluster, user postgres / password postgres). Starts Debian's cluster when it is
# installed but stopped. Used by scripts/test-all.sh; prints what to do otherwise.
set -euo pipefail
URL="${TEST_PG_URL:-postgresql://postgres:postgres@localhost:5432/postgres}"

ready() { pg_isready -q -d "$URL" 2>/dev/null; }
can_login() { psql "$URL" -qtAc 'select 1' >/dev/null 2>&1; }

if command -v pg_isready >/dev/null && ready && can_login; then exit 0; fi

if ! command -v pg_ctlcluster >/dev/null; then
  echo "PostgreSQL is not reachable at $URL and Debian's postgresql is not installed." >&2
  echo "Install it (apt-get install -y postgresql) or set TEST_PG_URL to a server where the user may CREATE DATABASE." >&2
  exit 1
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 60); do
  pg_isready -q -h localhost -p 5432 && break
  sleep 0.5
done
if [ -z "${TEST_PG_URL:-}" ] && [ "$(id -u)" = 0 ]; then
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
if ! can_login; then
  echo "PostgreSQL started but $URL does not accept the login; set TEST_PG_URL." >&2
  exit 1
fi
