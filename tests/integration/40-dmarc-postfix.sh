#!/bin/bash
# 40-dmarc-postfix.sh - DMARC in reinject, end to end through a real Postfix
# and a private DNS server (issue 6 "Tests that prove it"):
#  1. after-queue (content_filter): a spoofed From of a p=reject domain is put
#     on hold (X-Mailauth-DMARC: hold + etc/postfix/header_checks.dmarc on the
#     re-injection smtpd) and is released with postsuper -H;
#  2. a p=quarantine spoof arrives tagged ([SPAM] subject, X-Spam-Flag) with
#     "dmarc=fail (p=quarantine dis=quarantine)";
#  3. an aligned DKIM-signed message arrives with dmarc=pass;
#  4. forged "Authentication-Results: <our id>; dmarc=pass" and a forged
#     "Received-SPF: pass" do not help: still dmarc=fail, the forged A-R is gone;
#  5. a HELO-only SPF pass does not align (MAIL FROM fails): dmarc=fail;
#  6. before-queue (smtpd_proxy_filter) with dmarc_reject_action = reject: the
#     client gets 550 5.7.1 at the end of DATA and nothing is queued;
#  7. (issue 10, defect 2) the same p=reject spoof with a header section the
#     splitter refuses (1001 fields, one field over 64 KiB, a line without a
#     colon, each before From) is held like the plain spoof after the queue,
#     and refused with 550 5.7.1 in proxy mode (where reinject sees the
#     client's header section as it came);
#  8. a DKIM signature with l= (python3-dkim) passes while the body is what it
#     signed; with content appended after the signed part it is dkim=policy
#     and does not make DMARC pass (the p=reject From is held).
# Ports: 20910-20919 DNS, 20920 smtpd, 20921 sink, 20922/20923 reinject,
# 20924 re-injection smtpd, 20925 proxy-mode smtpd, 20926 reinject (proxy),
# 20927 proxy-mode re-injection smtpd.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue postsuper /usr/sbin/smtp-sink swaks openssl
ma_require_root
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
"$REINJECT" -c /dev/null -n 2>/dev/null | grep -q '^dmarc_reject_action' ||
	ma_skip "reinject does not run the DMARC stage yet (no dmarc_* settings)"
ma_init 40-dmarc-postfix

SMTPD=20920
SINK=20921
FILTER=20922
BACK=20924
PX_SMTPD=20925
PX_FILTER=20926
PX_BACK=20927
AUTHSERV=mx.mailauth.example

# --- DNS: DMARC, SPF and DKIM records ------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
key=$MA_TMP/sel.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null ||
	ma_fail "openssl genpkey"
pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
txt="v=DKIM1; k=rsa; p=$pub"
{
	echo '_dmarc.reject.example. TXT "v=DMARC1; p=reject"'
	echo 'reject.example. TXT "v=spf1 -all"'
	echo 'reject.example. A 192.0.2.20'
	echo '_dmarc.quar.example. TXT "v=DMARC1; p=quarantine"'
	echo 'quar.example. TXT "v=spf1 -all"'
	echo 'mail.quar.example. TXT "v=spf1 ip4:198.51.100.7 -all"'
	echo '_dmarc.example.org. TXT "v=DMARC1; p=reject"'
	echo 'example.org. TXT "v=spf1 -all"'
	printf 'sel._domainkey.example.org. TXT'
	for ((i = 0; i < ${#txt}; i += 200)); do printf ' "%s"' "${txt:i:200}"; done
	echo
} >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20910-20919 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}

# --- reinject: after-queue instance and proxy-mode instance -----------------------
mkdir -p "$MA_TMP/spool" "$MA_TMP/spool2"
chown reinject "$MA_TMP/spool" "$MA_TMP/spool2"
chmod 700 "$MA_TMP/spool" "$MA_TMP/spool2"
common_conf() {
	cat <<EOF
myhostname = filter.mailauth.example
authserv_id = $AUTHSERV
user = reinject
worker_processes = 1
syslog = no
dns_forwarders = 127.0.0.1@$dnsport
EOF
}
{ common_conf; cat <<EOF; } >"$MA_TMP/reinject.conf"
listen = 127.0.0.1:$FILTER verify
downstream = 127.0.0.1:$BACK
spool_directory = $MA_TMP/spool
EOF
{ common_conf; cat <<EOF; } >"$MA_TMP/reinject2.conf"
listen = 127.0.0.1:$PX_FILTER verify
downstream = 127.0.0.1:$PX_BACK
spool_directory = $MA_TMP/spool2
dmarc_reject_action = reject
EOF
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused reinject.conf"
"$REINJECT" -c "$MA_TMP/reinject2.conf" -t || ma_fail "reinject -t refused reinject2.conf"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_bg reinject2 "$REINJECT" -c "$MA_TMP/reinject2.conf" -e
ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"
ma_wait_port $PX_FILTER || ma_fail "reinject (proxy) not listening on $PX_FILTER"

# --- Postfix: after-queue, with header_checks.dmarc on the re-injection smtpd ----
ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
pfdir=$(ma_postfix_dir pf)
cp "$SRC/etc/postfix/header_checks.dmarc" "$pfdir/header_checks.dmarc"
# FILTER_README's re-injection smtpd skips header checks; ours needs them, done
# by a cleanup service of its own (header_checks is a cleanup(8) setting)
sed -i "s|no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings|no_unknown_recipient_checks,no_milters,no_address_mappings\n  -o cleanup_service_name=dmarc-cleanup|" \
	"$pfdir/master.cf"
ma_postfix_master pf \
	"dmarc-cleanup unix n - n - 0 cleanup" \
	"  -o header_checks=regexp:$pfdir/header_checks.dmarc" \
	"  -o mime_header_checks=" \
	"  -o nested_header_checks=" \
	"  -o body_checks="
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# header_of FILE - the header section of a sink dump, unfolded
header_of() {
	sed -n '/^$/q;p' "$1" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g'
}

# unparsed_msg KIND SUBJECT - a p=reject spoof whose header section reinject's
# splitter refuses, the refused part before the From field
unparsed_msg() {
	"$PY" - "$1" "$2" <<'EOF'
import sys
kind, subject = sys.argv[1], sys.argv[2]
h = ["Subject: " + subject, "To: b@example.net"]
if kind == "fields":
    h += ["X-Fill-%d: filler past the field count limit" % i for i in range(1001)]
elif kind == "big":
    h += ["X-Big: start"] + [" (" + "0123456789" * 9 + ")" for _ in range(800)]
elif kind == "colon":
    h += ["this line has no colon"]
h += ["From: CEO <ceo@reject.example>"]
sys.stdout.buffer.write(("\r\n".join(h) + "\r\n\r\npay now\r\n").encode())
EOF
}

# --- 1. p=reject spoof: held ------------------------------------------------------
ma_swaks "$MA_TMP/1.txt" --server 127.0.0.1:$SMTPD --from x@unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--header "From: CEO <ceo@reject.example>" --header "Subject: spoof reject" \
	--body "pay now" || ma_fail "spoof not accepted by smtpd"
ma_wait_for 30 grep -q 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog" ||
	ma_fail "the p=reject spoof was not held"
ma_ok "p=reject spoof held by header_checks (after-queue default hold)"
ma_assert_grep 'dmarc reject.example fail \(p=reject dis=reject.*action=hold' \
	"$MA_TMP/reinject.log" "reinject logs one DMARC line with policy, disposition, action"
# the per-message line (reinject(8), LOGGING): every verdict, the action taken
ma_assert_grep 'reinject\[[0-9]+\]: [0-9A-F]+: from=<x@unrelated\.example>, nrcpt=1, .*dkim=none, .*dmarc=fail p=reject disposition=reject header\.from=reject\.example dmarc_action=hold, action=held, downstream=250 .*queued_as=[0-9A-F]+' \
	"$MA_TMP/reinject.log" "per-message line: dmarc verdict, policy, disposition; action=held, not relayed"
held=$(ma_postqueue pf -j | "$PY" -c 'import json,sys
for l in sys.stdin:
    j = json.loads(l)
    if j["queue_name"] == "hold": print(j["queue_id"])')
[ -n "$held" ] || ma_fail "nothing in the hold queue"
[ "$(ma_sink_count sink)" = 0 ] || ma_fail "the held spoof was delivered"
postsuper -c "$pfdir" -H "$held" >/dev/null 2>&1 || ma_fail "postsuper -H"
ma_postqueue pf -f
ma_sink_wait sink 1 30 || ma_fail "released message not delivered"
f=$(ma_sink_find sink '^Subject: spoof reject')
header_of "$f" | grep -q "^Authentication-Results: $AUTHSERV;.*dmarc=fail (p=reject dis=reject) header.from=reject.example" ||
	ma_fail "released message lacks dmarc=fail: $(header_of "$f")"
ma_ok "released with postsuper -H; carries dmarc=fail (p=reject dis=reject)"

# --- 2. p=quarantine spoof: tagged ---------------------------------------------------
ma_swaks "$MA_TMP/2.txt" --server 127.0.0.1:$SMTPD --from x@unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--header "From: <boss@quar.example>" --header "Subject: spoof quarantine" \
	--body "hello" || ma_fail "quarantine spoof not accepted"
ma_sink_wait sink 2 30 || ma_fail "quarantine spoof not delivered"
f=$(ma_sink_find sink 'spoof quarantine')
h=$(header_of "$f")
grep -q '^Subject: \[SPAM\] spoof quarantine' <<<"$h" || ma_fail "no [SPAM] subject: $h"
grep -q '^X-Spam-Flag: YES' <<<"$h" || ma_fail "no X-Spam-Flag: $h"
grep -q "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example" <<<"$h" ||
	ma_fail "no dmarc=fail clause: $h"
[ "$(grep -c '^Subject:' <<<"$h")" = 1 ] || ma_fail "two Subject fields: $h"
ma_ok "p=quarantine spoof arrives tagged with dmarc=fail"
ma_assert_grep 'reinject\[[0-9]+\]: [0-9A-F]+: from=<x@unrelated\.example>, .*dmarc=fail p=quarantine disposition=quarantine header\.from=quar\.example dmarc_action=tag, action=tagged, downstream=250 .*queued_as=[0-9A-F]+' \
	"$MA_TMP/reinject.log" "per-message line: action=tagged for the quarantined spoof"

# --- 3. aligned DKIM signature: pass --------------------------------------------------
"$PY" - "$key" >"$MA_TMP/signed.eml" <<'EOF'
import sys, dkim
msg = (b"From: Bob <bob@example.org>\r\nTo: b@example.net\r\n"
       b"Subject: aligned dkim\r\nMessage-ID: <aligned-1@example.org>\r\n\r\n"
       b"Signed by the author domain.\r\n")
sig = dkim.sign(msg, b"sel", b"example.org", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"message-id"])
sys.stdout.buffer.write(sig + msg)
EOF
ma_swaks "$MA_TMP/3.txt" --server 127.0.0.1:$SMTPD --from bounce@list.unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--data "$MA_TMP/signed.eml" || ma_fail "signed message not accepted"
ma_sink_wait sink 3 30 || ma_fail "signed message not delivered"
h=$(header_of "$(ma_sink_find sink '^Subject: aligned dkim')")
grep -q "^Authentication-Results: $AUTHSERV;.*dkim=pass header.d=example.org.*dmarc=pass .*header.from=example.org" <<<"$h" ||
	ma_fail "no dmarc=pass: $h"
[ "$(grep -c "^Authentication-Results: $AUTHSERV" <<<"$h")" = 1 ] ||
	ma_fail "not exactly one Authentication-Results of ours: $h"
ma_ok "aligned DKIM-signed message arrives with dmarc=pass"

# --- 4. forged A-R dmarc=pass and Received-SPF: pass ------------------------------------
ma_swaks "$MA_TMP/4.txt" --server 127.0.0.1:$SMTPD --from boss@quar.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--header "Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=boss@quar.example; dmarc=pass header.from=quar.example" \
	--header "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=203.0.113.5; envelope-from=boss@quar.example" \
	--header "From: <boss@quar.example>" --header "Subject: forged results" \
	--body "trust me" || ma_fail "forged message not accepted"
ma_sink_wait sink 4 30 || ma_fail "forged message not delivered"
h=$(header_of "$(ma_sink_find sink 'forged results')")
grep -q "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example" <<<"$h" ||
	ma_fail "forged headers changed the verdict: $h"
grep -q "dmarc=pass" <<<"$h" && ma_fail "the forged dmarc=pass survived: $h"
ma_ok "forged A-R dmarc=pass and Received-SPF: pass: still dmarc=fail, forged A-R removed"

# --- 5. HELO-only SPF pass does not align -------------------------------------------------
ma_swaks "$MA_TMP/5.txt" --server 127.0.0.1:$SMTPD --from boss@quar.example \
	--to b@example.net --helo mail.quar.example --xclient-addr 198.51.100.7 \
	--header "From: <boss@quar.example>" --header "Subject: helo only" \
	--body "helo passes, mail from fails" || ma_fail "helo-only message not accepted"
ma_sink_wait sink 5 30 || ma_fail "helo-only message not delivered"
h=$(header_of "$(ma_sink_find sink 'helo only')")
grep -q "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example" <<<"$h" ||
	ma_fail "HELO-only SPF pass aligned: $h"
grep -q "spf=fail smtp.mailfrom=boss@quar.example" <<<"$h" ||
	ma_fail "no spf=fail clause from reinject's own SPF evaluation: $h"
ma_ok "HELO-only SPF pass does not align (dmarc=fail)"

# --- 7. unparsable header sections: held like the plain spoof ---------------------------
held_before=$(grep -c 'hold: header X-Mailauth-DMARC: hold' "$pfdir/../maillog")
delivered=$(ma_sink_count sink)
# Postfix's cleanup ends the header section at a line without a colon (the
# From below it becomes body text, and Postfix adds a From of its own), so
# that case goes straight to reinject, as a before-queue filter sees it.
for kind in fields big colon; do
	unparsed_msg $kind "unparsed $kind" >"$MA_TMP/7-$kind.eml"
	to=(--server 127.0.0.1:$SMTPD --xclient-addr 203.0.113.5)
	[ $kind = colon ] && to=(--server 127.0.0.1:$FILTER)
	ma_swaks "$MA_TMP/7-$kind.txt" "${to[@]}" --from x@unrelated.example \
		--to b@example.net --helo mx.unrelated.example \
		--data "$MA_TMP/7-$kind.eml" || ma_fail "$kind spoof not accepted"
	held_before=$((held_before + 1))
	ma_wait_for 30 sh -c "[ \$(grep -c 'hold: header X-Mailauth-DMARC: hold' '$pfdir/../maillog') -ge $held_before ]" ||
		ma_fail "the p=reject spoof with an unparsable header ($kind) was not held: $(grep -a 'header syntax\|dmarc' "$MA_TMP/reinject.log" | tail -5)"
	ma_ok "p=reject spoof with an unparsable header section ($kind) held"
done
for why in "too many header fields" "header field too large" "header line without colon"; do
	ma_assert_grep "header syntax: $why; passing the message on unparsed" \
		"$MA_TMP/reinject.log" "reinject took the message unparsed: $why"
done
sleep 1
[ "$(ma_sink_count sink)" = "$delivered" ] || ma_fail "an unparsable spoof was delivered"
ma_ok "no unparsable spoof delivered"

# --- 8. l=: content appended after the signed part -------------------------------------
"$PY" - "$key" >"$MA_TMP/lsigned.eml" <<'EOF'
import sys, dkim
msg = (b"From: Bob <bob@example.org>\r\nTo: b@example.net\r\n"
       b"Subject: l= signed\r\nMessage-ID: <lsigned-1@example.org>\r\n\r\n"
       b"The signed part.\r\n")
sig = dkim.sign(msg, b"sel", b"example.org", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"message-id"], length=True)
sys.stdout.buffer.write(sig + msg)
EOF
grep -q '[; ]l=' "$MA_TMP/lsigned.eml" || ma_fail "python3-dkim wrote no l= tag"
ma_swaks "$MA_TMP/8a.txt" --server 127.0.0.1:$SMTPD --from bounce@list.unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--data "$MA_TMP/lsigned.eml" || ma_fail "l= message not accepted"
delivered=$((delivered + 1))
ma_sink_wait sink $delivered 30 || ma_fail "l= message (nothing appended) not delivered"
h=$(header_of "$(ma_sink_find sink '^Subject: l= signed')")
grep -q "^Authentication-Results: $AUTHSERV;.*dkim=pass header.d=example.org.*dmarc=pass" <<<"$h" ||
	ma_fail "l= covering the whole body: no dkim=pass / dmarc=pass: $h"
ma_ok "l= covering the whole body: dkim=pass, dmarc=pass"
{ cat "$MA_TMP/lsigned.eml"; printf 'Appended: pay to account 666 now.\r\n'; } >"$MA_TMP/lappended.eml"
ma_swaks "$MA_TMP/8b.txt" --server 127.0.0.1:$SMTPD --from bounce@list.unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--data "$MA_TMP/lappended.eml" || ma_fail "l= appended message not accepted"
held_before=$((held_before + 1))
ma_wait_for 30 sh -c "[ \$(grep -c 'hold: header X-Mailauth-DMARC: hold' '$pfdir/../maillog') -ge $held_before ]" ||
	ma_fail "content appended after l= made DMARC pass: $(tail -3 "$MA_TMP/reinject.log")"
ma_assert_grep 'dkim=policy d=example.org s=sel \(body has [0-9]+ bytes after l=[0-9]+\)' \
	"$MA_TMP/reinject.log" "appended after l=: dkim=policy with the unsigned byte count"
ma_assert_grep 'dmarc example.org fail \(p=reject dis=reject.*action=hold' "$MA_TMP/reinject.log" \
	"appended after l=: dmarc=fail, held"
ma_ok "content appended after l=: dkim=policy, dmarc=fail, held"

# --- 6. before-queue proxy: 550 at end of DATA ----------------------------------------------
ma_postfix_create px $PX_SMTPD $SINK
ma_postconf px "smtpd_proxy_filter = 127.0.0.1:$PX_FILTER" \
	"queue_directory = $MA_TMP/px/spool"
ma_postfix_master px \
	"127.0.0.1:$PX_BACK inet n - n - - smtpd" \
	"  -o syslog_name=postfix/reinject" \
	"  -o smtpd_proxy_filter=" \
	"  -o receive_override_options=no_unknown_recipient_checks" \
	"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8" \
	"  -o smtpd_recipient_restrictions=permit_mynetworks,reject" \
	"  -o mynetworks=127.0.0.0/8"
ma_postfix_start px
ma_swaks "$MA_TMP/6.txt" --server 127.0.0.1:$PX_SMTPD --from x@unrelated.example \
	--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
	--header "From: CEO <ceo@reject.example>" --header "Subject: proxy spoof" \
	--body "pay now"
rc=$?
[ $rc = 26 ] || ma_fail "proxy mode: swaks exit $rc, want 26 (end of DATA refused): $(cat "$MA_TMP/6.txt")"
ma_assert_grep '<\*\* +550 5\.7\.1 .*DMARC' "$MA_TMP/6.txt" "proxy mode: 550 5.7.1 to the client at end of DATA"
ma_postfix_queue_empty px || ma_fail "proxy mode: something was queued"
ma_ok "proxy mode: nothing queued"

# --- 7 in proxy mode: unparsable spoofs refused at the end of DATA ------------------------
for kind in fields big colon; do
	unparsed_msg $kind "proxy unparsed $kind" >"$MA_TMP/8-$kind.eml"
	ma_swaks "$MA_TMP/8-$kind.txt" --server 127.0.0.1:$PX_SMTPD --from x@unrelated.example \
		--to b@example.net --helo mx.unrelated.example --xclient-addr 203.0.113.5 \
		--data "$MA_TMP/8-$kind.eml"
	rc=$?
	[ $rc = 26 ] || ma_fail "proxy mode, $kind: swaks exit $rc, want 26: $(tail -5 "$MA_TMP/8-$kind.txt")"
	ma_assert_grep '<\*\* +550 5\.7\.1 .*DMARC' "$MA_TMP/8-$kind.txt" \
		"proxy mode, $kind: 550 5.7.1 at end of DATA"
done
ma_postfix_queue_empty px || ma_fail "proxy mode: an unparsable spoof was queued"
ma_ok "proxy mode: unparsable spoofs refused, nothing queued"
