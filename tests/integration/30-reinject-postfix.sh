#!/bin/bash
# 30-reinject-postfix.sh - reinject as the after-queue content_filter of a
# private Postfix instance (FILTER_README's advanced pattern, lib.sh):
#  1. outbound: mail from an internal client (XCLIENT 192.0.2.99, listed in
#     internal_hosts) reaches the final sink signed, and dkimpy verifies it;
#  2. inbound: a dkimpy-signed message from an outside client arrives with
#     "Authentication-Results: <id>; dkim=pass", and the re-injection smtpd
#     logged the original client (XFORWARD);
#  3. loss: 300 messages are submitted while reinject is killed with SIGKILL
#     and restarted twice; after Postfix retries every Message-ID reaches the
#     sink (duplicates are counted and reported; losses must be zero).
# Ports: 20720 smtpd, 20721 final sink, 20722/20723 reinject (verify/sign),
# 20724 re-injection smtpd, 20780-20789 DNS.

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks openssl
ma_require_root
PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
REINJECT=${MAILAUTH_BUILD:-build}/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 30-reinject-postfix

SMTPD=20720
SINK=20721
FILTER=20722
BACK=20724
LOSS_COUNT=${LOSS_COUNT:-300}

# --- key, DNS, reinject ------------------------------------------------------
ma_user_ensure reinject || ma_skip "cannot create user reinject"
key=$MA_TMP/sel.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null ||
	ma_fail "openssl genpkey"
