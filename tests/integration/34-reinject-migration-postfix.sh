#!/bin/bash
# 34-reinject-migration-postfix.sh - the setup guides' opendkim.conf and
# opendmarc.conf (tests/data/migration, paths rewritten, keys made by
# `reinject keygen`) named by opendkim_config / opendmarc_config, end to end
# through a real Postfix (after-queue content_filter, header_checks.dmarc on
# the re-injection smtpd) and a private DNS server:
#  1. mail from 127.0.0.1 is signed with the SigningTable's key (main0622),
#     c=relaxed/simple as the file says, and verifies with dkimpy;
#  2. mail from the TrustedHosts name (XCLIENT NAME=mail.mydomain.example,
#     passed on as XFORWARD NAME) is signed the same way;
#  3. outside mail is verified, not signed: its Authentication-Results carry
#     the opendmarc.conf AuthservID "OpenDMARC";
#  4. RejectFailures true: a spoof of a p=reject domain is held.
# Ports: 21400-21409 DNS, 21410 smtpd, 21411 sink, 21412 reinject,
# 21414 re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks
ma_require_root
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 34-reinject-migration-postfix

SMTPD=21410
SINK=21411
FILTER=21412
BACK=21414

ma_user_ensure reinject || ma_skip "cannot create user reinject"
# the guides' files, /etc/opendkim -> $MA_TMP
for f in opendkim-a.conf opendmarc.conf KeyTable SigningTable TrustedHosts; do
	sed "s|/etc/opendkim|$MA_TMP|g" "$SRC/tests/data/migration/$f" >"$MA_TMP/$f"
done
kd=$MA_TMP/keys/mydomain.example
mkdir -p "$kd"
for s in mail main0622; do
	"$REINJECT" keygen -d mydomain.example -s $s -D "$kd" >/dev/null ||
		ma_fail "reinject keygen -s $s"
	chown reinject "$kd/$s.private"
done
chmod 755 "$MA_TMP/keys" "$kd"
{
	printf 'main0622._domainkey.mydomain.example. TXT'
	txt=$(cat "$kd/main0622.value")
	for ((i = 0; i < ${#txt}; i += 200)); do printf ' "%s"' "${txt:i:200}"; done
	echo
	sed 's/ 3600 IN / /' "$SRC/tests/data/migration/dmarc-record.txt"
	echo '_dmarc.reject.example. TXT "v=DMARC1; p=reject"'
	echo 'reject.example. TXT "v=spf1 -all"'
} >"$MA_TMP/zone"
ma_dns_start dns 21400-21409 "$MA_TMP/zone"

mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
chmod 700 "$MA_TMP/spool"
cat >"$MA_TMP/reinject.conf" <<EOF2
opendkim_config = $MA_TMP/opendkim-a.conf
opendmarc_config = $MA_TMP/opendmarc.conf
listen = 127.0.0.1:$FILTER verify
downstream = 127.0.0.1:$BACK
myhostname = filter.mailauth.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 1
syslog = no
dns_forwarders = 127.0.0.1@$MA_DNS_PORT
EOF2
"$REINJECT" -c "$MA_TMP/reinject.conf" -t >"$MA_TMP/t.out" 2>&1 ||
	{ cat "$MA_TMP/t.out"; ma_fail "reinject -t refused the guides' files"; }
ma_ok "reinject -t accepts opendkim-a.conf and opendmarc.conf as they stand"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"

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
ma_postconf pf "smtpd_authorized_xclient_hosts = 127.0.0.0/8"
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# send N ARGS... - one message, Subject "migration N"
send() {
	local n=$1
	shift
	ma_swaks "$MA_TMP/send$n.txt" --server 127.0.0.1:$SMTPD --to b@example.net \
		--header "Subject: migration $n" --body "migration test $n" "$@" ||
		ma_fail "message $n not accepted by smtpd"
}
send 1 --from a@mydomain.example --helo localhost
send 2 --from a@mydomain.example --helo mail.mydomain.example \
	--xclient-addr 203.0.113.5 --xclient-name mail.mydomain.example
send 3 --from a@mydomain.example --helo outside.example --xclient-addr 198.51.100.9 \
	--xclient-name unknown
send 4 --from x@unrelated.example --helo mx.unrelated.example \
	--xclient-addr 203.0.113.6 --header "From: CEO <ceo@reject.example>"
ma_sink_wait sink 3 60 || ma_fail "messages 1-3 did not reach the sink"

# check_signed N WHAT - message N carries one main0622 signature that verifies
check_signed() {
	local f
	f=$(ma_sink_find sink "^Subject: migration $1")
	[ -n "$f" ] || ma_fail "message $1 not found at the sink"
	"$PY" - "$f" "$kd/main0622.value" <<'EOF2' || ma_fail "message $1 ($2): signature"
import dkim, re, sys
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
value = open(sys.argv[2]).read().strip().encode()
hdr = data.split(b"\r\n\r\n", 1)[0].decode()
sigs = re.findall(r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr, re.M)
assert len(sigs) == 1, "%d signatures" % len(sigs)
tags = dict(t.strip().split("=", 1) for t in re.sub(r"\s+", "", sigs[0]).split(";") if "=" in t)
assert tags["s"] == "main0622" and tags["d"] == "mydomain.example", tags
assert tags["c"] == "relaxed/simple", tags["c"]
dns = {b"main0622._domainkey.mydomain.example.": value}
assert dkim.verify(data, dnsfunc=lambda n, timeout=5: dns.get(n)), "dkimpy"
EOF2
	ma_ok "$2: signed with main0622, c=relaxed/simple, verifies with dkimpy"
}
check_signed 1 "mail from 127.0.0.1"
check_signed 2 "mail from the TrustedHosts name"
f=$(ma_sink_find sink "^Subject: migration 3")
[ -n "$f" ] || ma_fail "message 3 not found at the sink"
ma_assert_no_grep '^DKIM-Signature:' "$f" "outside mail is not signed"
ma_assert_grep '^Authentication-Results: OpenDMARC;' "$f" \
	"outside mail is verified; A-R carries opendmarc.conf's AuthservID"
ma_wait_for 30 grep -q 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog" ||
	ma_fail "RejectFailures: the p=reject spoof was not held"
ma_ok "RejectFailures true: a p=reject spoof is held after-queue"
[ -z "$(ma_sink_find sink '^Subject: migration 4')" ] || ma_fail "the spoof was delivered"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject.log" \
	"no sanitizer report or panic in reinject's log"
