#!/bin/bash
# milter-bench.sh - reinject's milter listener end to end through a private
# Postfix (smtpd_milters), side by side in one run with Postfix alone, the
# milter protocol's ceiling (tests/bench/milter_noop.c: a libmilter filter
# that checks nothing and negotiates the same steps and no-reply flags),
# reinject's after-queue content_filter and smtpd_proxy_filter modes, the
# OpenDKIM milter verifying and signing the same mail, and the seed stack
# it replaces: Postfix + pypolicyd-spf (postfix-policyd-spf-python) as
# check_policy_service + the OpenDKIM milter + the OpenDMARC milter.
#
#   tests/bench/milter-bench.sh [BUILD_DIR]      (as root; ports 20850-20889)
#
# It runs in a network namespace of its own (it re-executes itself under
# unshare -n): everything listens on that namespace's loopback.  The
# resolver address of /etc/resolv.conf (the file is only read) is added to
# that loopback and the private unbound answers on it, port 53, so OpenDMARC
# and pypolicyd-spf, which resolve through resolv.conf, reach the same
# private DNS data as reinject; the machine's resolver is never asked.
#
# Environment: NE messages per run (1000), S parallel sessions (20),
# W reinject worker_processes (2), E2E_ROUNDS rounds (3), MODES the rows
# to run (default all: alone ceiling milter-verify milter-sign
# content-filter proxy opendkim-verify opendkim-sign seed).  Postfix alone
# and the ceiling always run.  4 KiB messages, dkimpy-signed for the verify
# rows, unsigned for the sign rows; the load comes from 127.0.0.1, which the
# verify setups do not treat as internal (OpenDMARC's IgnoreHosts and
# pypolicyd-spf's skip_addresses are set so they check it too).
#
# Output (stable, parsed by tests/bench/run-all.sh):
#   "# loadavg ..."                                       before and after
#   "end to end, round R, LABEL: RATE msg/s (N delivered)"  one per run
#   "# end to end, 4 KiB, median of K round(s): ..."      table header
#   "LABEL<spaces> RATE msg/s PCT% PCT%"                  one per row: the
#       median msg/s, % of Postfix alone, % of the milter ceiling
#   "ratio: reinject milter verify / seed stack: X.XX"    when both ran
set -u
if [ -z "${BENCH_NETNS:-}" ]; then
	exec env BENCH_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
BUILD=$(cd "${1:-build}" && pwd)
BENCH_SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$BENCH_SRC/tests/integration/lib.sh"
. "$BENCH_SRC/tests/bench/bench-lib.sh"

ma_require_cmd postfix postconf /usr/sbin/smtp-sink opendkim openssl
ma_require_root
PY=/usr/bin/python3
"$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
REINJECT=$BUILD/reinject/reinject
NOOP=$BUILD/tests/bench/milter_noop
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
[ -x "$NOOP" ] || ma_skip "$NOOP not built (libmilter-dev missing?)"
ma_init milter-bench
NE=${NE:-1000}
S=${S:-20}
W=${W:-2}
MODES=${MODES:-alone ceiling milter-verify milter-sign content-filter proxy opendkim-verify opendkim-sign seed}
mode_on() { case " always $MODES " in *" $1 "*) return 0 ;; esac; return 1; }
SEED=0
if mode_on seed; then
	if command -v opendmarc >/dev/null && [ -x /usr/bin/policyd-spf ]; then
		SEED=1
	else
		echo "# seed stack skipped: opendmarc or policyd-spf (postfix-policyd-spf-python) missing"
	fi
fi

PF_SMTPD=20850
PF_SINK=20851
PF_BACK=20852
FILTER=20853
ODKIM=20855		# +1 signing
ODMARC=20857
PYSPF=20858

# --- key, DNS (port 53 on the namespace's resolver address), messages ----------
ns=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
case $ns in
*.*.*.*) case $ns in 127.*) ;; *) ip addr add "$ns/32" dev lo ;; esac ;;
*) ns=127.0.0.1 ;;
esac
if [ "$ns" = 127.0.0.1 ]; then
	bench_key_dns 53 'example.org. TXT "v=spf1 ip4:127.0.0.1 -all"'
else
	bench_key_dns 53 'example.org. TXT "v=spf1 ip4:127.0.0.1 -all"' \
	    "interface: $ns" "access-control: $ns/32 allow"
fi
bench_msg_make 4096 1 "$MA_TMP/signed.eml"
bench_msg_make 4096 0 "$MA_TMP/plain.eml"

