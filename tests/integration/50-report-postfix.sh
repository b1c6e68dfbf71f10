#!/bin/bash
# 50-report-postfix.sh - DMARC aggregate reports end to end (issue 12): a real
# Postfix with reinject as its after-queue content filter and a private DNS
# server; report_period shortened to 60 s, report_send_interval 10 s.
#  1. a mix of messages (aligned passes from one IP, spoofs from another, a
#     message of a domain without DMARC) goes through Postfix and reinject;
#  2. once the period has ended, the reinject master's timer sends the
#     report of quar.example through Postfix to the smtp-sink: its Subject,
#     file name, XSD validity and records match the messages sent;
#  3. the external rua= of ext.example, confirmed by
#     ext.example._report._dmarc.reports.example.net, gets its report; the
#     unconfirmed one of noconfirm.example gets none;
#  4. the report mails (through Postfix and reinject) are not recorded;
#     "reinject report list" shows the sent reports.
# Ports: 20950-20959 DNS, 20960 smtpd, 20961 sink, 20962 reinject,
# 20964 re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf /usr/sbin/smtp-sink swaks xmllint
ma_require_root
PY=/usr/bin/python3
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
XSD=$SRC/tests/data/report/dmarc-2.0.xsd
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 50-report-postfix

SMTPD=20960
SINK=20961
FILTER=20962
BACK=20964

# --- DNS ----------------------------------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
{
	echo '_dmarc.quar.example. TXT "v=DMARC1; p=quarantine; rua=mailto:agg@quar.example"'
	echo 'quar.example. TXT "v=spf1 -all"'
	echo 'mail.quar.example. TXT "v=spf1 ip4:198.51.100.7 -all"'
	echo '_dmarc.ext.example. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example.net"'
	echo 'ext.example. TXT "v=spf1 ip4:198.51.100.8 -all"'
	echo 'ext.example._report._dmarc.reports.example.net. TXT "v=DMARC1"'
	echo '_dmarc.noconfirm.example. TXT "v=DMARC1; p=none; rua=mailto:x@unconfirmed.example.net"'
	echo 'noconfirm.example. TXT "v=spf1 ip4:198.51.100.9 -all"'
} >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20950-20959 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}

# --- reinject with reporting -------------------------------------------------
mkdir -p "$MA_TMP/spool" "$MA_TMP/reports"
chown reinject "$MA_TMP/spool" "$MA_TMP/reports"
chmod 700 "$MA_TMP/spool" "$MA_TMP/reports"
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
	echo "report_enable = yes"
	echo "report_store = $MA_TMP/reports/reports.db"
	echo "report_spool_file = $MA_TMP/reports/reports.spool"
	echo "report_period = 60s"
	echo "report_send_interval = 10s"
	echo "report_batch_interval_ms = 100"
	echo "report_relay = 127.0.0.1:$SMTPD"
	echo "report_org_name = Mailauth Test"
	echo "report_email = dmarc-reports@filter.mailauth.example"
} >"$MA_TMP/reinject.conf"
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused reinject.conf"

# --- Postfix after-queue, relaying everything to the sink ----------------------
ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# Start reinject just after a minute begins, so that all the messages fall
# into one 60 s period.
while [ $(( $(date +%s) % 60 )) -gt 30 ]; do sleep 1; done
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"
period=$(( $(date +%s) / 60 * 60 ))

# send N IP MAILFROM FROM - N messages through Postfix
send() {
	local n=$1 ip=$2 mf=$3 from=$4 i
	for ((i = 0; i < n; i++)); do
		ma_swaks "$MA_TMP/swaks.txt" --server 127.0.0.1:$SMTPD --from "$mf" \
			--to b@example.net --helo mx.sender.example --xclient-addr "$ip" \
			--header "From: <$from>" --header "Subject: message $i" \
			--body "hello" || ma_fail "message from $ip not accepted"
	done
}

# --- 1. the day's mix ---------------------------------------------------------
send 3 198.51.100.7 b@mail.quar.example boss@quar.example
send 2 203.0.113.5 x@unrelated.example boss@quar.example
send 1 198.51.100.8 n@ext.example n@ext.example
send 1 198.51.100.9 n@noconfirm.example n@noconfirm.example
send 1 203.0.113.5 x@unrelated.example a@nodmarc.example
ma_sink_wait sink 8 60 || ma_fail "the 8 messages did not all reach the sink"
[ $(( $(date +%s) / 60 * 60 )) = "$period" ] || ma_fail "the messages spread over two periods"
ma_ok "8 messages delivered through Postfix and reinject within one period"

# --- 2./3. the reports ----------------------------------------------------------
# report_dump ADDR - the sink dump of the first transaction to ADDR
report_dump() {
	ma_sink_find sink "^X-Rcpt-Args: <$1>" | head -1
}
# has_report ADDR - true once a transaction to ADDR finished
has_report() {
	[ -n "$(report_dump "$1")" ]
}
ma_wait_for 120 has_report agg@quar.example ||
	ma_fail "no report for quar.example reached the sink"
printf '%s\n' "quar.example quarantine" "198.51.100.7 3 pass fail pass" \
	"203.0.113.5 2 quarantine fail fail" >"$MA_TMP/quar.expect"
"$PY" "$SRC/tests/integration/report_check.py" "$(report_dump agg@quar.example)" "$XSD" \
	"$MA_TMP/quar.expect" example.net || ma_fail "the quar.example report is wrong"
ma_ok "report of quar.example: RFC subject and file name, valid XML, records = messages sent"
ma_ok "envelope_to is the recipient's domain (example.net) in every record"
ma_wait_for 30 has_report dmarc@reports.example.net ||
	ma_fail "no report for ext.example at its confirmed external address"
printf '%s\n' "ext.example reject" "198.51.100.8 1 pass fail pass" >"$MA_TMP/ext.expect"
"$PY" "$SRC/tests/integration/report_check.py" "$(report_dump dmarc@reports.example.net)" \
	"$XSD" "$MA_TMP/ext.expect" || ma_fail "the ext.example report is wrong"
ma_ok "confirmed external destination gets its report"
ma_wait_grep 30 'x@unconfirmed.example.net is not confirmed' "$MA_TMP/reinject.log" \
	"unconfirmed external destination is refused and logged"
[ -z "$(report_dump x@unconfirmed.example.net)" ] || ma_fail "report sent to an unconfirmed address"
[ -z "$(ma_sink_find sink 'nodmarc\.example!')" ] || ma_fail "report about a domain without DMARC"

# --- 4. the store says sent; nothing about our own report mails -----------------
"$REINJECT" report -c "$MA_TMP/reinject.conf" list >"$MA_TMP/list.txt" ||
	ma_fail "reinject report list"
ma_log_register "$MA_TMP/list.txt"
ma_assert_grep "^$period .* quar\.example 5 sent$" "$MA_TMP/list.txt" "quar.example: 5 messages, sent"
ma_assert_grep "^$period .* ext\.example 1 sent$" "$MA_TMP/list.txt" "ext.example: 1 message, sent"
ma_assert_no_grep "mailauth\.example" "$MA_TMP/list.txt" \
	"the report mails themselves were not recorded"