chmod 600 "$key"
chown reinject "$key"
pub=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
txt="v=DKIM1; k=rsa; p=$pub"
echo "$txt" >"$MA_TMP/sel.txt"
{
	echo "zone example.org."
	printf 'sel._domainkey.example.org. TXT'
	for ((i = 0; i < ${#txt}; i += 200)); do printf ' "%s"' "${txt:i:200}"; done
	echo
} >"$MA_TMP/zone"
dnsport=$(sh "$(dirname "$0")/dnsserver.sh" start "$MA_TMP/dns" 20780-20789 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$(dirname "$0")/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT

mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
chmod 700 "$MA_TMP/spool"
cat >"$MA_TMP/reinject.conf" <<EOF
listen = 127.0.0.1:$FILTER verify, 127.0.0.1:$((FILTER + 1)) sign
downstream = 127.0.0.1:$BACK
myhostname = filter.mailauth.example
authserv_id = mx.mailauth.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 2
syslog = no
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts = 192.0.2.99
dns_forwarders = 127.0.0.1@${dnsport##*$'\n'}
EOF
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused the configuration"
ma_ok "reinject -t accepts the configuration"

start_reinject() {
	ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
	ma_wait_port $FILTER || ma_fail "reinject not listening on $FILTER"
}
start_reinject

ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_content_filter pf $FILTER $BACK 10
ma_postfix_start pf
ma_wait_port $BACK || ma_fail "re-injection smtpd not listening on $BACK"

# verify_dump FILE - dkimpy verifies a sink dump (its X- pseudo-headers are
# not signed, so they do not matter); the key comes from sel.txt
verify_dump() {
	"$PY" - "$1" "$MA_TMP/sel.txt" <<'EOF'
import sys, dkim
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
txt = open(sys.argv[2], "rb").read().strip()
sys.exit(0 if dkim.verify(data, dnsfunc=lambda n, timeout=5: txt) else 1)
EOF
}

# --- 1. outbound: signed ------------------------------------------------------
ma_swaks "$MA_TMP/out.txt" --from alice@example.org --to b@example.net \
	--helo laptop.example.org --xclient-addr 192.0.2.99 \
	--header "From: Alice <alice@example.org>" --header "Subject: outbound signed" \
	--body "Signed through Postfix." || ma_fail "outbound not accepted"
ma_sink_wait sink 1 30 || ma_fail "outbound message did not reach the sink"
f=$(ma_sink_find sink '^Subject: outbound signed')
[ -n "$f" ] || ma_fail "outbound message not found at the sink"
ma_assert_grep '^DKIM-Signature:' "$f" "outbound mail signed by reinject"
verify_dump "$f" || ma_fail "dkimpy does not verify the outbound signature: $(cat "$f")"
ma_ok "dkimpy verifies the signature after Postfix re-injection"

# --- 2. inbound: verified ------------------------------------------------------
"$PY" - "$key" >"$MA_TMP/inbound.eml" <<'EOF'
import sys, dkim
msg = (b"From: Bob <bob@example.org>\r\nTo: b@example.net\r\n"
       b"Subject: inbound signed\r\nMessage-ID: <inbound-1@example.org>\r\n\r\n"
       b"Signed elsewhere.\r\n")
sig = dkim.sign(msg, b"sel", b"example.org", open(sys.argv[1], "rb").read(),
                include_headers=[b"from", b"to", b"subject", b"message-id"])
sys.stdout.buffer.write(sig + msg)
EOF
ma_swaks "$MA_TMP/in.txt" --from bob@example.org --to b@example.net \
	--helo mail.example.org --xclient-addr 198.51.100.7 \
	--data "$MA_TMP/inbound.eml" || ma_fail "inbound not accepted"
ma_sink_wait sink 2 30 || ma_fail "inbound message did not reach the sink"
f=$(ma_sink_find sink '^Subject: inbound signed')
[ -n "$f" ] || ma_fail "inbound message not found at the sink"
"$PY" - "$f" <<'EOF' || ma_fail "no Authentication-Results with dkim=pass: $(cat "$f")"
import re, sys
hdr = open(sys.argv[1]).read().split("\n\n")[0]
ar = re.search(r"^Authentication-Results: mx\.mailauth\.example;(\n\s.*)*", hdr, re.M)
sys.exit(0 if ar and re.search(r"dkim=pass header\.d=example\.org header\.s=sel", ar.group(0)) else 1)
EOF
ma_ok "inbound signed message arrives with Authentication-Results dkim=pass"
ma_assert_grep 'postfix/reinject/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[127\.0\.0\.1\], orig_queue_id=[0-9A-F]+, orig_client=unknown\[198\.51\.100\.7\]' \
	"$MA_TMP/pf/maillog" "re-injection smtpd logs the original client (XFORWARD)"
ma_assert_grep 'reinject\[[0-9]+\]: [0-9A-F]+: from=<bob@example.org>, nrcpt=1, .*dkim=pass d=example.org s=sel.*action=relayed, downstream=250 .*queued_as=[0-9A-F]+' \
	"$MA_TMP/reinject.log" "reinject logs upstream and downstream queue ids"

# --- 3. loss test ----------------------------------------------------------------
before=$(ma_sink_count sink)
"$PY" - $SMTPD "$LOSS_COUNT" >"$MA_TMP/submit.log" 2>&1 <<'EOF' &
import smtplib, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
for i in range(n):
    msg = ("From: a@example.org\r\nTo: b@example.net\r\nSubject: loss %d\r\n"
           "Message-ID: <loss-%d@example.org>\r\n\r\nmessage %d\r\n" % (i, i, i))
    s.sendmail("a@example.org", ["b@example.net"], msg)
    if i % 50 == 49:
        s.quit()
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    time.sleep(0.02)
s.quit()
print("submitted", n)
EOF
submitter=$!
for round in 1 2; do
	sleep 1.5
	pid=$(ma_bg_pid reinject)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	ma_wait_for 5 eval '! ma_port_busy $FILTER' || ma_fail "workers survived their master"
	mv "$MA_TMP/reinject.log" "$MA_TMP/reinject.log.$round"
	sleep 1
	start_reinject
	ma_ok "reinject killed with SIGKILL and restarted ($round)"
done
wait $submitter || ma_fail "submission failed: $(cat "$MA_TMP/submit.log")"
ma_ok "$LOSS_COUNT messages submitted to Postfix"
# wait for Postfix's retries, flushing the queue now and then; if a message
# sits in qmgr's memory as "skipped, still being delivered" (seen under heavy
# load with these very short retry timers), requeue and reload once
distinct() {
	grep -rhoE '^Message-ID: <loss-[0-9]+@example.org>' "$(ma_sink_dir sink)" | sort -u | wc -l
}
pfdir=$(ma_postfix_dir pf)
for ((i = 1; i <= 120; i++)); do
	[ "$(distinct)" -ge "$LOSS_COUNT" ] && break
	((i % 2 == 0)) && ma_postqueue pf -f >/dev/null 2>&1
	if ((i == 40 || i == 80)); then
		echo "# $(distinct) of $LOSS_COUNT after ${i}s: postsuper -r ALL, postfix reload"
		postsuper -c "$pfdir" -r ALL >/dev/null 2>&1
		postfix -c "$pfdir" reload >/dev/null 2>&1
	fi
	sleep 1
done
ma_postfix_wait_queue_empty pf 30 || true
ids=$(grep -rhoE '^Message-ID: <loss-[0-9]+@example.org>' "$(ma_sink_dir sink)" | sort)
got=$(echo "$ids" | grep -c loss)
uniq=$(echo "$ids" | sort -u | grep -c loss)
dups=$((got - uniq))
lost=$((LOSS_COUNT - uniq))
echo "# loss test: $LOSS_COUNT submitted, $uniq distinct Message-IDs at the sink, $dups duplicates, $lost lost"
grep -hE 'reinject\[[0-9]+\]: .*action=' "$MA_TMP"/reinject.log* | grep -c 'action=relayed' |
	sed 's/^/# reinject relayed (log lines): /'
deferred=$(grep -cE "postfix/scan/smtp\[[0-9]+\]: [0-9A-F]+: to=<b@example.net>, relay=.*status=deferred|postfix/scan/smtp\[[0-9]+\]: .*connect to 127.0.0.1\[127.0.0.1\]:$FILTER: Connection refused" "$MA_TMP/pf/maillog")
echo "# scan transport deferrals while reinject was down: $deferred"
[ "$deferred" -gt 0 ] || ma_fail "the kills did not hit the run (no deferral logged)"
[ "$lost" -eq 0 ] || ma_fail "$lost messages lost"
ma_ok "no message lost across two SIGKILLs ($dups duplicates)"
ma_postfix_queue_empty pf || ma_fail "messages left in the Postfix queue"
ma_ok "Postfix queue empty"
cat "$MA_TMP"/reinject.log* >"$MA_TMP/reinject-all.log"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject-all.log" \
	"no sanitizer report or panic in reinject's log"
