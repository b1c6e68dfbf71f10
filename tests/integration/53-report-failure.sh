#!/bin/bash
# 53-report-failure.sh - DMARC failure reports (RFC 9991) end to end (issue
# 12): a real Postfix with reinject as its after-queue content filter, a
# private DNS server, report_failure_interval 10 s, the reports sent through
# the same Postfix to an smtp-sink.
#  1. fo=1 and an aligned SPF pass without DKIM: one report, sent to the
#     same-organization ruf= and to the external one confirmed by
#     fo1.example._report._dmarc.reports.example.net, not to the unconfirmed
#     one; Python's email package finds multipart/report;
#     report-type=feedback-report, message/feedback-report with
#     Feedback-Type: auth-failure, Auth-Failure: dmarc, Identity-Alignment:
#     dkim, and the original header section, local parts hashed;
#  2. fo=0 (default): an aligned SPF pass gets no report, a spoof gets one,
#     with SPF-DNS holding the record the private DNS serves for its MAIL
#     FROM domain;
#  3. report_failure_rate_limit 2: of 4 spoofs of one domain, 2 reports are
#     sent and the others dropped (logged); with report_enable the counts
#     are those of the report store (SQLite here; table failure_rate);
#  3b. the store cannot be opened: the sender logs it and counts in its own
#     file (2 of 3 reports of another domain sent);
#  4. the report mails themselves (multipart/report) get no reports.
# Ports: 21500-21509 DNS, 21510 smtpd, 21511 sink, 21512 reinject,
# 21514 re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf /usr/sbin/smtp-sink swaks sqlite3
ma_require_root
PY=/usr/bin/python3
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
CHECK=$SRC/tests/unit/report_afrf_check.py
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 53-report-failure

SMTPD=21510
SINK=21511
FILTER=21512
BACK=21514

# --- DNS ----------------------------------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
{
	echo '_dmarc.fo1.example. TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@fo1.example,mailto:ruf@reports.example.net,mailto:x@unconfirmed.example.net"'
	echo 'mail.fo1.example. TXT "v=spf1 ip4:198.51.100.7 -all"'
	echo 'fo1.example._report._dmarc.reports.example.net. TXT "v=DMARC1"'
	echo '_dmarc.fo0.example. TXT "v=DMARC1; p=none; ruf=mailto:ruf@fo0.example"'
	echo 'mail.fo0.example. TXT "v=spf1 ip4:198.51.100.7 -all"'
	echo '_dmarc.rate.example. TXT "v=DMARC1; p=none; ruf=mailto:ruf@rate.example"'
	echo '_dmarc.down.example. TXT "v=DMARC1; p=none; ruf=mailto:ruf@down.example"'
	echo 'unrelated.example. TXT "v=spf1 -all"'
	# the reports' own domain asks for failure reports too: a loop if
	# reports were reported on
	echo '_dmarc.filter.mailauth.example. TXT "v=DMARC1; p=none; fo=1; ruf=mailto:loop@filter.mailauth.example"'
} >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 21500-21509 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}

# --- reinject with failure reports ---------------------------------------------
mkdir -p "$MA_TMP/spool" "$MA_TMP/failure" "$MA_TMP/store"
chown reinject "$MA_TMP/spool" "$MA_TMP/failure" "$MA_TMP/store"
chmod 700 "$MA_TMP/spool" "$MA_TMP/failure" "$MA_TMP/store"
{
	echo "myhostname = filter.mailauth.example"
	echo "authserv_id = mx.mailauth.example"
	echo "user = reinject"
	echo "worker_processes = 2"
	echo "syslog = no"
	echo "dns_forwarders = 127.0.0.1@$dnsport"
	echo "listen = 127.0.0.1:$FILTER verify"
	echo "downstream = 127.0.0.1:$BACK"
	echo "spool_directory = $MA_TMP/spool"
	echo "report_failure_enable = yes"
	echo "report_failure_directory = $MA_TMP/failure"
	echo "report_failure_interval = 10s"
	echo "report_failure_rate_limit = 2"
	echo "report_enable = yes"
	echo "report_store = $MA_TMP/store/reports.db"
	echo "report_spool_file = $MA_TMP/store/reports.spool"
	echo "report_relay = 127.0.0.1:$SMTPD"
	echo "report_email = dmarc-failure@filter.mailauth.example"
} >"$MA_TMP/reinject.conf"
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused reinject.conf"

# --- Postfix after-queue, relaying everything to the sink ----------------------
ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"

# send IP MAILFROM FROM - one message through Postfix
send() {
	ma_swaks "$MA_TMP/swaks.txt" --server 127.0.0.1:$SMTPD --from "$2" \
		--to b@example.net --helo mx.sender.example --xclient-addr "$1" \
		--header "From: Boss <$3>" --header "Subject: failing message" \
		--body "hello" || ma_fail "message from $1 not accepted"
}
# report_dump ADDR - the sink dump of the first transaction to ADDR
report_dump() {
	ma_sink_find sink "^X-Rcpt-Args: <$1>" | head -1
}
has_report() {
	[ -n "$(report_dump "$1")" ]
}

