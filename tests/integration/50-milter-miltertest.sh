#!/bin/bash
# 50-milter-miltertest.sh - reinject's milter listener driven by Debian's
# miltertest (opendkim-tools), which speaks the protocol as sendmail's
# libmilter client does (Lua scripts in tests/integration/milter/):
#  1. negotiate.lua: every flag offered (no replies before end of message),
#     no no-reply flags offered (CONTINUE to each step), actions missing
#     (refused, connection closed);
#  2. messages.lua: macros, a message aborted mid-body, several messages on
#     one connection, {auth_authen} signs, inbound gets A-R inserted and the
#     forged one deleted, a 20 MiB body in 64 KiB chunks;
#  3. spf.lua: SPF evaluated in the milter from connect/HELO/MAIL FROM; a
#     fail refused with 550 5.7.23 (RFC 7372) at RCPT (milter_spf_reject =
#     rcpt) or at the end of DATA (= data, a second instance); a pass not;
#     DMARC takes the milter's SPF result: the private unbound logs each
#     query and serves the SPF record with TTL 0, and sees one query per
#     transaction, not two;
#  4. timeout.lua: milter_message_timeout (2s on the second instance) closes a
#     message whose end does not come; limit.py: milter_connection_limit (1
#     on a third instance) closes a connection over it at once;
#  4b. actions.lua (a fourth instance): dmarc tag changes the Subject in
#     place (CHGHEADER, not a delete and an insert), redirect deletes each
#     recipient and adds milter_redirect_recipient (DELRCPT, ADDRCPT),
#     {daemon_name} in milter_sign_daemons signs, {if_addr} is logged;
#     failure.lua (same instance, report_failure_body = yes,
#     report_failure_body_size_limit = 1k): the queued failure report of a
#     small spoof holds its body (message/rfc822) and SPF-DNS, that of one
#     over the limit the header section only;
#  5. SIGHUP: the master reloads, the UNIX socket stays, messages flow;
#  6. malformed.py: length 0, length over the limit, unknown command, broken
#     layouts, an oversized macro and a command before negotiation close the
#     connection without a reply; the listener keeps serving.
# DNS from a private unbound on 20790-20799.  Worker peak RSS after the
# 20 MiB message stays under 64 MiB (the body is streamed, not kept).

. "$(dirname "$0")/lib.sh"

