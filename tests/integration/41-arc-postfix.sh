#!/bin/bash
# 41-arc-postfix.sh - ARC in reinject, end to end through a real Postfix and a
# private DNS server (issue 13 "Tests that prove it"): a message from a p=reject
# domain, changed by a list (subject tag, footer) and sealed by the list,
#  1. sealed by a trusted sealer (arc_trusted_sealers): arrives with dmarc=fail,
#     arc=pass and the override (dis=none override=trusted_forwarder), delivered;
#  2. the same from an untrusted sealer: held (X-Mailauth-DMARC: hold);
#  3. a header changed after sealing (trusted sealer): arc=fail, held;
#  4. mail to a domain of arc_seal_recipient_domains is sealed again here
#     (i=2, verified by arctool), and only that mail.
# reinject's log line carries arc=... with oldest-pass, the reason of a fail,
# and sealed i=N.
# The lists' seals are made by arctool (common/arc) with each list's key, which
# the private unbound serves.
# Ports: 21350-21359 DNS, 21360 smtpd, 21361 sink, 21362 reinject,
# 21364 re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue postsuper /usr/sbin/smtp-sink swaks openssl
ma_require_root
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
TOOL=$BUILD/tests/arctool
RT=$BUILD/reinject/reinject-tools
[ -x "$REINJECT" ] && [ -x "$TOOL" ] && [ -x "$RT" ] || ma_skip "reinject or arctool not built"
ma_init 41-arc-postfix

SMTPD=21360
SINK=21361
FILTER=21362
BACK=21364
AUTHSERV=mx.mailauth.example

# --- DNS: the p=reject author domain, the two lists' keys ----------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
zone_line() {	# "name. IN TXT ( "a" "b" )" from keygen -> dnsserver.sh's "name. TXT "a" "b""
	sed -n 's/^\([^;][^\t]*\)\tIN\tTXT\t( \(.*\) )$/\1 TXT \2/p' "$1"
}
{
	echo '_dmarc.reject.example. TXT "v=DMARC1; p=reject"'
	echo 'reject.example. TXT "v=spf1 -all"'
	for l in trusted untrusted ours; do
		mkdir -p "$MA_TMP/keys/$l"
		"$RT" keygen -d $l.example -s list -D "$MA_TMP/keys/$l" >/dev/null ||
			ma_fail "keygen $l"
		zone_line "$MA_TMP/keys/$l/list.txt"
	done
} >"$MA_TMP/zone"
ma_dns_start dns 21350-21359 "$MA_TMP/zone"
dnsport=$MA_DNS_PORT

# --- reinject after-queue, trusting trusted.example's seals ------------------------------
mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool" "$MA_TMP/keys/ours/list.private"
chmod 700 "$MA_TMP/spool"
printf '%s\n' "myhostname = filter.mailauth.example" "authserv_id = $AUTHSERV" \
    "user = reinject" "worker_processes = 1" "syslog = no" \
    "dns_forwarders = 127.0.0.1@$dnsport" "listen = 127.0.0.1:$FILTER verify" \
    "downstream = 127.0.0.1:$BACK" "spool_directory = $MA_TMP/spool" \
    "arc_trusted_sealers = trusted.example" \
    "sign_domain = ours.example" "sign_selector = list" \
    "sign_key_file = $MA_TMP/keys/ours/list.private" \
    "arc_seal_recipient_domains = seal.example" >"$MA_TMP/reinject.conf"
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused reinject.conf"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"

# --- Postfix: after-queue, header_checks.dmarc on the re-injection smtpd -----------------
ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
pfdir=$(ma_postfix_dir pf)
cp "$SRC/etc/postfix/header_checks.dmarc" "$pfdir/header_checks.dmarc"
sed -i "s|no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings|no_unknown_recipient_checks,no_milters,no_address_mappings\n  -o cleanup_service_name=dmarc-cleanup|" \
	"$pfdir/master.cf"
ma_postfix_master pf \
	"dmarc-cleanup unix n - n - 0 cleanup" \
	"  -o header_checks=regexp:$pfdir/header_checks.dmarc" \
	"  -o mime_header_checks=" \
	"  -o nested_header_checks=" \
	"  -o body_checks="
postconf -c "$pfdir" -e "relay_domains = example.net seal.example"
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# header_of FILE - the header section of a sink dump, unfolded
header_of() {
	sed -n '/^$/q;p' "$1" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g'
}

# listed LIST NAME - the CEO's message as the list sends it, sealed by LIST
listed() {
	printf '%s\r\n' "From: CEO <ceo@reject.example>" "To: staff@$1.example" \
	    "Subject: [staff] $2" "Date: Mon, 7 Dec 2026 10:00:00 +0000" \
	    "Message-ID: <$2@reject.example>" "" "Please read." "" "-- " \
	    "staff list footer" >"$MA_TMP/$2.raw"
	"$TOOL" seal -d "$1.example" -s list -k "$MA_TMP/keys/$1/list.private" -c none \
	    -a "mx.$1.example; spf=pass smtp.mailfrom=ceo@reject.example; dmarc=pass header.from=reject.example" \
	    <"$MA_TMP/$2.raw" >"$MA_TMP/$2.eml" || ma_fail "arctool seal ($1)"
}

