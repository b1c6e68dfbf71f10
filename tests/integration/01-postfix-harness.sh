#!/bin/bash
# 01-postfix-harness.sh - the harness itself: a private Postfix instance takes
# a message from a client claiming another address with XCLIENT and relays it
# to smtp-sink, where the dump shows both recipients of one transaction.
# Ports: 20400 (smtpd), 20401 (sink).

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
ma_assert_grep 'postfix/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[192\.0\.2\.10\]' \
	"$MA_TMP/pf/maillog" "instance logs to its own maillog_file"

pid=$(ma_postfix_master_pid pf)
[ -n "$pid" ] && ma_pid_running "$pid" || ma_fail "no running master ($pid)"
ma_postfix_stop pf
ma_pid_running "$pid" && ma_fail "master $pid still running after stop"
ma_port_busy $SMTPD && ma_fail "smtpd still listening after stop"
ma_ok "instance stopped"
echo "1 passed, 0 failed"
