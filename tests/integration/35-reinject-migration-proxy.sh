#!/bin/bash
# 35-reinject-migration-proxy.sh - opendkim.conf and opendmarc.conf keys that
# act on mail, read as they stand, end to end before the queue: a real
# Postfix smtpd with smtpd_proxy_filter to a reinject listener in mode proxy,
# and a private DNS server.
#   opendkim.conf:  On-BadSignature reject, PeerList (a file)
#   opendmarc.conf: RejectFailures true, RequiredHeaders true
#  1. a spoof of a p=reject domain: 550 5.7.1 to the client (RejectFailures,
#     which after the queue holds instead: 34-reinject-migration-postfix.sh);
#  2. a message whose only signature is bad: 550 5.7.20 (On-BadSignature);
#  3. the same message from a PeerList host: accepted and relayed untouched
#     (no Authentication-Results added);
#  4. two Subject fields: 550 5.6.0 (RequiredHeaders, RFC 5322 section 3.6);
#  5. an ordinary message: accepted, with Authentication-Results.
# Nothing refused is queued.
# Ports: 21500-21509 DNS, 21510 smtpd, 21511 sink, 21512 reinject,
# 21514 re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks
ma_require_root
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 35-reinject-migration-proxy

SMTPD=21510
SINK=21511
FILTER=21512
BACK=21514

ma_user_ensure reinject || ma_skip "cannot create user reinject"
cat >"$MA_TMP/zone" <<'EOF2'
_dmarc.reject.example. TXT "v=DMARC1; p=reject"
reject.example. TXT "v=spf1 -all"
s1._domainkey.bad.example. TXT "v=DKIM1; k=rsa; p=!!!"
EOF2
ma_dns_start dns 21500-21509 "$MA_TMP/zone"

echo 203.0.113.77 >"$MA_TMP/peers"
cat >"$MA_TMP/opendkim.conf" <<EOF2
Mode                    sv
On-BadSignature         reject
PeerList                $MA_TMP/peers
Socket                  inet:8891@localhost
EOF2
cat >"$MA_TMP/opendmarc.conf" <<'EOF2'
AuthservID HOSTNAME
RejectFailures true
RequiredHeaders true
Socket inet:8893@localhost
EOF2
mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
chmod 700 "$MA_TMP/spool"
cat >"$MA_TMP/reinject.conf" <<EOF2
opendkim_config = $MA_TMP/opendkim.conf
opendmarc_config = $MA_TMP/opendmarc.conf
listen = 127.0.0.1:$FILTER proxy
downstream = 127.0.0.1:$BACK
myhostname = filter.mailauth.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 1
syslog = no
dkim_timeout = 20s
dns_forwarders = 127.0.0.1@$MA_DNS_PORT
EOF2
"$REINJECT" -c "$MA_TMP/reinject.conf" -t >"$MA_TMP/t.out" 2>&1 ||
	{ cat "$MA_TMP/t.out"; ma_fail "reinject -t refused the files"; }
ma_ok "reinject -t accepts On-BadSignature, PeerList, RejectFailures, RequiredHeaders"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"

ma_sink_start sink $SINK
ma_postfix_create px $SMTPD $SINK
ma_postconf px "smtpd_proxy_filter = 127.0.0.1:$FILTER" \
	"smtpd_proxy_options = speed_adjust" "smtpd_proxy_timeout = 60s"
ma_postfix_master px \
	"127.0.0.1:$BACK inet n - n - - smtpd" \
	"  -o syslog_name=postfix/reinject" \
	"  -o smtpd_proxy_filter=" \
	"  -o receive_override_options=no_unknown_recipient_checks" \
	"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8" \
	"  -o smtpd_recipient_restrictions=permit_mynetworks,reject" \
	"  -o mynetworks=127.0.0.0/8"
ma_postfix_start px
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

BADSIG='DKIM-Signature: v=1; a=rsa-sha256; d=bad.example; s=s1; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA'

# send N ADDR ARGS... - one message from client ADDR, Subject "proxy N"; rc
send() {
	local n=$1 addr=$2
	shift 2
	ma_swaks "$MA_TMP/send$n.txt" --server 127.0.0.1:$SMTPD --to b@example.net \
		--from x@unrelated.example --helo mx.unrelated.example \
		--xclient-addr "$addr" --header "Subject: proxy $n" --body "proxy $n" "$@"
}

# refused N CODE WHAT - swaks saw CODE at the end of DATA
refused() {
	local rc=$?
	[ $rc = 26 ] || ma_fail "$3: swaks exit $rc, want 26: $(tail -5 "$MA_TMP/send$1.txt")"
	ma_assert_grep "<\\*\\* +$2 " "$MA_TMP/send$1.txt" "$3: $2 at the end of DATA"
}

send 1 203.0.113.6 --header "From: CEO <ceo@reject.example>"
refused 1 '550 5\.7\.1' "RejectFailures, p=reject spoof"
send 2 203.0.113.6 --header "From: <a@plain.example>" --add-header "$BADSIG"
refused 2 '550 5\.7\.20' "On-BadSignature reject"
send 3 203.0.113.77 --header "From: <a@plain.example>" --add-header "$BADSIG" ||
	ma_fail "PeerList: the message from the peer was refused: $(tail -5 "$MA_TMP/send3.txt")"
send 4 203.0.113.6 --header "From: <a@plain.example>" --add-header "Subject: again"
refused 4 '550 5\.6\.0' "RequiredHeaders, two Subject fields"
send 5 203.0.113.6 --header "From: <a@plain.example>" ||
	ma_fail "an ordinary message was refused: $(tail -5 "$MA_TMP/send5.txt")"
ma_sink_wait sink 2 60 || ma_fail "messages 3 and 5 did not reach the sink"

f=$(ma_sink_find sink '^Subject: proxy 3')
[ -n "$f" ] || ma_fail "message 3 not found at the sink"
ma_assert_no_grep '^Authentication-Results: filter.mailauth.example' "$f" \
	"PeerList: the peer's message passed with nothing added"
f=$(ma_sink_find sink '^Subject: proxy 5')
[ -n "$f" ] || ma_fail "message 5 not found at the sink"
ma_assert_grep '^Authentication-Results: filter.mailauth.example' "$f" \
	"an ordinary message gets Authentication-Results"
[ "$(ma_sink_count sink)" = 2 ] || ma_fail "a refused message reached the sink"
ma_postfix_queue_empty px || ma_fail "something refused was queued"
ma_ok "nothing refused was queued or delivered"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject.log" \
	"no sanitizer report or panic in reinject's log"