# --- filters -------------------------------------------------------------------
reinject_conf() {	# reinject_conf NAME LISTEN INTERNAL
	cat >"$MA_TMP/$1.conf" <<EOF
listen = $2
downstream = 127.0.0.1:$PF_BACK
authserv_id = mx.bench.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = $W
syslog = no
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts = $3
dns_forwarders = 127.0.0.1@$dnsport
EOF
}
mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
# verify: an SMTP listener (content_filter, proxy) and a milter listener,
# no internal hosts; sign: a milter listener with the load's 127.0.0.1 internal
reinject_conf verify "127.0.0.1:$FILTER verify, unix:$MA_TMP/verify.sock milter" ""
reinject_conf sign "unix:$MA_TMP/sign.sock milter" "127.0.0.1"
ma_bg rverify "$REINJECT" -c "$MA_TMP/verify.conf" -e
ma_bg rsign "$REINJECT" -c "$MA_TMP/sign.conf" -e
ma_bg noop "$NOOP" "unix:$MA_TMP/noop.sock"
ma_wait_port $FILTER || ma_fail "reinject did not start"
ma_wait_for 10 test -S "$MA_TMP/sign.sock" || ma_fail "reinject (sign) did not start"
ma_wait_for 10 test -S "$MA_TMP/noop.sock" || ma_fail "milter_noop did not start"
chmod 666 "$MA_TMP/noop.sock"
# opendkim refuses a key below a world-writable directory (/tmp)
odir=$(mktemp -d /run/milter-bench.XXXXXX)
BENCH_ODIR=$odir
chmod 700 "$odir"
mv "$MA_TMP/opendkim.key" "$odir/opendkim.key"
# the key for verification from a file (OpenDKIM's TestPublicKeys), as its
# resolver cannot be pointed at the private DNS server's port
echo "sel._domainkey.example.org $txt" >"$odir/keys"
port=$ODKIM
for mode in v s; do
	cat >"$odir/opendkim-$mode.conf" <<EOF
Syslog no
Mode $mode
Domain example.org
Selector sel
KeyFile $odir/opendkim.key
Canonicalization relaxed/relaxed
Socket inet:$port@127.0.0.1
PidFile $odir/opendkim-$mode.pid
InternalHosts $([ $mode = s ] && echo 127.0.0.1 || echo 192.0.2.255)
AuthservID mx.bench.example
TestPublicKeys $odir/keys
EOF
	port=$((port + 1))
done
ma_bg odkimv opendkim -f -x "$odir/opendkim-v.conf"
ma_bg odkims opendkim -f -x "$odir/opendkim-s.conf"
ma_wait_port $ODKIM || ma_fail "opendkim (verify) did not start"
ma_wait_port $((ODKIM + 1)) || ma_fail "opendkim (sign) did not start"
# the seed stack's OpenDMARC: trusts OpenDKIM's A-R (same authserv-id),
# takes SPF from pypolicyd-spf's Received-SPF, rejects nothing
if [ $SEED = 1 ]; then
	echo 192.0.2.255 >"$odir/ignore"
	cat >"$odir/opendmarc.conf" <<EOF
Syslog false
Socket inet:$ODMARC@127.0.0.1
PidFile $odir/opendmarc.pid
AuthservID mx.bench.example
TrustedAuthservIDs mx.bench.example
IgnoreHosts $odir/ignore
IgnoreAuthenticatedClients true
RejectFailures false
FailureReports false
SPFIgnoreResults false
SPFSelfValidate false
EOF
	ma_bg odmarc opendmarc -f -c "$odir/opendmarc.conf"
	ma_wait_port $ODMARC || ma_fail "opendmarc did not start"
fi

# --- Postfix ---------------------------------------------------------------------
bench_pf_setup $PF_SMTPD $PF_SINK $PF_BACK $FILTER 20
if [ $SEED = 1 ]; then
	# pypolicyd-spf as Debian documents it: one process per connection from
	# spawn(8); its own configuration so the load's 127.0.0.1 is checked
	mkdir -p "$MA_TMP/pyspf"
	cat >"$MA_TMP/pyspf/policyd-spf.conf" <<EOF
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.255/32
EOF
	chmod -R a+rX "$MA_TMP/pyspf"
	ma_postfix_master pf \
		"127.0.0.1:$PYSPF inet n n n - 0 spawn" \
		"  user=nobody argv=/usr/bin/policyd-spf $MA_TMP/pyspf/policyd-spf.conf"
	postfix -c "$pfdir" reload >/dev/null 2>&1
	ma_wait_port $PYSPF || ma_fail "policyd-spf spawn service not listening"
fi

# seed_check - one message through the seed stack to a dumping sink: it must
# carry pypolicyd-spf's Received-SPF pass, OpenDKIM's dkim=pass and
# OpenDMARC's dmarc=pass, or the figures would measure a stack doing nothing
seed_check() {
	local f
	ma_sink_start check $((PYSPF + 1))
	postconf -c "$pfdir" -e "relay_transport = smtp:[127.0.0.1]:$((PYSPF + 1))"
	bench_pf_mode "" "inet:127.0.0.1:$ODKIM, inet:127.0.0.1:$ODMARC" "" \
	    "check_policy_service inet:127.0.0.1:$PYSPF"
	bench_load $PF_SMTPD "$MA_TMP/signed.eml" 1 1 >/dev/null
	ma_sink_wait check 1 60 || ma_fail "seed stack: the check message was not delivered"
	# the header section, folded lines joined
	sed -n '/^$/q;p' "$(ma_sink_files check | head -1)" |
	    sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g' >"$MA_TMP/check.hdr"
	f=$MA_TMP/check.hdr
	grep -q '^Received-SPF: Pass' "$f" || ma_fail "seed stack: no Received-SPF: Pass: $(cat "$f")"
	grep -q '^Authentication-Results: mx.bench.example;.*dkim=pass' "$f" ||
		ma_fail "seed stack: no dkim=pass from OpenDKIM: $(cat "$f")"
	grep -q '^Authentication-Results: mx.bench.example;.*dmarc=pass' "$f" ||
		ma_fail "seed stack: no dmarc=pass from OpenDMARC: $(cat "$f")"
	echo "# seed stack check: Received-SPF: Pass, dkim=pass, dmarc=pass in the delivered copy"
	postconf -c "$pfdir" -e "relay_transport = smtp:[127.0.0.1]:$PF_SINK"
	ma_bg_stop check-sink
}
[ $SEED = 1 ] && seed_check

