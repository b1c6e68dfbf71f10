#!/bin/bash
# 52-report-pgsql.sh - the PostgreSQL report store of a fleet (issue 12): a
# private PostgreSQL 15 (initdb into the run directory, a unix socket there,
# no TCP, never the system service), two hosts writing at once, two hosts
# sending at once.
#  1. the schema is created at first use, with its version;
#  2. two writers (store-fleet, the workers' batch writer) commit all rows;
#  3. "reinject report list" and "show" over PostgreSQL: counts, XSD-valid XML;
#  4. two "reinject report send" started together send exactly one report
#     per domain and period to the smtp-sink; the store says sent;
#  5. the database stopped while a host writes: its rows go to the spool
#     (nothing lost), and are replayed once the database is back.
# Two running reinject daemons on one store (failure report rate limit,
# one aggregate report from both masters' timers): 54-report-fleet.
# Ports: 20970-20979 DNS, 20981 sink; PostgreSQL on a unix socket (port 20980).

. "$(dirname "$0")/lib.sh"

PGBIN=/usr/lib/postgresql/15/bin
ma_require_cmd /usr/sbin/smtp-sink xmllint
[ -x "$PGBIN/initdb" ] || ma_skip "PostgreSQL 15 not installed"
ma_require_root
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
FLEET=$BUILD/tests/store-fleet
[ -x "$REINJECT" ] && [ -x "$FLEET" ] || ma_skip "reinject or store-fleet not built"
ma_init 52-report-pgsql

SINK=20981
PGPORT=20980
DOMAINS=5

# --- PostgreSQL, private ----------------------------------------------------------
mkdir -p "$MA_TMP/pg" "$MA_TMP/pgsock"
chown postgres "$MA_TMP/pg" "$MA_TMP/pgsock"
chmod 700 "$MA_TMP/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$MA_TMP/pg" -U postgres --auth=trust \
	>"$MA_TMP/initdb.log" 2>&1 || { cat "$MA_TMP/initdb.log"; ma_fail "initdb"; }
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$MA_TMP/pg" -l "$MA_TMP/pgsock/pg.log" -w \
	-o "-c listen_addresses='' -k $MA_TMP/pgsock -p $PGPORT" start >/dev/null ||
	{ cat "$MA_TMP/pgsock/pg.log"; ma_fail "pg_ctl start"; }
ma_log_register "$MA_TMP/pgsock/pg.log"
pg_stop() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$MA_TMP/pg" -m fast -w stop >/dev/null 2>&1
}
CONNINFO="host=$MA_TMP/pgsock port=$PGPORT user=postgres dbname=postgres"

# --- DNS for the destinations' Tree Walks --------------------------------------------
for ((d = 0; d < DOMAINS; d++)); do
	echo "_dmarc.d$d.fleet.example. TXT \"v=DMARC1; p=none; rua=mailto:dmarc@d$d.fleet.example\""
done >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20970-20979 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; pg_stop; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}
ma_sink_start sink $SINK

# one reinject.conf per host, both on the same database
for h in a b; do
	{
		echo "myhostname = mx-$h.fleet.example"
		echo "syslog = no"
		echo "dns_forwarders = 127.0.0.1@$dnsport"
		echo "report_enable = yes"
		echo "report_store_type = pgsql"
		echo "report_store = $CONNINFO"
		echo "report_period = 60s"
		echo "report_relay = 127.0.0.1:$SINK"
		echo "report_submitter = fleet.example"
	} >"$MA_TMP/$h.conf"
done

# --- 1./2. two writers at once ---------------------------------------------------------
t=$(( $(date +%s) / 60 * 60 - 120 ))
"$FLEET" pgsql "$CONNINFO" "$MA_TMP/a.spool" 3000 $DOMAINS $t >"$MA_TMP/fill-a.txt" 2>&1 &
pa=$!
"$FLEET" pgsql "$CONNINFO" "$MA_TMP/b.spool" 2000 $DOMAINS $t >"$MA_TMP/fill-b.txt" 2>&1 &
pb=$!
wait $pa || { cat "$MA_TMP/fill-a.txt"; ma_fail "writer a"; }
wait $pb || { cat "$MA_TMP/fill-b.txt"; ma_fail "writer b"; }
ma_ok "two writers committed 3000 + 2000 rows at the same time"

