#!/bin/bash
# store_pgsql.sh - the report store's unit tests (test_store) on PostgreSQL
# as well as SQLite: a private PostgreSQL 15 (initdb into a temporary
# directory, pg_ctl with a unix socket there on a high port, no TCP, never
# the system service) for the length of the run; test_store gets its
# conninfo in MAILAUTH_TEST_PGSQL and runs its backend-independent tests a
# second time on it.  Exit 77 (skipped) without PostgreSQL 15 or root
# (initdb runs as the postgres user).
BUILD=${MAILAUTH_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TEST=$BUILD/tests/test_store
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=20991
[ -x "$TEST" ] || { echo "SKIP: $TEST not built"; exit 77; }
[ -x "$PGBIN/initdb" ] || { echo "SKIP: PostgreSQL 15 not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: initdb as user postgres needs root"; exit 77; }
id postgres >/dev/null 2>&1 || { echo "SKIP: no postgres user"; exit 77; }
TMP=$(mktemp -d /tmp/ma-store-pg-XXXXXX)
chmod 755 "$TMP"
mkdir "$TMP/pg" "$TMP/sock"
chown postgres "$TMP/pg" "$TMP/sock"
chmod 700 "$TMP/pg"
pg_stop() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -m fast -w stop >/dev/null 2>&1
}
trap 'rc=$?; pg_stop; rm -rf "$TMP"; exit $rc' EXIT
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg" -U postgres --auth=trust \
	>"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log"; echo "initdb failed"; exit 1; }
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/sock/pg.log" -w \
	-o "-c listen_addresses='' -k $TMP/sock -p $PGPORT" start >/dev/null ||
	{ cat "$TMP/sock/pg.log"; echo "pg_ctl start failed"; exit 1; }
MAILAUTH_TEST_PGSQL="host=$TMP/sock port=$PGPORT user=postgres dbname=postgres options='-c client_min_messages=warning'" "$TEST"