declare -A RATES
ROWS=()
# e2e LABEL FILE - NE messages into Postfix; rate until all reach the sink
e2e() {
	local before t0 t1 n rate
	bench_mark_log
	before=$(bench_delivered)
	bench_load $PF_SMTPD "$2" $((NE / 5)) $S >/dev/null	# warm-up
	ma_wait_for 300 eval '[ $(( $(bench_delivered) - before )) -ge '"$((NE / 5))"' ]'
	bench_mark_log
	before=$(bench_delivered)
	t0=$(date +%s.%N)
	bench_load $PF_SMTPD "$2" "$NE" $S >/dev/null
	ma_wait_for 300 eval '[ $(( $(bench_delivered) - before )) -ge '"$NE"' ]'
	t1=$(date +%s.%N)
	n=$(( $(bench_delivered) - before ))
	rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "end to end, round $round, $1: $rate msg/s ($n delivered)"
	RATES[$1]="${RATES[$1]:-} $rate"
	[ "$round" = 1 ] && ROWS+=("$1")
}
# row MODE LABEL FILE CONTENT_FILTER MILTERS [PROXY [RCPT_RESTRICTIONS]]
row() {
	mode_on "$1" || return 0
	bench_pf_mode "$4" "$5" "${6:-}" "${7:-}"
	e2e "$2" "$3"
}

L_ALONE="Postfix alone"
L_CEIL="milter ceiling (libmilter no-op, same flags)"
L_MV="reinject milter verify"
L_SEED="seed stack (policyd-spf + OpenDKIM + OpenDMARC milters)"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# NE=$NE messages of 4 KiB, S=$S sessions, reinject worker_processes=$W"
echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: other work runs beside the figures)"
for ((round = 1; round <= ${E2E_ROUNDS:-3}; round++)); do
	row always "$L_ALONE" "$MA_TMP/signed.eml" "" ""
	row always "$L_CEIL" "$MA_TMP/signed.eml" "" "unix:$MA_TMP/noop.sock"
	row milter-verify "$L_MV" "$MA_TMP/signed.eml" "" "unix:$MA_TMP/verify.sock"
	[ $SEED = 1 ] && row seed "$L_SEED" "$MA_TMP/signed.eml" "" \
	    "inet:127.0.0.1:$ODKIM, inet:127.0.0.1:$ODMARC" "" \
	    "check_policy_service inet:127.0.0.1:$PYSPF"
	row milter-sign "reinject milter sign" "$MA_TMP/plain.eml" "" "unix:$MA_TMP/sign.sock"
	row content-filter "reinject verify (after-queue content_filter)" "$MA_TMP/signed.eml" \
	    "scan:[127.0.0.1]:$FILTER" ""
	row proxy "reinject verify (smtpd_proxy_filter)" "$MA_TMP/signed.eml" "" "" "127.0.0.1:$FILTER"
	row opendkim-verify "OpenDKIM milter verify" "$MA_TMP/signed.eml" "" "inet:127.0.0.1:$ODKIM"
	row opendkim-sign "OpenDKIM milter sign" "$MA_TMP/plain.eml" "" "inet:127.0.0.1:$((ODKIM + 1))"
done
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$odir"

alone=$(bench_median "$L_ALONE")
ceiling=$(bench_median "$L_CEIL")
echo "# end to end, 4 KiB, median of ${E2E_ROUNDS:-3} round(s): msg/s, % of Postfix alone, % of the milter ceiling"
for label in "${ROWS[@]}"; do
	m=$(bench_median "$label")
	awk -v l="$label" -v m="$m" -v a="$alone" -v c="$ceiling" \
	    'BEGIN { printf "%-56s %6.0f msg/s %5.0f%% %5.0f%%\n", l, m, 100 * m / a, 100 * m / c }'
done
if [ -n "${RATES[$L_MV]:-}" ] && [ -n "${RATES[$L_SEED]:-}" ]; then
	awk -v a="$(bench_median "$L_MV")" -v b="$(bench_median "$L_SEED")" \
	    'BEGIN { printf "ratio: reinject milter verify / seed stack: %.2f\n", a / b }'
fi
