#!/bin/bash
# 01-postfix-harness.sh - the harness itself: a private Postfix instance takes
# a message from a client claiming another address with XCLIENT and relays it
# to smtp-sink, where the dump shows both recipients of one transaction.
# Then the after-queue content_filter wiring others build on: the public smtpd
# hands mail to the filter port (a second smtp-sink here) through "scan",
# and mail injected on the second smtpd reaches the final sink without
# looping back through the filter.
# Ports: 20400 (smtpd), 20401 (sink), 20402 (filter sink), 20403 (smtpd 2),
# 20404 (second instance's smtpd).

. "$(dirname "$0")/lib.sh"

ma_require_cmd postfix postconf postqueue /usr/sbin/smtp-sink swaks
ma_require_root
ma_init 01-harness

SMTPD=20400
SINK=20401

ma_sink_start sink $SINK
ma_postfix_create pf $SMTPD $SINK
ma_postfix_start pf

ma_swaks "$MA_TMP/smoke.txt" --from alice@example.org \
	--to b@example.net,c@example.net --helo mx.example.org \
	--xclient-addr 192.0.2.10 --header "Subject: harness smoke" ||
	ma_fail "swaks could not deliver (rc $?)"
ma_assert_grep '^<-  250 2\.0\.0 Ok: queued as' "$MA_TMP/smoke.txt" \
	"smtpd queued the message"

ma_postfix_wait_queue_empty pf 20 || ma_fail "queue did not drain"
ma_sink_wait sink 1 || ma_fail "nothing arrived at the sink"
f=$(ma_sink_find sink '^Subject: harness smoke')
[ -n "$f" ] || ma_fail "smoke message not in the sink dump"
ma_ok "message relayed to smtp-sink"
[ "$(grep -c '^X-Rcpt-Args:' "$f")" = 2 ] ||
	ma_fail "expected 2 recipients in one transaction: $(cat "$f")"
ma_ok "one transaction with both recipients"
ma_assert_grep '^Received: from mx\.example\.org \(unknown \[192\.0\.2\.10\]\)' \
	"$f" "XCLIENT address and HELO in the Received header"
ma_wait_grep 10 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[192\.0\.2\.10\]' \
	"$MA_TMP/pf/maillog" "instance logs to its own maillog_file"

pid=$(ma_postfix_master_pid pf)
[ -n "$pid" ] && ma_pid_running "$pid" || ma_fail "no running master ($pid)"
ma_postfix_stop pf
ma_pid_running "$pid" && ma_fail "master $pid still running after stop"
ma_port_busy $SMTPD && ma_fail "smtpd still listening after stop"
ma_ok "instance stopped"

# --- content_filter wiring (ma_postfix_content_filter) ---------------------
ma_sink_start filter 20402
ma_postfix_create cf 20404 $SINK
ma_postfix_content_filter cf 20402 20403
ma_postfix_start cf
ma_wait_port 20403 || ma_fail "second smtpd not listening on 20403"
ma_swaks "$MA_TMP/cf-in.txt" --from alice@example.org --to d@example.net \
	--helo mx.example.org --xclient-addr 192.0.2.20 \
	--header "Subject: to the filter" || ma_fail "cf: not accepted"
ma_sink_wait filter 1 || ma_fail "nothing arrived at the filter port"
f=$(ma_sink_find filter '^Subject: to the filter')
[ -n "$f" ] || ma_fail "filter did not get the message"
ma_wait_grep 10 'postfix/scan/smtp\[[0-9]+\]: [0-9A-F]+: to=<d@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:20402,.* status=sent' \
	"$MA_TMP/cf/maillog" "content_filter hands the message to the scan transport"
before=$(ma_sink_count sink)
ma_swaks "$MA_TMP/cf-back.txt" --server 127.0.0.1:20403 --from alice@example.org \
	--to d@example.net --helo localhost --header "Subject: back from the filter" ||
	ma_fail "second smtpd refused the re-injected message"
ma_postfix_wait_queue_empty cf 20 || ma_fail "cf queue did not drain"
ma_sink_wait sink $((before + 1)) || ma_fail "re-injected message not at the sink"
[ -n "$(ma_sink_find sink '^Subject: back from the filter')" ] ||
	ma_fail "re-injected message not at the final sink"
[ -z "$(ma_sink_find filter '^Subject: back from the filter')" ] ||
	ma_fail "re-injected message looped back to the filter"
ma_ok "second smtpd delivers without content_filter"
