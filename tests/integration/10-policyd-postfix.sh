#!/bin/bash
# 10-policyd-postfix.sh - policyd behind a real Postfix smtpd.
#
# A private Postfix instance (lib.sh) calls policyd with check_policy_service;
# policyd resolves through a private unbound (dnsserver.sh) serving the SPF
# records of data/10-policyd-postfix.zone; swaks claims client addresses with
# XCLIENT. Asserts, as issue "policyd" asks:
#   - SPF fail is refused at RCPT with 550 5.7.23 and the exp= explanation;
#   - temperror (dead.example's servers do not answer) gives a 4xx;
#   - pass and softfail are accepted and the message at the sink carries
#     exactly one Received-SPF header naming the MAIL FROM identity, even
#     with two recipients and a HELO that passes;
#   - a second recipient in the same transaction makes no new DNS lookup
#     (counted in unbound's query log; the records have TTL 0 so no cache
#     below policyd hides a lookup, which a control transaction proves);
#   - the fail verdict also through policyd's unix socket in the queue
#     directory;
#   - policyd exits 0 on SIGTERM.
# Ports: 20410-20419 DNS, 20420 policyd, 20421 smtpd, 20422 sink, 20423 smtpd
# with the unix socket, 20429 dead.

. "$(dirname "$0")/lib.sh"

# skipped only without Postfix (or without root to run a private instance);
# swaks and unbound are test dependencies (.ci/packages.txt): missing is a failure
ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink
ma_require_root
ma_init 10-policyd
command -v swaks >/dev/null || ma_fail "swaks not installed"
[ -x /usr/sbin/unbound ] || ma_fail "unbound not installed"  # before ma_dns_start skips

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
POLICYD=$BUILD/policyd/policyd
DATA=$SRC/tests/integration/data
PORT_DNS=20410-20419
PORT_POLICYD=20420
PORT_SMTPD=20421
PORT_SINK=20422
PORT_SMTPD_UNIX=20423
PORT_DEAD=20429

[ -x "$POLICYD" ] || ma_fail "policyd not built: $POLICYD"
ma_check_port_free $PORT_POLICYD
ma_port_busy $PORT_DEAD && ma_fail "port $PORT_DEAD must stay unused"

# --- DNS -----------------------------------------------------------------
ma_dns_start dns $PORT_DNS "$DATA/10-policyd-postfix.zone"
DNS_PORT=$MA_DNS_PORT

# --- policyd --------------------------------------------------------------
ma_user_ensure mailauth || ma_fail "cannot create user mailauth"
# the unix socket lives in the instance's queue directory, as in production
# (check_policy_service unix:private/policyd), made here with the owner and
# mode postfix start expects
mkdir -p "$MA_TMP/pf/spool/private"
chown postfix "$MA_TMP/pf/spool/private"
chmod 700 "$MA_TMP/pf/spool/private"
cat >"$MA_TMP/policyd.conf" <<EOF
# 10-policyd-postfix.sh
listen = inet:127.0.0.1:$PORT_POLICYD, unix:$MA_TMP/pf/spool/private/policyd
dns_forwarders = 127.0.0.1@$DNS_PORT
dns_timeout = 3s
user = mailauth
EOF
"$POLICYD" -t -c "$MA_TMP/policyd.conf" >"$MA_TMP/policyd-t.log" 2>&1 ||
	{ cat "$MA_TMP/policyd-t.log"; ma_fail "policyd -t rejects the test config"; }
ma_bg policyd "$POLICYD" -f -c "$MA_TMP/policyd.conf"
ma_wait_port $PORT_POLICYD || ma_fail "policyd did not listen on $PORT_POLICYD"
ma_ok "policyd listening"

# --- Postfix and the sink ---------------------------------------------------
ma_sink_start sink $PORT_SINK
ma_postfix_create pf $PORT_SMTPD $PORT_SINK
ma_postconf pf \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$PORT_POLICYD" \
	"smtpd_policy_service_timeout = 30s"
