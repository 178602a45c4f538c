#!/usr/bin/env bash
# Runs the test suite against PostgreSQL instead of embedded PGlite.
# Usage: npm run test:pg [-- <test files or folders> <node --test flags>]   (default: test/)
#
# The tests get an admin connection URL in OPENCPH_TEST_PG_URL (each test file
# creates and drops its own database there). The server is chosen in this order:
#   1. DATABASE_URL, when set;
#   2. a server on 127.0.0.1:5432 accepting user postgres without a password;
#   3. a throwaway cluster started here (Debian's postgresql package is installed
#      first when missing and we are root), stopped and deleted on exit.
# OPENCPH_TEST_PG_THROWAWAY=1 skips 1 and 2, to force a clean, isolated server.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- test; fi

# Succeeds if the URL accepts a login and a query. Uses the project's own `pg`
# client so that it also works where the psql client is not installed, and
# checks real passwordless access rather than just an open port.
pg_accepts() {
  node -e '
    const { Client } = require("pg");
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    client.connect().then(() => client.query("select 1")).then(() => client.end(), () => process.exit(1));
  ' "$1" >/dev/null 2>&1
}

# Hides the password of a URL (user:password@ or ?password=) before printing it.
redact() {
  sed -E -e 's#(://[^:/@?\#]*):[^/?\#]*@#\1:***@#' -e 's#([?&]password=)[^&]*#\1***#' <<<"$1"
}

# Runs a PostgreSQL server command: initdb and postgres refuse to run as root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Immediate stop: the data is thrown away anyway.
stop_throwaway() {
  (cd "$PG_TMP" && as_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_TMP/data" -m immediate >/dev/null 2>&1) || true
  rm -rf "$PG_TMP"
}

start_throwaway() {
  local bindir port
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "test-pg: no PostgreSQL server found. Install one (Debian/Ubuntu: sudo apt-get install postgresql)," >&2
      echo "test-pg: or run a server on 127.0.0.1:5432, or set DATABASE_URL to an admin connection URL." >&2
      exit 1
    fi
    echo "test-pg: installing Debian's postgresql package" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$bindir" ]; then
      echo "test-pg: postgresql installed but no server binaries under /usr/lib/postgresql/*/bin" >&2
      exit 1
    fi
  fi

  # A free port (nothing accepts a connection on it) away from the default one,
  # so that whatever runs or not on 5432 does not matter.
  port=54329
  while (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
    if [ "$port" -gt 54399 ]; then
      echo "test-pg: no free port in 54329-54399" >&2
      exit 1
    fi
  done

  # Under /tmp rather than $TMPDIR: the postgres user must reach it, and Unix socket paths are short.
  PG_TMP=$(mktemp -d /tmp/opencph-pg.XXXXXX)
  PG_BINDIR=$bindir
  trap stop_throwaway EXIT
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_TMP"; fi

  # Run from inside the cluster directory: the postgres user may not be able to read the current one.
  # The data is disposable, hence no durability (fsync etc.) and no disk sync after initdb.
  (
    cd "$PG_TMP"
    as_pg "$bindir/initdb" -D "$PG_TMP/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1 ||
      { cat "$PG_TMP/initdb.log" >&2; exit 1; }
    as_pg "$bindir/pg_ctl" start -w -t 60 -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
      -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
      { cat "$PG_TMP/server.log" >&2; exit 1; }
  )
  URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "test-pg: using a throwaway PostgreSQL $(basename "$(dirname "$bindir")") cluster at $URL"
}

# Turn interruptions into a normal exit so that the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${OPENCPH_TEST_PG_THROWAWAY:-}" != 1 ] && [ -n "${DATABASE_URL:-}" ]; then
  URL=$DATABASE_URL
  echo "test-pg: using DATABASE_URL: $(redact "$URL")"
elif [ "${OPENCPH_TEST_PG_THROWAWAY:-}" != 1 ] && pg_accepts postgres://postgres@127.0.0.1:5432/postgres; then
  URL=postgres://postgres@127.0.0.1:5432/postgres
  echo "test-pg: using the PostgreSQL server at $URL"
else
  start_throwaway
fi

status=0
OPENCPH_TEST_PG_URL=$URL node scripts/run-tests.mjs "$@" || status=$?
exit "$status"
