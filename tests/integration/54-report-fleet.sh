#!/bin/bash
# 54-report-fleet.sh - a fleet of two running reinject daemons on one
# PostgreSQL report store (issue 12): a private PostgreSQL 15 (initdb into
# the run directory, a unix socket there, never the system service), a
# private DNS server, each daemon with its own listener, spool, failure
# report queue and sender; report_period 60 s, report_send_interval 10 s,
# report_failure_interval 10 s, report_failure_rate_limit 2.
#  1. 4 spoofs of rate.example to each daemon, all 8 sent at once: exactly 2
#     failure reports (RFC 9991) reach the sink in total, both daemons log
#     the reports they dropped, and the store's failure_rate row says 2
#     (the fleet's count, taken with one conditional increment);
#  2. the DMARC records of both daemons land in the one store: once the
#     period has ended, both masters' timers try to send, and exactly one
#     aggregate report (RFC 9990) of rate.example for the period reaches the
#     sink, holding the rows of both hosts; the store marks it sent;
#  3. both daemons stop without a sanitizer report or panic.
# Ports: 21800-21809 DNS, 21810 report sink, 21811 downstream sink,
# 21812 reinject a, 21813 reinject b; PostgreSQL on a unix socket (21820).

. "$(dirname "$0")/lib.sh"

PGBIN=/usr/lib/postgresql/15/bin
ma_require_cmd /usr/sbin/smtp-sink xmllint
[ -x "$PGBIN/initdb" ] || ma_skip "PostgreSQL 15 not installed"
ma_require_root
PY=/usr/bin/python3
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
XSD=$SRC/tests/data/report/dmarc-2.0.xsd
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 54-report-fleet

SINK=21810
DOWN=21811
PGPORT=21820
declare -A PORT=([a]=21812 [b]=21813) IP=([a]=203.0.113.5 [b]=203.0.113.6)

# --- PostgreSQL, private ----------------------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
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
# sql QUERY - one query on the store, unaligned, tuples only
sql() {
	"$PGBIN/psql" -X -A -t -q -d "$CONNINFO" -c "$1"
}

# --- DNS --------------------------------------------------------------------------
{
	echo '_dmarc.rate.example. TXT "v=DMARC1; p=none; rua=mailto:dmarc@rate.example; ruf=mailto:ruf@rate.example"'
	echo 'unrelated.example. TXT "v=spf1 -all"'
} >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 21800-21809 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; pg_stop; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}

# --- two hosts, one store ----------------------------------------------------------
for h in a b; do
	mkdir -p "$MA_TMP/$h/spool" "$MA_TMP/$h/failure" "$MA_TMP/$h/store"
	chown reinject "$MA_TMP/$h/spool" "$MA_TMP/$h/failure" "$MA_TMP/$h/store"
	chmod 700 "$MA_TMP/$h/spool" "$MA_TMP/$h/failure" "$MA_TMP/$h/store"
	{
		echo "myhostname = mx-$h.fleet.example"
		echo "authserv_id = mx.fleet.example"
		echo "user = reinject"
		echo "worker_processes = 2"
		echo "syslog = no"
		echo "dns_forwarders = 127.0.0.1@$dnsport"
		echo "listen = 127.0.0.1:${PORT[$h]} verify"
		echo "downstream = 127.0.0.1:$DOWN"
		echo "spool_directory = $MA_TMP/$h/spool"
		echo "report_enable = yes"
		echo "report_store_type = pgsql"
		echo "report_store = $CONNINFO"
		echo "report_spool_file = $MA_TMP/$h/store/reports.spool"
		echo "report_period = 60s"
		echo "report_send_interval = 10s"
		echo "report_batch_interval_ms = 100"
		echo "report_relay = 127.0.0.1:$SINK"
		echo "report_org_name = Fleet Test"
		echo "report_email = dmarc-reports@fleet.example"
		echo "report_failure_enable = yes"
		echo "report_failure_directory = $MA_TMP/$h/failure"
		echo "report_failure_interval = 10s"
		echo "report_failure_rate_limit = 2"
	} >"$MA_TMP/$h.conf"
	"$REINJECT" -c "$MA_TMP/$h.conf" -t || ma_fail "reinject -t refused $h.conf"
done

ma_sink_start sink $SINK
ma_sink_start down $DOWN
# All the messages must fall into one report period and one rate-limit
# hour: start just after a minute begins, not in an hour's last 90 s.
while [ $(( $(date +%s) % 60 )) -gt 30 ] || [ $(( $(date +%s) % 3600 )) -gt 3510 ]; do
	sleep 1
done
for h in a b; do
	ma_bg "reinject-$h" "$REINJECT" -c "$MA_TMP/$h.conf" -e
done
for h in a b; do
	ma_wait_port "${PORT[$h]}" || ma_fail "reinject $h not listening on ${PORT[$h]}"
done
period=$(( $(date +%s) / 60 * 60 ))

# --- 1. the fleet's failure report rate limit ---------------------------------------
# one message to a daemon, with the client Postfix would name in XFORWARD
cat >"$MA_TMP/send.py" <<'EOF'
import smtplib
import sys

port, ip, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = ('From: Boss <boss%s@rate.example>\r\nTo: <b@example.net>\r\n'
       'Subject: spoof %s via %s\r\nMessage-ID: <%s.%s@sender.example>\r\n'
       'Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n\r\nhello\r\n' % (n, n, ip, n, ip))
