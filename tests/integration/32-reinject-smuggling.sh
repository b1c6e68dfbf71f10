#!/bin/bash
# 32-reinject-smuggling.sh - the SMTP smuggling matrix (32-reinject-smuggling.py):
# every sequence of bare CR, bare LF, CR LF, "." and NUL around the end of
# data, followed by a pipelined smuggled transaction,
#  1. through reinject alone (scripted client and downstream), with
#     bare_newline_action normalize and refuse, nul_byte_action refuse;
#  2. through a private Postfix with reinject as its after-queue
#     content_filter (FILTER_README, lib.sh);
#  3. through a private Postfix with reinject as its smtpd_proxy_filter.
# Downstream (the last hop, a scripted server) must see exactly the
# transactions the client got 250 for, each once; only CRLF "." CRLF ends
# DATA.  The Postfix front runs smtpd_forbid_bare_newline = normalize with no
# exclusions, so its own split is RFC 5321's too; bare CR passes through it
# to reinject unchanged.
# One Postfix instance serves both: ports 21300-21309 reinject alone; 21310
# public smtpd (content_filter), 21311 sink, 21312/21313 reinject, 21314
# re-injection smtpd; 21320 public smtpd (smtpd_proxy_filter), 21322/21323
# reinject, 21324 its downstream smtpd.

. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || ma_skip "python3 missing"
HERE=$(dirname "$0")
REINJECT=${MAILAUTH_BUILD:-build}/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"

# --- 1. reinject alone ---------------------------------------------------------
"$PY" "$HERE/32-reinject-smuggling.py" alone 21300 || ma_fail "reinject alone"
ma_ok "smuggling matrix through reinject alone"

command -v postfix >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || {
	echo "# Postfix modes skipped (need postfix and root)"
	exit 0
}
ma_init 32-reinject-smuggling
ma_user_ensure reinject || ma_skip "cannot create user reinject"

# start_reinject NAME PORT DOWNSTREAM - a reinject with default DATA settings
start_reinject() {
	mkdir -p "$MA_TMP/$1-spool"
	chown reinject "$MA_TMP/$1-spool"
	cat >"$MA_TMP/$1.conf" <<EOC
listen = 127.0.0.1:$2 verify, 127.0.0.1:$(($2 + 1)) sign
downstream = 127.0.0.1:$3
myhostname = filter.mailauth.example
user = reinject
spool_directory = $MA_TMP/$1-spool
worker_processes = 2
syslog = no
internal_hosts =
dmarc_enable = no
EOC
	ma_bg "$1" "$REINJECT" -c "$MA_TMP/$1.conf" -e
	ma_wait_port "$2" || ma_fail "reinject $1 not listening on $2"
}

# --- one Postfix: a public smtpd with the content_filter, one with the proxy --------
start_reinject aq 21312 21314
start_reinject px 21322 21324
ma_postfix_create pf 21310 21311
ma_postfix_content_filter pf 21312 21314 10
ma_postconf pf "smtpd_forbid_bare_newline = normalize" \
	"smtpd_forbid_bare_newline_exclusions =" "smtpd_error_sleep_time = 0"
ma_postfix_master pf \
	"127.0.0.1:21320 inet n - n - - smtpd" \
	"  -o smtpd_proxy_filter=127.0.0.1:21322" \
	"  -o content_filter=" \
	"127.0.0.1:21324 inet n - n - - smtpd" \
	"  -o syslog_name=postfix/reinject-proxy" \
	"  -o smtpd_proxy_filter=" \
	"  -o content_filter=" \
	"  -o receive_override_options=no_unknown_recipient_checks" \
	"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8" \
	"  -o smtpd_recipient_restrictions=permit_mynetworks,reject" \
	"  -o mynetworks=127.0.0.0/8"
ma_postfix_start pf
ma_wait_port 21314 || ma_fail "re-injection smtpd not listening on 21314"
ma_wait_port 21320 || ma_fail "proxy smtpd not listening on 21320"
ma_wait_port 21324 || ma_fail "downstream smtpd not listening on 21324"

# --- 2. after the queue (content_filter) ----------------------------------------
"$PY" "$HERE/32-reinject-smuggling.py" postfix 21310 21311 "Postfix after-queue" 0 ||
	ma_fail "Postfix after-queue"
ma_ok "smuggling matrix through Postfix with reinject as content_filter"

# --- 3. before the queue (smtpd_proxy_filter) -------------------------------------
"$PY" "$HERE/32-reinject-smuggling.py" postfix 21320 21311 "Postfix proxy" 10000 ||
	ma_fail "Postfix proxy"
ma_ok "smuggling matrix through Postfix with reinject as smtpd_proxy_filter"
ma_postfix_queue_empty pf || ma_fail "mail left in Postfix's queue"
ma_ok "Postfix queue empty"
cat "$MA_TMP"/aq.log "$MA_TMP"/px.log >"$MA_TMP/reinject-all.log"
ma_assert_no_grep 'Sanitizer|runtime error|panic' "$MA_TMP/reinject-all.log" \
	"no sanitizer report or panic in reinject's logs"