# a second smtpd asks policyd over the unix socket
ma_postfix_master pf "127.0.0.1:$PORT_SMTPD_UNIX inet n - n - - smtpd" \
	"  -o smtpd_recipient_restrictions=check_policy_service,unix:private/policyd"
ma_postfix_start pf
ma_wait_port $PORT_SMTPD_UNIX || ma_fail "second smtpd not listening"

# queries NAME - TXT queries for NAME (or the HELO name) seen by unbound
queries() {
	grep -Ec "info: 127\.0\.0\.1 ($1|mx\.client\.example)\. TXT IN" \
		"$MA_TMP/dns/unbound.log"
}

# send OUT ADDR FROM TO [SWAKS ARGS] - one transaction, returns swaks' code
send() {
	local out=$MA_TMP/$1.txt addr=$2 from=$3 to=$4
	shift 4
	ma_swaks "$out" --xclient-addr "$addr" --helo mx.client.example \
		--from "$from" --to "$to" --header "Subject: case $(basename "$out" .txt)" "$@"
}

# --- fail: 550 5.7.23 with the explanation at RCPT --------------------------
send fail 192.0.2.66 user@fail.example a@example.net
rc=$?
[ $rc = 24 ] || ma_fail "fail: swaks rc $rc, expected 24 (RCPT refused)"
ma_assert_grep '^<\*\* +550[ -]5\.7\.23 .*192\.0\.2\.66 is not a designated mail server of fail\.example' \
	"$MA_TMP/fail.txt" "fail: RCPT refused with 550 5.7.23 and the exp= explanation"

# the same verdict through the unix socket
ma_swaks "$MA_TMP/fail-unix.txt" --server 127.0.0.1:$PORT_SMTPD_UNIX \
	--xclient-addr 192.0.2.68 --helo mx.client.example \
	--from user@fail.example --to a@example.net
rc=$?
[ $rc = 24 ] || ma_fail "fail over unix socket: swaks rc $rc, expected 24"
ma_assert_grep '^<\*\* +550[ -]5\.7\.23 .*192\.0\.2\.68 is not a designated mail server of fail\.example' \
	"$MA_TMP/fail-unix.txt" "fail over policyd's unix socket: 550 5.7.23"

# --- temperror: 4xx at RCPT -----------------------------------------------------
send temperror 192.0.2.67 user@dead.example a@example.net
rc=$?
[ $rc = 24 ] || ma_fail "temperror: swaks rc $rc, expected 24 (RCPT deferred)"
ma_assert_grep '^<\*\* +4[0-9][0-9][ -]4\.7\.24 .*dead\.example' "$MA_TMP/temperror.txt" \
	"temperror: RCPT deferred with 4xx 4.7.24 (DEFER_IF_PERMIT)"
ma_assert_no_grep '^<\*\* +5' "$MA_TMP/temperror.txt" "temperror: never a 5xx"

# --- pass, two recipients: one evaluation, one header ----------------------------
before=$(queries pass.example)
send pass 192.0.2.10 user@pass.example a@example.net,b@example.net ||
	ma_fail "pass: not accepted (swaks rc $?)"
pass_q=$(($(queries pass.example) - before))
[ "$pass_q" -ge 2 ] ||
	ma_fail "pass: expected TXT queries for the HELO name and pass.example, saw $pass_q"
ma_ok "pass: accepted for both recipients"

# control: the same sender from another client, one recipient, is evaluated
# again and shows up in unbound's log: so a missing lookup above is a cache
# hit in policyd, not a cache below it or a lost log line.
before=$(queries pass.example)
send control 192.0.2.11 user@pass.example c@example.net ||
	ma_fail "control: not accepted (swaks rc $?)"
control_q=$(($(queries pass.example) - before))
[ "$control_q" -ge 2 ] ||
	ma_fail "control: a new client made no lookup: the query count proves nothing"
[ "$pass_q" = "$control_q" ] ||
	ma_fail "second recipient made new lookups: $pass_q TXT queries for 2 recipients, $control_q for 1"
ma_ok "second recipient of a transaction made no new lookup ($pass_q queries for 2 recipients, $control_q for 1)"