ma_require_cmd miltertest openssl
ma_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || ma_skip "python3 missing"
REINJECT=${MAILAUTH_BUILD:-build}/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init 50-milter-miltertest
DIR=$(dirname "$0")/milter

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
# every query logged, and the SPF record with TTL 0, so that each SPF
# evaluation of example.org shows as one query in unbound.log
cat >"$MA_TMP/zone" <<'EOF2'
log-queries: yes
zone example.org.
_dmarc.example.org. TXT "v=DMARC1; p=none"
example.org. 0 TXT "v=spf1 ip4:198.51.100.7 -all"
zone refused.example. refuse
_dmarc.quar.example. TXT "v=DMARC1; p=quarantine"
_dmarc.rej.example. TXT "v=DMARC1; p=reject"
_dmarc.fail.example. TXT "v=DMARC1; p=none; ruf=mailto:ruf@fail.example"
fail.example. TXT "v=spf1 -all"
EOF2
dnsport=$(sh "$(dirname "$0")/dnsserver.sh" start "$MA_TMP/dns" 20790-20799 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
trap 'rc=$?; sh "$(dirname "$0")/dnsserver.sh" stop "$MA_TMP/dns"; (exit $rc); ma_cleanup' EXIT

sock=$MA_TMP/milter.sock
cat >"$MA_TMP/reinject.conf" <<EOF2
listen = unix:$sock milter
myhostname = filter.mailauth.example
authserv_id = mx.mailauth.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = 1
syslog = no
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts = 192.0.2.99
dns_forwarders = 127.0.0.1@${dnsport##*$'\n'}
milter_packet_size_limit = 1m
milter_macro_size_limit = 4k
milter_spf_reject = rcpt
milter_spf_temperror_tempfail = yes
EOF2
sed -e "s|^listen = .*|listen = unix:$MA_TMP/milter2.sock milter|" \
	-e 's/^milter_spf_reject = .*/milter_spf_reject = data/' \
	"$MA_TMP/reinject.conf" >"$MA_TMP/reinject2.conf"
echo "milter_message_timeout = 2s" >>"$MA_TMP/reinject2.conf"
sed -e "s|^listen = .*|listen = unix:$MA_TMP/milter3.sock milter|" \
	"$MA_TMP/reinject.conf" >"$MA_TMP/reinject3.conf"
echo "milter_connection_limit = 1" >>"$MA_TMP/reinject3.conf"
sed -e "s|^listen = .*|listen = unix:$MA_TMP/milter4.sock milter|" \
	-e 's/^milter_spf_reject = .*/milter_spf_reject = no/' \
	"$MA_TMP/reinject.conf" >"$MA_TMP/reinject4.conf"
cat >>"$MA_TMP/reinject4.conf" <<EOF2
dmarc_quarantine_action = tag
dmarc_reject_action = redirect
milter_redirect_recipient = quarantine@example.net
milter_sign_daemons = ORIGINATING
report_failure_enable = yes
report_failure_directory = $MA_TMP/failure4
report_failure_interval = 1h
report_failure_body = yes
report_failure_body_size_limit = 1k
EOF2
mkdir -p "$MA_TMP/failure4"
chown reinject "$MA_TMP/failure4"
chmod 700 "$MA_TMP/failure4"
"$REINJECT" -c "$MA_TMP/reinject.conf" -t || ma_fail "reinject -t refused the configuration"
ma_ok "reinject -t accepts a milter listener on a UNIX socket"
ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
ma_wait_for 10 test -S "$sock" || ma_fail "no socket at $sock"
ma_bg reinject2 "$REINJECT" -c "$MA_TMP/reinject2.conf" -e
ma_wait_for 10 test -S "$MA_TMP/milter2.sock" || ma_fail "no socket at $MA_TMP/milter2.sock"
ma_bg reinject3 "$REINJECT" -c "$MA_TMP/reinject3.conf" -e
ma_wait_for 10 test -S "$MA_TMP/milter3.sock" || ma_fail "no socket at $MA_TMP/milter3.sock"
ma_bg reinject4 "$REINJECT" -c "$MA_TMP/reinject4.conf" -e
ma_wait_for 10 test -S "$MA_TMP/milter4.sock" || ma_fail "no socket at $MA_TMP/milter4.sock"

miltertest -D socket="unix:$sock" -s "$DIR/negotiate.lua" ||
	ma_fail "negotiate.lua"
miltertest -D socket="unix:$sock" -D authserv=mx.mailauth.example \
	-s "$DIR/messages.lua" || ma_fail "messages.lua"
ma_wait_grep 5 'reinject\[[0-9]+\]: SIGNED1: from=<alice@example.org>, .*signed=d=example.org s=sel .*action=accepted' \
	"$MA_TMP/reinject.log" "the i macro names the message in the log; signed"
ma_assert_grep 'reinject\[[0-9]+\]: LARGE1: .*size=2097[0-9]{4}, .*action=accepted' \
	"$MA_TMP/reinject.log" "20 MiB message logged as accepted"
ma_assert_no_grep 'ABORTED1: from=' "$MA_TMP/reinject.log" \
	"the aborted message was never finished"
ma_assert_no_grep 'INBOUND1: .*signed=' "$MA_TMP/reinject.log" \
	"a login on one transaction does not sign the next"
worker=$(pgrep -P "$(ma_bg_pid reinject)" | head -1)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$worker/status")
echo "# worker peak RSS after the 20 MiB message: ${hwm} kB"
if ldd "$REINJECT" | grep -q libasan; then
	# AddressSanitizer keeps freed memory in quarantine: RSS says nothing
	echo "# sanitizer build: peak RSS not checked"
else
	[ "$hwm" -lt 65536 ] || ma_fail "worker peak RSS ${hwm} kB: the body was kept"
	ma_ok "the 20 MiB body was streamed (peak RSS ${hwm} kB)"
fi

miltertest -D socket="unix:$sock" -D mode=rcpt -s "$DIR/spf.lua" || ma_fail "spf.lua (rcpt)"
ma_assert_grep 'SPFFAIL1: spf fail: RCPT refused: SPF validation failed for example.org' \
	"$MA_TMP/reinject.log" "RCPT refusal logged with the domain"
ma_assert_grep 'SPFTEMP1: spf temperror: RCPT refused: SPF validation error for refused.example' \
	"$MA_TMP/reinject.log" "RCPT temperror logged"
# spf_queries - how many times the SPF record of example.org was asked for
spf_queries() {
	grep -c ' example\.org\. TXT IN' "$MA_TMP/dns/unbound.log"
}
q0=$(spf_queries)
miltertest -D socket="unix:$MA_TMP/milter2.sock" -D mode=data -s "$DIR/spf.lua" ||
	ma_fail "spf.lua (data)"
q1=$(spf_queries)
# SPFFAIL1 refused before DMARC, SPFPASS1 through DMARC: one evaluation each
[ $((q1 - q0)) -eq 2 ] ||
	ma_fail "SPF record asked $((q1 - q0)) times for 2 SPF evaluations (DMARC evaluated again?)"
ma_ok "SPF evaluated once per transaction: 2 queries for 2 messages, DMARC took the milter's result"
ma_wait_grep 5 'SPFFAIL1: from=<bob@example.org>, .*action=rejected, reason=SPF validation failed for example.org' \
	"$MA_TMP/reinject2.log" "end-of-DATA refusal logged"
ma_assert_grep 'SPFPASS1: from=<bob@example.org>, nrcpt=1, .*spf=pass, .*action=accepted' \
	"$MA_TMP/reinject2.log" "SPF pass accepted, its recipient counted"
ma_assert_grep 'SPFTEMP1: from=<bob@refused.example>, .*action=deferred, reason=SPF validation error for refused.example' \
	"$MA_TMP/reinject2.log" "end-of-DATA temperror deferred"

miltertest -D socket="unix:$MA_TMP/milter4.sock" -s "$DIR/actions.lua" ||
	ma_fail "actions.lua"
ma_wait_grep 5 'TAG1: from=<x@quar.example>, .*client=client.example\[203.0.113.9\], if_addr=192.0.2.1, .*dmarc_action=tag, action=tagged' \
	"$MA_TMP/reinject4.log" "tag logged as tagged, with {if_addr}"
ma_assert_grep 'REDIR1: from=<x@rej.example>, nrcpt=2, .*dmarc_action=redirect, action=redirected' \
	"$MA_TMP/reinject4.log" "redirect logged as redirected"
ma_assert_grep 'DAEMON1: from=<alice@example.org>, .*signed=d=example.org s=sel' \
	"$MA_TMP/reinject4.log" "mail of the ORIGINATING daemon signed"

miltertest -D socket="unix:$MA_TMP/milter4.sock" -s "$DIR/failure.lua" ||
	ma_fail "failure.lua"
# report SUBJECT - the queued failure report of that message, without the
# queue file's preamble (up to its first empty line)
report() {
	local f
	f=$(grep -l "^Subject: $1" "$MA_TMP"/failure4/*.arf 2>/dev/null | head -1)
	[ -n "$f" ] && sed '1,/^$/d' "$f"
}
ma_wait_for 10 report "fbody small" >/dev/null || ma_fail "no failure report for FBODY1"
ma_wait_for 10 report "fbody big" >/dev/null || ma_fail "no failure report for FBIG1"
report "fbody small" >"$MA_TMP/fbody-small.eml"
report "fbody big" >"$MA_TMP/fbody-big.eml"
"$PY" "$(dirname "$0")/../unit/report_afrf_check.py" "$MA_TMP/fbody-small.eml" message \
	Reported-Domain=fail.example 'SPF-DNS=txt : fail.example : "v=spf1 -all"' ||
	ma_fail "the milter's report of a small message lacks its body (or SPF-DNS)"
ma_assert_grep '^failure-body-marker-7' "$MA_TMP/fbody-small.eml" "the body chunks are in it"
ma_assert_grep '^second line' "$MA_TMP/fbody-small.eml" "the body chunks are in it, whole"
ma_ok "milter, report_failure_body: the report holds the body (message/rfc822) and SPF-DNS"
"$PY" "$(dirname "$0")/../unit/report_afrf_check.py" "$MA_TMP/fbody-big.eml" headers ||
	ma_fail "the milter's report of a message over the limit is not header-only"
ma_assert_no_grep 'big-body-marker' "$MA_TMP/fbody-big.eml" "no body over report_failure_body_size_limit"
ma_ok "milter: a message over report_failure_body_size_limit is reported with its header only"

out=$(miltertest -D socket="unix:$MA_TMP/milter2.sock" -s "$DIR/timeout.lua" 2>&1) &&
	ma_fail "timeout.lua: the connection stayed open: $out"
case $out in *ANSWERED*) ma_fail "timeout.lua: $out" ;; esac
ma_ok "milter_message_timeout closes a message that does not end"
ma_assert_grep 'warning: milter unix: message not done within milter_message_timeout \(2 s\)' \
	"$MA_TMP/reinject2.log" "milter_message_timeout logged"
"$PY" "$DIR/limit.py" "$MA_TMP/milter3.sock" || ma_fail "limit.py"
ma_assert_grep 'milter_connection_limit \(1\) reached' "$MA_TMP/reinject3.log" \
	"milter_connection_limit logged"

kill -HUP "$(ma_bg_pid reinject)"
ma_wait_grep 10 'reloaded .*reinject.conf: starting 1 workers' "$MA_TMP/reinject.log" "SIGHUP: reloaded, new worker started"
sleep 1
test -S "$sock" || ma_fail "socket gone after SIGHUP"
miltertest -D socket="unix:$sock" -s "$DIR/negotiate.lua" >/dev/null ||
	ma_fail "negotiate.lua after SIGHUP"
ma_ok "after SIGHUP the UNIX socket still serves"

"$PY" "$DIR/malformed.py" "$sock" 1048576 || ma_fail "malformed.py"
ma_assert_grep 'warning: milter unix: packet of length 0' "$MA_TMP/reinject.log" \
	"length 0 logged"
cat "$MA_TMP"/reinject*.log >"$MA_TMP/all.log"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/all.log" \
	"no sanitizer report, no panic"
