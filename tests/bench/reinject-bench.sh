#!/bin/bash
# reinject-bench.sh - throughput of reinject alone and end to end through a
# private Postfix, side by side with Postfix alone and Postfix + the OpenDKIM
# milter signing the same mail; peak RSS with a 50 MiB message.
#
#   tests/bench/reinject-bench.sh [BUILD_DIR]      (as root; ports 20800-20899)
#
# Environment: N messages per run (2000), S parallel sessions (8),
# W reinject worker_processes (2), NE messages per end-to-end run (2000),
# E2E_ROUNDS rounds of the end-to-end setups (3), PARTS the parts to run
# ("alone rss e2e"; "report" compares DMARC reporting off and on).
# Prints one line per measurement; tests/bench/README.md records a run.
set -u
BUILD=$(cd "${1:-build}" && pwd)
BENCH_SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$BENCH_SRC/tests/integration/lib.sh"
. "$BENCH_SRC/tests/bench/bench-lib.sh"

ma_require_cmd postfix postconf /usr/sbin/smtp-sink /usr/sbin/smtp-source opendkim openssl
ma_require_root
PY=/usr/bin/python3
"$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
ma_init reinject-bench
N=${N:-2000}
S=${S:-8}
W=${W:-2}
NE=${NE:-2000}

SINK=20801
FILTER=20802		# verify listener; +1 sign
PF_SMTPD=20810
PF_SINK=20811
PF_BACK=20812
MILTER=20813

# --- key, DNS, messages -------------------------------------------------------
bench_key_dns 20890-20899
for sz in 4096 102400; do
	bench_msg_make $sz 1 "$MA_TMP/signed-$sz.eml"
	bench_msg_make $sz 0 "$MA_TMP/plain-$sz.eml"
done
load() { bench_load "$@"; }

# load_ss PORT FILE COUNT SESSIONS - the same with Postfix's smtp-source (one
# process, -d: sessions kept, no PIPELINING: each command waits for its
# reply); the file goes with LF line ends, smtp-source sends CRLF
load_ss() {
	local t0 t1
	[ -f "$2.lf" ] || tr -d '\r' <"$2" >"$2.lf"
	t0=$(date +%s.%N)
	/usr/sbin/smtp-source -d -s "$4" -m "$3" -f alice@example.org -t bob@example.net \
	    -M bench.example -F "$2.lf" "127.0.0.1:$1" || echo -n "(smtp-source failed) "
	t1=$(date +%s.%N)
	awk -v n="$3" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f msg/s\n", n / (b - a) }'
}