# send NAME [RCPT] - NAME.eml from the list's host through Postfix
send() {
	ma_swaks "$MA_TMP/$1.txt" --server 127.0.0.1:$SMTPD --from "staff-bounces@lists.example" \
	    --to "${2:-b@example.net}" --helo mx.lists.example --xclient-addr 203.0.113.9 \
	    --data "$MA_TMP/$1.eml" || ma_fail "$1 not accepted by smtpd"
}

# --- 1. trusted sealer: delivered with the override ----------------------------------------
listed trusted trusted-list
send trusted-list
ma_sink_wait sink 1 30 || ma_fail "the trusted list's message was not delivered"
h=$(header_of "$(ma_sink_find sink 'trusted-list')")
grep -q "^Authentication-Results: $AUTHSERV;.*arc=pass header.oldest-pass=0 smtp.remote-ip=203.0.113.9" <<<"$h" ||
	ma_fail "no arc=pass: $h"
grep -q "dmarc=fail (p=reject dis=none override=trusted_forwarder) header.from=reject.example" <<<"$h" ||
	ma_fail "no overridden dmarc=fail: $h"
grep -q '^X-Mailauth-DMARC' <<<"$h" && ma_fail "marked although overridden: $h"
ma_assert_grep 'dmarc reject.example fail \(p=reject dis=none.*override=trusted_forwarder\).*trusted sealer trusted.example \(i=1\).*action=accept' \
	"$MA_TMP/reinject.log" "reinject logs the override with the sealer"
ma_assert_grep 'from=<staff-bounces@lists.example>, .*, arc=pass oldest-pass=0, dmarc=fail .*action=relayed' \
	"$MA_TMP/reinject.log" "the message's log line has arc=pass oldest-pass=0"
grep -q 'd=ours.example' <<<"$h" && ma_fail "sealed although no recipient is in arc_seal_recipient_domains: $h"
ma_ok "trusted sealer: delivered with dmarc=fail, arc=pass and override=trusted_forwarder"

# --- 2. untrusted sealer: held ----------------------------------------------------------------
listed untrusted untrusted-list
send untrusted-list
ma_wait_for 30 grep -q 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog" ||
	ma_fail "the untrusted list's message was not held"
[ "$(ma_sink_count sink)" = 1 ] || ma_fail "the untrusted list's message was delivered"
ma_ok "untrusted sealer: arc=pass does not help, held"

# --- 3. a header changed after sealing: arc=fail, held -----------------------------------------
listed trusted broken-list
sed -i 's/^Subject: \[staff\] broken-list/Subject: [staff] [ext] broken-list/' "$MA_TMP/broken-list.eml"
send broken-list
two_held() {
	[ "$(grep -c 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog")" -ge 2 ]
}
ma_wait_for 30 two_held || ma_fail "the broken chain was not held"
[ "$(ma_sink_count sink)" = 1 ] || ma_fail "the broken chain was delivered"
id=$(grep 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog" | tail -1 |
    sed 's/.*\]: \([0-9A-F]*\): hold:.*/\1/')
h=$(postcat -c "$pfdir" -hq "$id" 2>/dev/null | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g')
grep -q "^Authentication-Results: $AUTHSERV;.*arc=fail reason=\"signature did not verify\" smtp.remote-ip=203.0.113.9" <<<"$h" ||
	ma_fail "the held broken chain lacks arc=fail: $h"
grep -q "dmarc=fail (p=reject dis=reject)" <<<"$h" || ma_fail "no dmarc=fail dis=reject: $h"
ma_assert_grep 'from=<staff-bounces@lists.example>, .*, arc=fail \(signature did not verify\), dmarc=fail .*action=held' \
	"$MA_TMP/reinject.log" "the message's log line has arc=fail with the reason"
ma_ok "a Subject changed after sealing: arc=fail, no override, held"

# --- 4. a recipient in arc_seal_recipient_domains: sealed again here -----------------------
listed trusted sealed-list
send sealed-list staff@seal.example
ma_sink_wait sink 2 30 || ma_fail "the message to seal.example was not delivered"
f=$(ma_sink_find sink 'sealed-list')
h=$(header_of "$f")
grep -q '^ARC-Seal: .*cv=pass; d=ours.example; i=2; s=list' <<<"$h" || ma_fail "not sealed as i=2 by ours.example: $h"
sed 's/$/\r/' "$f" | "$TOOL" verify -n "127.0.0.1@$dnsport" >"$MA_TMP/sealed.verify" 2>&1 ||
	ma_fail "arctool does not verify our seal: $(cat "$MA_TMP/sealed.verify")"
grep -q '^cv=pass sets=2 oldest-pass=0' "$MA_TMP/sealed.verify" ||
	ma_fail "unexpected verdict: $(cat "$MA_TMP/sealed.verify")"
ma_assert_grep 'from=<staff-bounces@lists.example>, .*, arc=pass oldest-pass=0 sealed i=2, dmarc=fail .*action=relayed' \
	"$MA_TMP/reinject.log" "the message's log line says sealed i=2"
ma_ok "a recipient in arc_seal_recipient_domains: sealed i=2 cv=pass, verified by arctool"