"$REINJECT" report -c "$MA_TMP/a.conf" list >"$MA_TMP/list.txt" || ma_fail "report list"
ma_log_register "$MA_TMP/list.txt"
[ "$(wc -l <"$MA_TMP/list.txt")" = $DOMAINS ] || ma_fail "expected $DOMAINS periods"
ma_assert_grep "^$t .* d0\.fleet\.example 1000 open$" "$MA_TMP/list.txt" \
	"list over PostgreSQL: 1000 messages of d0 in the period, open"
"$REINJECT" report -c "$MA_TMP/b.conf" show d1.fleet.example $t >"$MA_TMP/d1.xml" ||
	ma_fail "report show"
xmllint --noout --schema "$SRC/tests/data/report/dmarc-2.0.xsd" "$MA_TMP/d1.xml" \
	2>"$MA_TMP/xmllint.txt" || { cat "$MA_TMP/xmllint.txt"; ma_fail "invalid XML"; }
[ "$(grep -c '<count>' "$MA_TMP/d1.xml")" = 3 ] || ma_fail "d1: expected 3 rows (3 IPs)"
ma_assert_grep "<count>334</count>" "$MA_TMP/d1.xml" "grouped counts from PostgreSQL"

# --- 4. two senders at once: one report per domain and period --------------------------
"$REINJECT" report -c "$MA_TMP/a.conf" send >"$MA_TMP/send-a.txt" 2>&1 &
pa=$!
"$REINJECT" report -c "$MA_TMP/b.conf" send >"$MA_TMP/send-b.txt" 2>&1 &
pb=$!
wait $pa || ma_fail "send a"
wait $pb || ma_fail "send b"
ma_log_register "$MA_TMP/send-a.txt"
ma_log_register "$MA_TMP/send-b.txt"
ma_sink_wait sink $DOMAINS 30 || ma_fail "not every report arrived"
sleep 1
[ "$(ma_sink_count sink)" = $DOMAINS ] || ma_fail "$(ma_sink_count sink) report mails for $DOMAINS reports"
for ((d = 0; d < DOMAINS; d++)); do
	[ "$(ma_sink_find sink "^X-Rcpt-Args: <dmarc@d$d\.fleet\.example>" | wc -l)" = 1 ] ||
		ma_fail "d$d: not exactly one report"
done
ma_ok "two senders at once: exactly one report per domain and period"
"$REINJECT" report -c "$MA_TMP/a.conf" list >"$MA_TMP/list2.txt" || ma_fail "report list"
[ "$(grep -c ' sent$' "$MA_TMP/list2.txt")" = $DOMAINS ] || ma_fail "not all marked sent"
ma_ok "the store marks every report sent"

# --- 5. database down: spooled, then replayed ------------------------------------------
pg_stop
t2=$(( t + 60 ))
"$FLEET" pgsql "$CONNINFO" "$MA_TMP/a.spool" 100 1 $t2 >"$MA_TMP/fill-down.txt" 2>&1 &&
	ma_fail "rows committed with the database stopped"
ma_log_register "$MA_TMP/fill-down.txt"
ma_assert_grep "^committed 0 spooled 100 replayed 0 lost 0$" "$MA_TMP/fill-down.txt" \
	"database stopped: 100 rows spooled, none lost"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$MA_TMP/pg" -l "$MA_TMP/pgsock/pg.log" -w \
	-o "-c listen_addresses='' -k $MA_TMP/pgsock -p $PGPORT" start >/dev/null ||
	ma_fail "pg_ctl start again"
"$FLEET" pgsql "$CONNINFO" "$MA_TMP/a.spool" 10 1 $t2 >"$MA_TMP/fill-up.txt" 2>&1 ||
	ma_fail "rows not committed after the database came back"
ma_log_register "$MA_TMP/fill-up.txt"
ma_assert_grep "^committed 10 spooled 0 replayed 100 lost 0$" "$MA_TMP/fill-up.txt" \
	"database back: the spool is replayed"
"$REINJECT" report -c "$MA_TMP/a.conf" list >"$MA_TMP/list3.txt" || ma_fail "report list"
ma_assert_grep "^$t2 .* d0\.fleet\.example 110 " "$MA_TMP/list3.txt" \
	"all 110 rows of the outage period are in the store"