# cpu_snap PID - CPU time (user + system, clock ticks) of PID and its
# children.  Per process, so threads that ended (the milter's, one per
# connection) still count; the kernel derives it from the scheduler's run
# time, while the machine-wide /proc/stat figure (busy) is tick samples.
cpu_snap() {
	local p t=0
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
# cpu_us_since SNAP PID COUNT - CPU microseconds per message of PID since SNAP
cpu_us_since() {
	echo $(( ($(cpu_snap "$2") - $(cat "$1")) * 1000000 / HZ / $3 ))
}
HZ=$(getconf CLK_TCK)
# measure LABEL PID COUNT CMD... - run CMD, print its output with PID's CPU per message
measure() {
	local label=$1 pid=$2 count=$3 out
	shift 3
	cpu_snap "$pid" >"$MA_TMP/cpu.snap"
	out=$("$@")
	echo "$label: $out, $(cpu_us_since "$MA_TMP/cpu.snap" "$pid" "$count") CPU us/msg"
}

reinject_conf() {	# reinject_conf DOWNSTREAM WORKERS
	cat >"$MA_TMP/reinject.conf" <<EOF
listen = 127.0.0.1:$FILTER verify, 127.0.0.1:$((FILTER + 1)) sign
downstream = 127.0.0.1:$1
authserv_id = mx.bench.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = $2
syslog = no
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts =
dns_forwarders = 127.0.0.1@$dnsport
EOF
}
reinject_start() {
	ma_bg reinject "$REINJECT" -c "$MA_TMP/reinject.conf" -e
	ma_wait_port $FILTER || ma_fail "reinject did not start"
}
reinject_stop() {
	ma_bg_stop reinject
	ma_wait_for 5 eval '! ma_port_busy $FILTER'
}

mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# N=$N messages, S=$S sessions, reinject worker_processes=$W"

# PARTS (default "alone rss e2e") selects what runs
PARTS=${PARTS:-alone rss e2e}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# --- 1. reinject alone: smtp-sink downstream ---------------------------------
if part alone; then
	ma_bg sink /usr/sbin/smtp-sink -u postfix 127.0.0.1:$SINK 256
	ma_wait_port $SINK
	for w in $W 1; do
		reinject_conf $SINK $w
		reinject_start
		for sz in 4096 102400; do
			n=$N
			[ $sz = 102400 ] && n=$((N / 2))
			load $FILTER "$MA_TMP/plain-$sz.eml" $((n / 4)) $S >/dev/null	# warm-up
			measure "reinject alone, workers=$w, verify (dkimpy-signed), $((sz / 1024)) KiB" \
			    "$(ma_bg_pid reinject)" $n load $FILTER "$MA_TMP/signed-$sz.eml" $n $S
			measure "reinject alone, workers=$w, sign rsa-2048, $((sz / 1024)) KiB" \
			    "$(ma_bg_pid reinject)" $n load $((FILTER + 1)) "$MA_TMP/plain-$sz.eml" $n $S
			[ $w = $W ] || continue
			measure "reinject alone, workers=$w, verify (dkimpy-signed), $((sz / 1024)) KiB, smtp-source" \
			    "$(ma_bg_pid reinject)" $n load_ss $FILTER "$MA_TMP/signed-$sz.eml" $n $S
			measure "reinject alone, workers=$w, sign rsa-2048, $((sz / 1024)) KiB, smtp-source" \
			    "$(ma_bg_pid reinject)" $n load_ss $((FILTER + 1)) "$MA_TMP/plain-$sz.eml" $n $S
		done
		reinject_stop
	done
	echo "smtp-sink alone (no filter), 4 KiB: $(load $SINK "$MA_TMP/plain-4096.eml" $N $S)"
	echo "smtp-sink alone (no filter), 4 KiB, smtp-source: $(load_ss $SINK "$MA_TMP/plain-4096.eml" $N $S)"
fi

# --- 1b. DMARC reporting off and on: verify throughput, rounds alternating -----
# (PARTS=report; not in the default set: the store's writer adds work per
# message that the figures above should not include)
if part report; then
	mkdir -p "$MA_TMP/reports"
	chown reinject "$MA_TMP/reports"
	ma_bg_alive sink || { ma_bg sink /usr/sbin/smtp-sink -u postfix 127.0.0.1:$SINK 256; ma_wait_port $SINK; }
	for round in 1 2 3; do
		for rep in no yes; do
			reinject_conf $SINK $W
			{
				echo "report_enable = $rep"
				echo "report_store = $MA_TMP/reports/bench.db"
				echo "report_spool_file = $MA_TMP/reports/bench.spool"
			} >>"$MA_TMP/reinject.conf"
			reinject_start
			load $FILTER "$MA_TMP/signed-4096.eml" $((N / 4)) $S >/dev/null	# warm-up
			measure "round $round, report_enable=$rep, workers=$W, verify (dkimpy-signed), 4 KiB" \
			    "$(ma_bg_pid reinject)" $N load $FILTER "$MA_TMP/signed-4096.eml" $N $S
			reinject_stop
		done
	done
	echo "report store rows: $(sqlite3 "$MA_TMP/reports/bench.db" 'SELECT count(*) FROM record')"
fi

# --- 2. peak RSS with a 50 MiB message ----------------------------------------
if part rss; then
	reinject_conf $SINK 1
	reinject_start
	wpid=$(pgrep -P "$(ma_bg_pid reinject)" | head -1)
	rss0=$(awk '/^VmRSS/ { print $2 }' /proc/$wpid/status)
	bench_msg_make $((50 * 1024 * 1024)) 0 "$MA_TMP/big.eml"
	load $FILTER "$MA_TMP/big.eml" 1 1 >/dev/null
	hwm=$(awk '/^VmHWM/ { print $2 }' /proc/$wpid/status)
	echo "peak RSS, 50 MiB message (verify): worker RSS before ${rss0} KiB, peak ${hwm} KiB, growth $(((hwm - rss0) / 1024)) MiB"
	reinject_stop
	ma_bg_stop sink
fi

# --- 3. end to end through Postfix --------------------------------------------
part e2e || exit 0
bench_pf_setup $PF_SMTPD $PF_SINK $PF_BACK $FILTER 20
# busy - CPU time (clock ticks) the whole machine spent outside idle and
# iowait: tick samples, fair when the machine is saturated, low when it is
# mostly idle and busy in short bursts (the milter row)
busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
# e2e LABEL FILE [PID] - submit NE messages to Postfix, time until all reach
# the sink; the whole machine's CPU time per message (Postfix, the load
# generator, the filter, smtp-sink), and with PID that filter's own
e2e() {
	local before t0 t1 n b0 cpu="" rate
	# warm-up: the reload's new processes start, connections get cached
	bench_mark_log
	before=$(bench_delivered)
	load $PF_SMTPD "$2" $((NE / 5)) $S >/dev/null
	ma_wait_for 300 eval '[ $(( $(bench_delivered) - before )) -ge '"$((NE / 5))"' ]'
	[ -n "${3:-}" ] && cpu_snap "$3" >"$MA_TMP/cpu.snap"
	bench_mark_log
	before=$(bench_delivered)
	b0=$(busy)
	t0=$(date +%s.%N)
	load $PF_SMTPD "$2" "$NE" $S >/dev/null
	ma_wait_for 300 eval '[ $(( $(bench_delivered) - before )) -ge '"$NE"' ]'
	t1=$(date +%s.%N)
	n=$(( $(bench_delivered) - before ))
	[ -n "${3:-}" ] && cpu=", filter $(cpu_us_since "$MA_TMP/cpu.snap" "$3" "$n") CPU us/msg"
	rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "end to end, round $round, $1: $rate msg/s ($n delivered, machine $(( ($(busy) - b0) * 1000000 / HZ / n )) CPU us/msg$cpu)"
	RATES[$1]="${RATES[$1]:-} $rate"
	ROWS+=("$1")
}
pf_mode() { bench_pf_mode "$@"; }
# the OpenDKIM milter: opendkim refuses a configuration or key below a
# world-writable directory (/tmp), so it gets a root-only one
odir=$(mktemp -d /run/reinject-bench.XXXXXX)
BENCH_ODIR=$odir
chmod 700 "$odir"
mv "$MA_TMP/opendkim.key" "$odir/opendkim.key"
cat >"$odir/opendkim.conf" <<EOF
Syslog no
Mode s
Domain example.org
Selector sel
KeyFile $odir/opendkim.key
Canonicalization relaxed/relaxed
Socket inet:$MILTER@127.0.0.1
PidFile $odir/opendkim.pid
InternalHosts 127.0.0.1
EOF
ma_bg opendkim opendkim -f -x "$odir/opendkim.conf"
ma_wait_port $MILTER || ma_fail "opendkim did not start"
reinject_conf $PF_BACK $W
reinject_start

# E2E_ROUNDS rounds (3) of every setup in turn; then the median of each
declare -A RATES
ROWS=()
for ((round = 1; round <= ${E2E_ROUNDS:-3}; round++)); do
	pf_mode "" ""
	e2e "Postfix alone" "$MA_TMP/signed-4096.eml"
	# the after-queue wiring with nothing in between: the scan transport
	# delivers straight to the re-injection smtpd, so Postfix queues each
	# message twice as with a filter; what any after-queue content_filter
	# can reach at best
	pf_mode "scan:[127.0.0.1]:$PF_BACK" ""
	e2e "after-queue wiring without a filter" "$MA_TMP/signed-4096.eml"
	pf_mode "scan:[127.0.0.1]:$FILTER" ""
	e2e "Postfix + reinject verify (content_filter)" "$MA_TMP/signed-4096.eml" "$(ma_bg_pid reinject)"
	pf_mode "scan:[127.0.0.1]:$((FILTER + 1))" ""
	e2e "Postfix + reinject sign (content_filter)" "$MA_TMP/plain-4096.eml" "$(ma_bg_pid reinject)"
	# before the queue (master.cf.reinject-proxy): the public smtpd relays
	# the session to reinject, whose downstream is the re-injection smtpd;
	# Postfix queues each message once
	pf_mode "" "" "127.0.0.1:$FILTER"
	e2e "Postfix + reinject verify (smtpd_proxy_filter)" "$MA_TMP/signed-4096.eml" "$(ma_bg_pid reinject)"
	pf_mode "" "inet:127.0.0.1:$MILTER"
	e2e "Postfix + OpenDKIM milter sign" "$MA_TMP/plain-4096.eml" "$(ma_bg_pid opendkim)"
done
ma_bg_stop opendkim
rm -rf "$odir"
reinject_stop

median() { bench_median "$1"; }
alone=$(median "Postfix alone")
wiring=$(median "after-queue wiring without a filter")
echo "# end to end, 4 KiB, median of ${E2E_ROUNDS:-3} rounds: msg/s, % of Postfix alone, % of the after-queue wiring without a filter"
for label in "${ROWS[@]:0:6}"; do
	m=$(median "$label")
	awk -v l="$label" -v m="$m" -v a="$alone" -v w="$wiring" -v r="${RATES[$label]}" \
	    'BEGIN { printf "%s: %.0f msg/s (rounds:%s), %.0f%% of Postfix alone, %.0f%% of the wiring\n", l, m, r, 100 * m / a, 100 * m / w }'
done