# --- 1. fo=1 --------------------------------------------------------------------
send 198.51.100.7 b@mail.fo1.example boss@fo1.example
ma_wait_for 60 has_report ruf@fo1.example || ma_fail "no failure report for fo1.example"
dump=$(report_dump ruf@fo1.example)
ma_log_register "$dump"
ma_assert_grep "^X-Rcpt-Args: <ruf@reports.example.net>" "$dump" \
	"the confirmed external ruf= destination is a recipient of the same report"
ma_assert_no_grep "x@unconfirmed" "$dump" "the unconfirmed ruf= destination is not"
ma_assert_grep "^X-Mail-Args: <dmarc-failure@filter.mailauth.example>" "$dump" \
	"sent from report_email"
"$PY" "$CHECK" "$dump" headers Auth-Failure=dmarc Identity-Alignment=dkim \
	Reported-Domain=fo1.example Source-IP=198.51.100.7 Delivery-Result=delivered \
	orig:Subject="failing message" orig:From="@fo1.example" to:ruf@fo1.example \
	to:ruf@reports.example.net absent:boss@fo1.example absent:b@example.net \
	absent:b@mail.fo1.example || ma_fail "the fo1.example report is not a valid RFC 6591 report"
ma_ok "fo=1: RFC 6591 auth-failure report with the header section, local parts hashed"
ma_wait_grep 30 'x@unconfirmed.example.net is not confirmed' "$MA_TMP/reinject.log" \
	"unconfirmed external ruf= destination refused and logged"

# --- 2. fo=0 ----------------------------------------------------------------------
send 198.51.100.7 b@mail.fo0.example boss@fo0.example
send 203.0.113.5 x@unrelated.example boss@fo0.example
ma_wait_for 60 has_report ruf@fo0.example || ma_fail "no failure report for fo0.example"
"$PY" "$CHECK" "$(report_dump ruf@fo0.example)" headers Auth-Failure=dmarc \
	"Identity-Alignment=dkim, spf" Source-IP=203.0.113.5 \
	'SPF-DNS=txt : unrelated.example : "v=spf1 -all"' ||
	ma_fail "the fo0.example report is wrong"
sleep 12	# one more sender pass: nothing else for fo0.example may come
[ "$(ma_sink_find sink '^X-Rcpt-Args: <ruf@fo0.example>' | wc -l)" = 1 ] ||
	ma_fail "fo=0: the aligned pass got a report too"
ma_ok "fo=0: the spoof is reported, the aligned SPF pass is not"

# --- 3. the rate limit ---------------------------------------------------------------
for i in 1 2 3 4; do send 203.0.113.5 x@unrelated.example "boss$i@rate.example"; done
ma_wait_grep 60 'rate\.example\): report_failure_rate_limit reached this hour; dropped' \
	"$MA_TMP/reinject.log" "reports over report_failure_rate_limit are dropped and logged"
sleep 12
n=$(ma_sink_find sink '^X-Rcpt-Args: <ruf@rate.example>' | wc -l)
[ "$n" = 2 ] || ma_fail "rate.example: $n reports sent, expected 2"
n=$(sqlite3 "$MA_TMP/store/reports.db" \
	"SELECT count FROM failure_rate WHERE policy_domain = 'rate.example'")
[ "$n" = 2 ] || ma_fail "rate.example: the store counted '$n' reports, expected 2"
ma_ok "report_failure_rate_limit 2: 2 of 4 reports of rate.example sent, counted in the store"

# --- 3b. the store down: this host's own counts ----------------------------------------
mv "$MA_TMP/store/reports.db" "$MA_TMP/store/reports.db.away"
mkdir "$MA_TMP/store/reports.db"	# the sender's next open fails
for i in 1 2 3; do send 203.0.113.5 x@unrelated.example "boss$i@down.example"; done
ma_wait_grep 60 'down\.example\): report_failure_rate_limit reached this hour; dropped' \
	"$MA_TMP/reinject.log" "store down: the limit still holds"
ma_assert_grep 'failure report rates counted by this host alone' "$MA_TMP/reinject.log" \
	"store down: the fallback to the host's own counts is logged"
sleep 12
n=$(ma_sink_find sink '^X-Rcpt-Args: <ruf@down.example>' | wc -l)
[ "$n" = 2 ] || ma_fail "down.example: $n reports sent, expected 2"
ma_assert_grep '^[0-9]+ 2 down\.example$' "$MA_TMP/failure/rate" \
	"the host's file counted them"
ma_ok "store down: 2 of 3 reports of down.example sent, counted in the host's file"

# --- 4. no reports about reports -----------------------------------------------------
ma_assert_grep 'dmarc failure report for fo1\.example queued' "$MA_TMP/reinject.log" \
	"the report was queued and logged"
ma_assert_no_grep 'failure report for filter\.mailauth\.example' "$MA_TMP/reinject.log" \
	"no failure report about a failure report"
[ -z "$(report_dump loop@filter.mailauth.example)" ] || ma_fail "a report about a report"
[ -z "$(ls "$MA_TMP/failure" | grep '\.arf$')" ] || ma_fail "queue files left behind"
ma_ok "the queue is empty"
