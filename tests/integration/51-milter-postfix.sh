#!/bin/bash
# 51-milter-postfix.sh - reinject as a before-queue milter of a private
# Postfix instance (smtpd_milters, non_smtpd_milters, milter_protocol 6,
# milter_default_action = tempfail as etc/postfix/main.cf.milter says):
#  1. inbound: a dkimpy-signed message from a client SPF authorises arrives
#     with our Authentication-Results (dkim=pass, spf=pass, dmarc=pass) as
#     its first field, above Postfix's Received; the two forged fields with
#     our authserv-id are gone (CHGHEADER per-name indexes, checked against
#     Postfix), the foreign A-R between them stays;
#  2. a spoofed From of a p=reject domain (dmarc_reject_action = reject) is
#     refused with 550 5.7.1 at the end of DATA and nothing is queued;
#     a forged Received-SPF pass on top does not help: Postfix does not show
#     milters its own Received field, so nothing in the header marks what
#     this hop wrote and milter mode never trusts a header SPF result;
#  3. a p=quarantine spoof (dmarc_quarantine_action = hold) is quarantined:
#     postqueue -p shows it on hold ('!');
#  4. a SASL-authenticated submission (XCLIENT LOGIN, which Postfix hands to
#     milters as {auth_authen}) and a sendmail(1) submission
#     (non_smtpd_milters: Postfix presents it as localhost[127.0.0.1], which
#     internal_hosts lists by default) are signed; dkimpy and Mail::DKIM
#     verify the delivered copies;
#  5. milter_spf_reject = rcpt: an SPF fail gets 550 5.7.23 (RFC 7372) at
#     RCPT; the internal and authenticated submissions above (whose SPF
#     would fail) were not refused;
#  5b. {daemon_name}: a second smtpd (20942) with
#     milter_macro_daemon_name=ORIGINATING, as a submission service, is listed
#     in milter_sign_daemons: a client neither internal nor authenticated
#     gets its mail signed there (dkimpy and Mail::DKIM verify), verified on
#     the main smtpd; the receiving address (Postfix: {daemon_addr}, 127.0.0.1)
#     is in the log line as if_addr=;
#  5c. a second reinject (dmarc_quarantine_action = tag, dmarc_reject_action
#     = redirect, milter_redirect_recipient) behind a third smtpd (20943):
#     Postfix applies the tag's CHGHEADER to the Subject where it stands
#     (one Subject, below From, prefixed), and the redirect's DELRCPT and
#     ADDRCPT (the sink gets the message for the quarantine address only);
#  6. the milter stopped: Postfix tempfails (451), nothing accepted unchecked.
# Ports: 20930-20939 DNS, 20940 smtpd, 20941 sink, 20942 "submission" smtpd,
# 20943 smtpd with the second reinject.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue postsuper /usr/sbin/smtp-sink swaks openssl perl
ma_require_root
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
perl -MMail::DKIM::Verifier -e1 2>/dev/null || ma_skip "Mail::DKIM missing"
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 51-milter-postfix

SMTPD=20940
SINK=20941
SUBMIT=20942
ACTIONS=20943
AUTHSERV=mx.mailauth.example

# --- key and DNS ---------------------------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
key=$MA_TMP/sel.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null ||
	ma_fail "openssl genpkey"
