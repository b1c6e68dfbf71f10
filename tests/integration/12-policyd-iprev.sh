#!/bin/bash
# 12-policyd-iprev.sh - policyd's iprev (RFC 8601 §3) behind a real Postfix
# smtpd at RCPT; swaks sets the client address with XCLIENT, the reverse
# zones of 192.0.2.0/24 come from a private unbound.  With iprev_action =
# reject and iprev_header = yes (header_type ar):
#   - 192.0.2.25, PTR mx.client.example with A back to it: accepted, and the
#     message carries "iprev=pass (mx.client.example) policy.iprev=192.0.2.25"
#     next to spf= in policyd's Authentication-Results;
#   - 192.0.2.26, PTR to a name with another address: 550 5.7.25 iprev=fail;
#   - 192.0.2.27, no PTR: 550 5.7.25 iprev=permerror (RFC 8601 §2.7.3).
# Ports: 20430-20439 DNS, 20440 policyd, 20441 smtpd, 20442 sink.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks
ma_require_root
ma_init 12-policyd-iprev
[ -x /usr/sbin/unbound ] || ma_fail "unbound not installed"

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
POLICYD=$BUILD/policyd/policyd
[ -x "$POLICYD" ] || ma_fail "policyd not built: $POLICYD"
PORT_POLICYD=20440
PORT_SMTPD=20441
PORT_SINK=20442
ma_check_port_free $PORT_POLICYD

cat >"$MA_TMP/zone" <<'EOF2'
client.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"
25.2.0.192.in-addr.arpa. PTR mx.client.example.
mx.client.example. A 192.0.2.25
26.2.0.192.in-addr.arpa. PTR liar.client.example.
liar.client.example. A 198.51.100.1
EOF2
ma_dns_start dns 20430-20439 "$MA_TMP/zone"

ma_user_ensure mailauth || ma_fail "cannot create user mailauth"
cat >"$MA_TMP/policyd.conf" <<EOF2
listen = inet:127.0.0.1:$PORT_POLICYD
dns_forwarders = 127.0.0.1@$MA_DNS_PORT
dns_timeout = 3s
user = mailauth
header_type = ar
authserv_id = mx.test.example
iprev_header = yes
iprev_action = reject
EOF2
"$POLICYD" -t -c "$MA_TMP/policyd.conf" >"$MA_TMP/policyd-t.log" 2>&1 ||
	{ cat "$MA_TMP/policyd-t.log"; ma_fail "policyd -t rejects the test config"; }
ma_bg policyd "$POLICYD" -f -c "$MA_TMP/policyd.conf"
ma_wait_port $PORT_POLICYD || ma_fail "policyd did not listen on $PORT_POLICYD"

ma_sink_start sink $PORT_SINK
ma_postfix_create pf $PORT_SMTPD $PORT_SINK
ma_postconf pf \
	"smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$PORT_POLICYD" \
	"smtpd_policy_service_timeout = 30s"
ma_postfix_start pf

# send NAME ADDR - one transaction from client ADDR; swaks' exit code
send() {
	ma_swaks "$MA_TMP/$1.txt" --xclient-addr "$2" --helo mx.client.example \
		--from user@client.example --to a@example.net --header "Subject: iprev $1"
}

send pass 192.0.2.25 || ma_fail "pass: not accepted (swaks rc $?)"
ma_sink_wait sink 1 30 || ma_fail "pass: message did not reach the sink"
f=$(ma_sink_find sink '^Subject: iprev pass')
[ -n "$f" ] || ma_fail "pass: message not found at the sink"
ma_log_register "$f"
ma_assert_grep '^Authentication-Results: mx\.test\.example; spf=pass .*smtp\.mailfrom=client\.example; iprev=pass \(mx\.client\.example\) policy\.iprev=192\.0\.2\.25$' \
	"$f" "confirmed client: accepted, iprev=pass in policyd's Authentication-Results"

send fail 192.0.2.26
rc=$?
[ $rc = 24 ] || ma_fail "fail: swaks rc $rc, expected 24 (RCPT refused)"
ma_assert_grep '^<\*\* +550[ -]5\.7\.25 .*Reverse DNS of 192\.0\.2\.26 is not forward-confirmed \(iprev=fail: ' \
	"$MA_TMP/fail.txt" "PTR not confirmed: RCPT refused with 550 5.7.25"

send noptr 192.0.2.27
rc=$?
[ $rc = 24 ] || ma_fail "no PTR: swaks rc $rc, expected 24 (RCPT refused)"
ma_assert_grep '^<\*\* +550[ -]5\.7\.25 .*Reverse DNS of 192\.0\.2\.27 is not forward-confirmed \(iprev=permerror: no PTR record for 192\.0\.2\.27\)' \
	"$MA_TMP/noptr.txt" "no PTR: RCPT refused with 550 5.7.25, permerror"
ma_assert_grep 'identity=iprev result=permerror action=reject' "$MA_TMP/policyd.log" \
	"policyd logs the refusal with the iprev result"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/policyd.log" \
	"no sanitizer report or panic in policyd's log"