s = smtplib.SMTP('127.0.0.1', port, timeout=60)
s.ehlo('mx.sender.example')
code, why = s.docmd('XFORWARD', 'ADDR=%s NAME=[UNAVAILABLE] HELO=mx.sender.example' % ip)
if code != 250:
    sys.exit('XFORWARD: %d %s' % (code, why))
s.sendmail('x@unrelated.example', ['b@example.net'], msg)
s.quit()
EOF
pids=()
for h in a b; do
	for i in 1 2 3 4; do
		"$PY" "$MA_TMP/send.py" "${PORT[$h]}" "${IP[$h]}" "$h$i" \
			>"$MA_TMP/send-$h$i.txt" 2>&1 &
		pids+=($!)
	done
done
for p in "${pids[@]}"; do
	wait "$p" || { cat "$MA_TMP"/send-*.txt; ma_fail "a message was not accepted"; }
done
ma_sink_wait down 8 30 || ma_fail "the 8 messages did not all reach downstream"
[ $(( $(date +%s) / 60 * 60 )) = "$period" ] || ma_fail "the messages spread over two periods"
ma_ok "8 spoofs of rate.example, 4 to each daemon at once, delivered"

# both queues drained: every report sent or dropped
queued() {
	ls "$MA_TMP/$1/failure" | grep -q '\.arf$'
}
for h in a b; do
	ma_wait_grep 60 'dmarc failure report for rate\.example queued' \
		"$MA_TMP/reinject-$h.log" "daemon $h queued failure reports"
done
ma_wait_for 60 eval '! queued a && ! queued b' || ma_fail "failure reports left in the queues"
sleep 12	# one more sender pass of each daemon: nothing else may come
n=$(ma_sink_find sink '^X-Rcpt-Args: <ruf@rate\.example>' | wc -l)
[ "$n" = 2 ] || ma_fail "rate.example: $n failure reports sent by the fleet, expected 2"
ma_ok "report_failure_rate_limit 2: 2 of 8 failure reports sent by the two daemons together"
sent=0
dropped=0
for h in a b; do
	ma_assert_grep '\(rate\.example\): report_failure_rate_limit reached this hour; dropped' \
		"$MA_TMP/reinject-$h.log" "daemon $h logs the reports over the fleet's limit as dropped"
	sent=$(( sent + $(grep -Ec '\(rate\.example\): sent to' "$MA_TMP/reinject-$h.log") ))
	dropped=$(( dropped + $(grep -Ec '\(rate\.example\): report_failure_rate_limit reached' \
		"$MA_TMP/reinject-$h.log") ))
done
[ "$sent/$dropped" = 2/6 ] || ma_fail "the logs say $sent sent, $dropped dropped; expected 2, 6"
ma_ok "the daemons' logs: 2 sent, 6 dropped"
n=$(sql "SELECT count FROM failure_rate WHERE policy_domain = 'rate.example'") ||
	ma_fail "psql"
[ "$n" = 2 ] || ma_fail "rate.example: the store's failure_rate says '$n', expected 2"
ma_ok "the store's failure_rate row of rate.example says 2"

# --- 2. one aggregate report from both daemons' records -------------------------------
# report_dump ADDR - the sink dump of the first transaction to ADDR
report_dump() {
	ma_sink_find sink "^X-Rcpt-Args: <$1>" | head -1
}
has_report() {
	[ -n "$(report_dump "$1")" ]
}
ma_wait_for 120 has_report dmarc@rate.example || ma_fail "no aggregate report for rate.example"
printf '%s\n' "rate.example none" "${IP[a]} 4 none fail fail" "${IP[b]} 4 none fail fail" \
	>"$MA_TMP/rate.expect"
"$PY" "$SRC/tests/integration/report_check.py" "$(report_dump dmarc@rate.example)" "$XSD" \
	"$MA_TMP/rate.expect" example.net || ma_fail "the rate.example report is wrong"
ma_ok "one report holds the records of both daemons (4 + 4), valid XML"
sleep 22	# two more timer passes of each master: no second report
n=$(ma_sink_find sink '^X-Rcpt-Args: <dmarc@rate\.example>' | wc -l)
[ "$n" = 1 ] || ma_fail "rate.example: $n aggregate reports for one period, expected 1"
ma_ok "both masters' timers: exactly one aggregate report of the period"
"$REINJECT" report -c "$MA_TMP/a.conf" list >"$MA_TMP/list.txt" || ma_fail "report list"
ma_log_register "$MA_TMP/list.txt"
ma_assert_grep "^$period .* rate\.example 8 sent$" "$MA_TMP/list.txt" \
	"the store: 8 messages of rate.example in the period, sent"
[ "$(wc -l <"$MA_TMP/list.txt")" = 1 ] || ma_fail "expected one period in the store"
for h in a b; do
	ma_assert_no_grep 'records spooled|record is lost|records lost|counted by this host alone' \
		"$MA_TMP/reinject-$h.log" "daemon $h used the store throughout, never a local fallback"
done
for h in a b; do
	ma_bg_stop "reinject-$h"
	ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject-$h.log" \
		"daemon $h: no sanitizer report or panic, up to its exit"
done