# --- softfail with a passing HELO ------------------------------------------------
send softfail 192.0.2.12 user@softfail.example d@example.net ||
	ma_fail "softfail: not accepted (swaks rc $?)"
ma_ok "softfail: accepted"

# --- what arrived at the sink ------------------------------------------------------
ma_postfix_wait_queue_empty pf 30 || ma_fail "queue did not drain"
ma_sink_wait sink 3 10 || ma_fail "expected 3 messages at the sink, got $(ma_sink_count sink)"
[ -z "$(ma_sink_find sink '^Subject: case (fail|temperror)$')" ] ||
	ma_fail "a refused message reached the sink"

# sink_msg CASE - set f to the dump file of one case
sink_msg() {
	f=$(ma_sink_find sink "^Subject: case $1\$")
	[ -n "$f" ] && [ "$(wc -l <<<"$f")" = 1 ] ||
		ma_fail "$1: expected one message at the sink, got: $f"
}

# spf_header FILE - the Received-SPF header of a dumped message, unfolded
spf_header() {
	awk '/^Received-SPF:/ { h = $0; on = 1; next }
		on && /^[ \t]/ { h = h " " substr($0, 2); next }
		{ on = 0 }
		END { print h }' "$1"
}

sink_msg pass
[ "$(grep -c '^X-Rcpt-Args:' "$f")" = 2 ] || ma_fail "pass: expected 2 recipients in $f"
[ "$(grep -ci '^Received-SPF:' "$f")" = 1 ] ||
	{ cat "$f"; ma_fail "pass: expected exactly one Received-SPF header for 2 recipients"; }
hdr=$MA_TMP/pass-header.txt
spf_header "$f" >"$hdr"
ma_assert_grep '^Received-SPF: [Pp]ass\b' "$hdr" "pass: Received-SPF: pass at the sink"
# the header must name the identity checked and the envelope (RFC 7208 §9.1)
ma_assert_grep 'identity=mailfrom' "$hdr" "pass: header says identity=mailfrom"
ma_assert_grep 'client-ip=192\.0\.2\.10' "$hdr" "pass: header names the client"
ma_assert_grep 'envelope-from="?user@pass\.example' "$hdr" "pass: header names the envelope-from"
ma_assert_grep 'helo=mx\.client\.example' "$hdr" "pass: header names the HELO"

sink_msg softfail
[ "$(grep -ci '^Received-SPF:' "$f")" = 1 ] ||
	{ cat "$f"; ma_fail "softfail: expected exactly one Received-SPF header"; }
spf_header "$f" >"$MA_TMP/softfail-header.txt"
ma_assert_grep '^Received-SPF: [Ss]oft[Ff]ail\b.*identity=mailfrom' "$MA_TMP/softfail-header.txt" \
	"softfail: Received-SPF: softfail, identity=mailfrom (the HELO pass does not stand in for MAIL FROM)"

# --- policyd's log: one grep-able verdict line per request -------------------------
ma_wait_grep 10 'client=192\.0\.2\.66 .*sender=user@fail\.example .*identity=mailfrom result=fail action=reject' \
	"$MA_TMP/policyd.log" "policyd logged the fail verdict"
ma_wait_grep 10 'client=192\.0\.2\.67 .*sender=user@dead\.example .*result=temperror action=defer' \
	"$MA_TMP/policyd.log" "policyd logged the temperror verdict"
ma_bg_alive policyd || ma_fail "policyd died during the test"
ma_ok "policyd still running"

# --- SIGTERM: drains and exits cleanly (and sanitizers found nothing) ---------
ma_postfix_stop pf
pid=$(ma_bg_pid policyd)
kill -TERM "$pid"
ma_wait_for 10 eval '! ma_pid_running '"$pid" ||
	ma_fail "policyd still running 10 s after SIGTERM"
wait "$pid"
rc=$?
rm -f "$MA_TMP/policyd.pid"
[ $rc = 0 ] || ma_fail "policyd exited with status $rc after SIGTERM"
ma_assert_no_grep 'Sanitizer|runtime error' "$MA_TMP/policyd.log" \
	"policyd exited 0 on SIGTERM, no sanitizer report"