chmod 600 "$key"
chown reinject "$key"
# the spool belongs to the user the workers run as (reinject -t checks it)
mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
chmod 700 "$MA_TMP/spool"
pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
txt="v=DKIM1; k=rsa; p=$pub"
echo "$txt" >"$MA_TMP/sel.txt"
{
	echo '_dmarc.reject.example. TXT "v=DMARC1; p=reject"'
	echo 'reject.example. TXT "v=spf1 -all"'
	echo '_dmarc.nospf.example. TXT "v=DMARC1; p=reject"'
	echo '_dmarc.quar.example. TXT "v=DMARC1; p=quarantine"'
	echo 'quar.example. TXT "v=spf1 -all"'
	echo '_dmarc.example.org. TXT "v=DMARC1; p=reject"'
	echo 'example.org. TXT "v=spf1 ip4:198.51.100.7 -all"'
	printf 'sel._domainkey.example.org. TXT'
	for ((i = 0; i < ${#txt}; i += 200)); do printf ' "%s"' "${txt:i:200}"; done
	echo
} >"$MA_TMP/zone"
dnsport=$(sh "$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20930-20939 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT
dnsport=${dnsport##*$'\n'}

# --- reinject, milter listener ---------------------------------------------------
sock=$MA_TMP/milter.sock
cat >"$MA_TMP/reinject.conf" <<EOF
listen = unix:$sock milter
myhostname = filter.mailauth.example
authserv_id = $AUTHSERV
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 1
syslog = no
dns_forwarders = 127.0.0.1@$dnsport
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts = 192.0.2.99, 127.0.0.1
dmarc_reject_action = reject
dmarc_quarantine_action = hold
milter_spf_reject = rcpt
milter_sign_daemons = ORIGINATING
EOF
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused the configuration"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_for 10 test -S "$sock" || ma_fail "no milter socket at $sock"
sock2=$MA_TMP/milter2.sock
sed -e "s|^listen = .*|listen = unix:$sock2 milter|" -e '/^dmarc_.*_action/d' \
	"$MA_TMP/reinject.conf" >"$MA_TMP/reinject2.conf"
printf '%s\n' "dmarc_quarantine_action = tag" "dmarc_reject_action = redirect" \
	"milter_redirect_recipient = quarantine@example.net" >>"$MA_TMP/reinject2.conf"
ma_bg reinject2 "$REINJECT" -c "$MA_TMP/reinject2.conf" -e
ma_wait_for 10 test -S "$sock2" || ma_fail "no milter socket at $sock2"

# --- Postfix with the milter ---------------------------------------------------------
ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postconf pf "smtpd_milters = unix:$sock" "non_smtpd_milters = unix:$sock" \
	"milter_protocol = 6" "milter_default_action = tempfail"
# a submission-like service: its {daemon_name} is ORIGINATING
ma_postfix_master pf "127.0.0.1:$SUBMIT inet n - n - - smtpd" \
	" -o milter_macro_daemon_name=ORIGINATING" \
	"127.0.0.1:$ACTIONS inet n - n - - smtpd" \
	" -o smtpd_milters=unix:$sock2"
ma_postfix_start pf
pfdir=$(ma_postfix_dir pf)

# header_of FILE - the header section of a sink dump
header_of() {
	sed -n '/^$/q;p' "$1"
}

# verify_both FILE - dkimpy (key from sel.txt) and Mail::DKIM (key from DNS)
# verify a sink dump
verify_both() {
	"$PY" - "$1" "$MA_TMP/sel.txt" <<'EOP' || return 1
import sys, dkim
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
txt = open(sys.argv[2], "rb").read().strip()
sys.exit(0 if dkim.verify(data, dnsfunc=lambda n, timeout=5: txt) else 1)
EOP
	perl - "$1" "$dnsport" <<'EOP'
use strict;
use Mail::DKIM::Verifier;
use Net::DNS::Resolver;
# the key from the private DNS server
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
    port => $ARGV[1], recurse => 1));
my $v = Mail::DKIM::Verifier->new();
open(my $f, '<', $ARGV[0]) or die;
while (<$f>) { s/\r?\n\z/\r\n/; $v->PRINT($_); }
$v->CLOSE();
print "# Mail::DKIM: ", $v->result_detail, "\n";
exit($v->result eq 'pass' ? 0 : 1);
EOP
}

# --- 1. inbound ----------------------------------------------------------------------
"$PY" - "$key" "$AUTHSERV" >"$MA_TMP/inbound.eml" <<'EOP'
import sys, dkim
ours = sys.argv[2].encode()
msg = (b"Authentication-Results: " + ours + b"; dkim=pass (forged 1)\r\n"
       b"From: Bob <bob@example.org>\r\nTo: b@example.net\r\n"
       b"Authentication-Results: other.example; spf=pass (kept)\r\n"
       b"Authentication-Results: " + ours + b";\r\n\tdmarc=pass (forged 2)\r\n"
       b"Subject: inbound signed\r\nMessage-ID: <inbound-1@example.org>\r\n\r\n"
       b"Signed elsewhere.\r\n")
sig = dkim.sign(msg, b"sel", b"example.org", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"message-id"])
sys.stdout.buffer.write(sig + msg)
EOP
ma_swaks "$MA_TMP/in.txt" --from bob@example.org --to b@example.net \
	--helo mail.example.org --xclient-addr 198.51.100.7 --xclient-name mail.example.org \
	--data "$MA_TMP/inbound.eml" || ma_fail "inbound not accepted"
ma_sink_wait sink 1 30 || ma_fail "inbound message did not reach the sink"
f=$(ma_sink_find sink '^Subject: inbound signed')
[ -n "$f" ] || ma_fail "inbound message not found at the sink"
header_of "$f" >"$MA_TMP/in.hdr"
"$PY" - "$MA_TMP/in.hdr" "$AUTHSERV" <<'EOP' || ma_fail "inbound header section wrong: $(cat "$MA_TMP/in.hdr")"
import re, sys
hdr = re.sub(r"\r?\n[ \t]+", " ", open(sys.argv[1]).read())
# smtp-sink's pseudo-fields and its own Received come first: not ours
fields = [l for l in hdr.split("\n") if l and not re.match(
    r"X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):|Received: .* by sink\.example ", l)]
names = [f.split(":", 1)[0].lower() for f in fields]
ours = [f for f in fields if re.match(r"Authentication-Results:\s*" + re.escape(sys.argv[2]) + ";", f)]
print("# first fields: %r" % names[:3])
# INSHEADER at 0 lands above Postfix's own Received (milters do not see it)
assert names[:2] == ["authentication-results", "received"], "our A-R on top: %r" % names[:3]
assert len(ours) == 1 and "forged" not in ours[0], "forged fields left: %r" % ours
a = ours[0]
for want in (r"dkim=pass header\.d=example\.org header\.s=sel", r"spf=pass",
             r"dmarc=pass"):
    assert re.search(want, a), "%s missing in %s" % (want, a)
assert any("other.example; spf=pass (kept)" in f for f in fields), "foreign A-R lost"
EOP
ma_ok "inbound: A-R with dkim=pass spf=pass dmarc=pass on top, both forged A-R deleted, foreign kept"

# --- 2. p=reject spoof: 550 at end of DATA -------------------------------------------------
before=$(ma_sink_count sink)
ma_swaks "$MA_TMP/rej.txt" --from x@nospf.example --to b@example.net \
	--helo spoof.example --xclient-addr 203.0.113.9 \
	--header "From: CEO <ceo@reject.example>" --header "Subject: spoof reject" \
	--body "pay now" && ma_fail "p=reject spoof accepted"
ma_assert_grep '<\*\* +550 5\.7\.1 .*reject\.example' "$MA_TMP/rej.txt" \
	"p=reject spoof refused with 550 5.7.1 at the end of DATA"
ma_postfix_queue_empty pf || ma_fail "refused message queued: $(ma_postqueue pf -p)"
ma_ok "nothing queued for the refused message"

printf '%s\r\n' \
	"Received-SPF: pass (forged) client-ip=203.0.113.9; envelope-from=x@nospf.example; helo=spoof.example;" \
	"Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=x@nospf.example" \
	"From: CEO <ceo@nospf.example>" "To: b@example.net" "Subject: forged spf" "" "pay" \
	>"$MA_TMP/forged.eml"
ma_swaks "$MA_TMP/forged.txt" --from x@nospf.example --to b@example.net \
	--helo spoof.example --xclient-addr 203.0.113.9 --data "$MA_TMP/forged.eml" &&
	ma_fail "a forged Received-SPF made a p=reject spoof pass"
ma_assert_grep '<\*\* +550 5\.7\.1 .*nospf\.example' "$MA_TMP/forged.txt" \
	"forged Received-SPF / A-R spf=pass on top: still 550 5.7.1"

# --- 3. p=quarantine spoof: hold ------------------------------------------------------------
ma_swaks "$MA_TMP/quar.txt" --from x@nospf.example --to b@example.net \
	--helo spoof.example --xclient-addr 203.0.113.9 \
	--header "From: <news@quar.example>" --header "Subject: spoof quarantine" \
	--body "held" || ma_fail "quarantine spoof not accepted"
ma_postqueue pf -p >"$MA_TMP/queue.txt"
ma_assert_grep '^[0-9A-F]+!' "$MA_TMP/queue.txt" "quarantined message on hold ('!' in postqueue -p)"
ma_wait_grep 10 'postfix/cleanup\[[0-9]+\]: [0-9A-F]+: milter-hold: END-OF-MESSAGE from' \
	"$MA_TMP/pf/maillog" "cleanup logs the milter hold"

# --- 4. signing: SASL login and sendmail(1) -----------------------------------------------------
# a folded field, one without a space after the colon, one with a tab:
# the bytes signed must be the bytes Postfix stores (HDR_LEADSPC)
printf '%s\r\n' "From: Alice <alice@example.org>" "To: b@example.net" \
	"Subject: submission signed" "X-Folded: first line" "	second line" \
	"X-Nospace:value" "X-Tab:	tabbed" "" "Signed by the milter." >"$MA_TMP/sasl.eml"
ma_swaks "$MA_TMP/sasl.txt" --from alice@example.org --to b@example.net \
	--helo laptop.example --xclient-addr 203.0.113.50 --xclient-login alice \
	--data "$MA_TMP/sasl.eml" || ma_fail "submission not accepted"
ma_sink_wait sink $((before + 1)) 30 || ma_fail "submission did not reach the sink"
f=$(ma_sink_find sink '^Subject: submission signed')
[ -n "$f" ] || ma_fail "submission not found at the sink"
ma_assert_grep '^DKIM-Signature: v=1; a=rsa-sha256;' "$f" "SASL submission signed"
ma_assert_grep '^X-Nospace:value' "$f" "X-Nospace kept byte for byte"
verify_both "$f" || ma_fail "delivered copy of the SASL submission does not verify: $(cat "$f")"
ma_ok "dkimpy and Mail::DKIM verify the SASL submission"

printf 'From: Alice <alice@example.org>\nTo: b@example.net\nSubject: sendmail signed\n\nFrom the command line.\n' |
	sendmail -C "$pfdir" -f alice@example.org -t || ma_fail "sendmail(1) failed"
ma_sink_wait sink $((before + 2)) 30 || ma_fail "sendmail(1) message did not reach the sink"
f=$(ma_sink_find sink '^Subject: sendmail signed')
[ -n "$f" ] || ma_fail "sendmail(1) message not found at the sink"
ma_assert_grep '^DKIM-Signature: ' "$f" "sendmail(1) submission signed (non_smtpd_milters)"
verify_both "$f" || ma_fail "delivered sendmail(1) copy does not verify: $(cat "$f")"
ma_ok "dkimpy and Mail::DKIM verify the sendmail(1) submission"

# --- 5. SPF fail at RCPT --------------------------------------------------------------------------
ma_swaks "$MA_TMP/spf.txt" --from bob@example.org --to b@example.net \
	--helo spoof.example --xclient-addr 203.0.113.9 \
	--header "Subject: spf fail" --body "x" && ma_fail "SPF fail accepted"
ma_assert_grep '<\*\* +550 5\.7\.23 SPF validation failed for example\.org' "$MA_TMP/spf.txt" \
	"SPF fail refused at RCPT with 550 5.7.23"
ma_assert_grep 'RCPT TO:<b@example.net>' "$MA_TMP/spf.txt" "the refusal answered RCPT"
ma_assert_no_grep '^ *-> DATA' "$MA_TMP/spf.txt" "no DATA after the refused RCPT"

# --- 5b. {daemon_name} ORIGINATING: signed; {if_addr} logged ---------------------------
n=$(ma_sink_count sink)
printf '%s\r\n' "From: Alice <alice@example.org>" "To: b@example.net" \
	"Subject: daemon signed" "" "Submitted on the ORIGINATING service." >"$MA_TMP/daemon.eml"
MA_SMTPD_PORT=$SUBMIT ma_swaks "$MA_TMP/daemon.txt" --from alice@example.org --to b@example.net \
	--helo laptop.example --xclient-addr 203.0.113.60 --data "$MA_TMP/daemon.eml" ||
	ma_fail "submission on the ORIGINATING service not accepted"
ma_sink_wait sink $((n + 1)) 30 || ma_fail "ORIGINATING submission did not reach the sink"
f=$(ma_sink_find sink '^Subject: daemon signed')
[ -n "$f" ] || ma_fail "ORIGINATING submission not found at the sink"
ma_assert_grep '^DKIM-Signature: v=1; a=rsa-sha256;' "$f" \
	"{daemon_name} ORIGINATING (milter_sign_daemons): signed without login or internal address"
ma_assert_no_grep "^Authentication-Results: $AUTHSERV" "$f" "and not verified"
verify_both "$f" || ma_fail "delivered ORIGINATING copy does not verify: $(cat "$f")"
ma_ok "dkimpy and Mail::DKIM verify the ORIGINATING submission"
ma_wait_grep 5 'reinject\[[0-9]+\]: [0-9A-F]+: from=<alice@example.org>, .*client=[^,]*\[203\.0\.113\.60\], if_addr=127\.0\.0\.1, .*signed=d=example.org' \
	"$MA_TMP/reinject.log" "the log line names the address Postfix received on ({daemon_addr})"
printf '%s\r\n' "From: Alice <alice@example.org>" "To: b@example.net" \
	"Subject: daemon verified" "" "Port 25 this time." >"$MA_TMP/daemon2.eml"
ma_swaks "$MA_TMP/daemon2.txt" --from alice@example.org --to b@example.net \
	--helo laptop.example --xclient-addr 198.51.100.7 --data "$MA_TMP/daemon2.eml" ||
	ma_fail "the same mail on the main smtpd not accepted"
ma_sink_wait sink $((n + 2)) 30 || ma_fail "main smtpd copy did not reach the sink"
f=$(ma_sink_find sink '^Subject: daemon verified')
ma_assert_no_grep '^DKIM-Signature:' "$f" "the main smtpd's {daemon_name}: not signed"
ma_assert_grep "^Authentication-Results: $AUTHSERV;" "$f" "the main smtpd's mail verified"

# --- 5c. tag and redirect applied by Postfix ------------------------------------------------
n=$(ma_sink_count sink)
MA_SMTPD_PORT=$ACTIONS ma_swaks "$MA_TMP/tag.txt" --from x@nospf.example --to b@example.net \
	--helo spoof.example --xclient-addr 203.0.113.9 \
	--header "From: <news@quar.example>" --header "Subject: spoof tag" --body "tagged" ||
	ma_fail "quarantine spoof (tag) not accepted"
ma_sink_wait sink $((n + 1)) 30 || ma_fail "tagged message did not reach the sink"
f=$(ma_sink_find sink '^Subject: \[SPAM\] spoof tag')
[ -n "$f" ] || ma_fail "no tagged Subject at the sink: $(ma_sink_files sink | tail -1 | xargs cat)"
header_of "$f" >"$MA_TMP/tag.hdr"
[ "$(grep -c '^Subject:' "$MA_TMP/tag.hdr")" = 1 ] || ma_fail "not one Subject: $(cat "$MA_TMP/tag.hdr")"
# swaks writes Date, To, From, Subject: the changed Subject stays below From
awk '/^From:/ { f = NR } /^Subject:/ { s = NR } END { exit !(f && s > f) }' "$MA_TMP/tag.hdr" ||
	ma_fail "the tagged Subject moved: $(cat "$MA_TMP/tag.hdr")"
ma_assert_grep '^X-Spam-Flag: YES' "$MA_TMP/tag.hdr" "tag: X-Spam-Flag added"
ma_ok "tag: Postfix changed the Subject in place (one Subject, still below From)"
MA_SMTPD_PORT=$ACTIONS ma_swaks "$MA_TMP/redir.txt" --from x@nospf.example \
	--to b@example.net,c@example.net --helo spoof.example --xclient-addr 203.0.113.9 \
	--header "From: <ceo@reject.example>" --header "Subject: spoof redirect" --body "redirected" ||
	ma_fail "reject spoof (redirect) not accepted"
ma_sink_wait sink $((n + 2)) 30 || ma_fail "redirected message did not reach the sink"
f=$(ma_sink_find sink '^Subject: spoof redirect')
[ -n "$f" ] || ma_fail "redirected message not found at the sink"
ma_assert_grep '^X-Rcpt-Args: <quarantine@example.net>' "$f" "redirect: delivered to milter_redirect_recipient"
ma_assert_no_grep '^X-Rcpt-Args: <[bc]@example.net>' "$f" "redirect: the original recipients removed"
ma_wait_grep 5 'reinject\[[0-9]+\]: [0-9A-F]+: from=<x@nospf.example>, nrcpt=2, .*action=redirected' \
	"$MA_TMP/reinject2.log" "redirect logged as redirected"

# --- 6. milter down: tempfail ---------------------------------------------------------------------
ma_bg_stop reinject
ma_swaks "$MA_TMP/down.txt" --from bob@example.org --to b@example.net \
	--helo mail.example.org --xclient-addr 198.51.100.7 \
	--header "Subject: milter down" --body "x" && ma_fail "accepted with the milter down"
ma_assert_grep '<\*\* +4[0-9][0-9] ' "$MA_TMP/down.txt" "milter down: 4xx, mail not accepted unchecked"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject.log" "no sanitizer report, no panic"
