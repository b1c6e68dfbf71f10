#!/bin/bash
# 32-reinject-iprev.sh - iprev (RFC 8601 §3) end to end: a private Postfix
# hands mail to reinject (after-queue content_filter), the client address set
# with XCLIENT and passed on with XFORWARD; reverse zones of 192.0.2.0/24
# come from a private unbound through dns_forwarders.
#  1. 192.0.2.25, PTR mx.sender.example with A back to it: iprev=pass;
#  2. 192.0.2.26, PTR to a name with another address: iprev=fail and, with
#     iprev_action = tag, an X-Mailauth-Iprev field;
#  3. 192.0.2.27, no PTR: iprev=permerror (RFC 8601 §2.7.3), tagged.
# Ports: 20740 smtpd, 20741 final sink, 20742 reinject, 20744 re-injection
# smtpd, 20790-20799 DNS.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks
ma_require_root
REINJECT=${MAILAUTH_BUILD:-build}/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 32-reinject-iprev

SMTPD=20740
SINK=20741
FILTER=20742
BACK=20744

ma_user_ensure reinject || ma_skip "cannot create user reinject"
cat >"$MA_TMP/zone" <<'EOF2'
25.2.0.192.in-addr.arpa. PTR mx.sender.example.
mx.sender.example. A 192.0.2.25
26.2.0.192.in-addr.arpa. PTR liar.example.
liar.example. A 198.51.100.1
EOF2
ma_dns_start dns 20790-20799 "$MA_TMP/zone"

mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
chmod 700 "$MA_TMP/spool"
cat >"$MA_TMP/reinject.conf" <<EOF2
listen = 127.0.0.1:$FILTER verify
downstream = 127.0.0.1:$BACK
myhostname = filter.mailauth.example
authserv_id = mx.mailauth.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 1
syslog = no
internal_hosts =
dmarc_enable = no
iprev_action = tag
dns_forwarders = 127.0.0.1@$MA_DNS_PORT
EOF2
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused the configuration"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"

ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# send N ADDR - one message from client ADDR (XCLIENT)
send() {
	ma_swaks "$MA_TMP/send$1.txt" --from "a$1@sender.example" --to b@example.net \
		--helo mx.sender.example --xclient-addr "$2" \
		--header "Subject: iprev $1" --header "X-Mailauth-Iprev: pass (forged)" \
		--body "iprev test $1" || ma_fail "message $1 not accepted"
}
send 1 192.0.2.25
send 2 192.0.2.26
send 3 192.0.2.27
ma_sink_wait sink 3 60 || ma_fail "not every message reached the sink"

# header N - the header section of message N as one line per field
header() {
	local f
	f=$(ma_sink_find sink "^Subject: iprev $1")
	[ -n "$f" ] || ma_fail "message $1 not found at the sink"
	sed -n '1,/^$/p' "$f" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g' >"$MA_TMP/hdr$1"
	ma_log_register "$MA_TMP/hdr$1"
}
header 1
header 2
header 3
ma_assert_grep '^Authentication-Results: mx\.mailauth\.example; .*iprev=pass \(mx\.sender\.example\) policy\.iprev=192\.0\.2\.25' \
	"$MA_TMP/hdr1" "forward-confirmed client: iprev=pass with its name"
ma_assert_no_grep '^X-Mailauth-Iprev:' "$MA_TMP/hdr1" "a passing client is not tagged, the forged field is gone"
ma_assert_grep '^Authentication-Results: mx\.mailauth\.example; .*iprev=fail \(.*liar\.example.*\) policy\.iprev=192\.0\.2\.26' \
	"$MA_TMP/hdr2" "PTR not confirmed: iprev=fail"
ma_assert_grep '^X-Mailauth-Iprev: fail policy\.iprev=192\.0\.2\.26' "$MA_TMP/hdr2" "iprev_action = tag adds the field"
ma_assert_grep '^Authentication-Results: mx\.mailauth\.example; .*iprev=permerror \(no PTR record for 192\.0\.2\.27\) policy\.iprev=192\.0\.2\.27' \
	"$MA_TMP/hdr3" "no PTR: iprev=permerror (RFC 8601 2.7.3)"
ma_assert_grep '^X-Mailauth-Iprev: permerror' "$MA_TMP/hdr3" "no PTR: tagged"
[ "$(grep -c '^X-Mailauth-Iprev:' "$MA_TMP/hdr3")" = 1 ] || ma_fail "the forged X-Mailauth-Iprev was kept"
ma_ok "only reinject's own X-Mailauth-Iprev field arrives"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject.log" \
	"no sanitizer report or panic in reinject's log"
