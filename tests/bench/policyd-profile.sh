#!/bin/bash
# policyd-profile.sh - where policyd's CPU time goes when SPF is evaluated on
# every request: system calls, heap calls and CPU time per request, and a
# sampled profile by library and by function.
#
#   tests/bench/policyd-profile.sh [-c CONNS] [-d SECONDS] [-w WARMUP]
#                                  [-W WORKERS] [-S] [-o DIR] [BUILD_DIR]
#
# Starts a private unbound with the data of tests/bench/policyd-zone.sh and
# policyd with cache_ttl = 0 (BUILD_DIR/policyd/policyd, under LD_PRELOAD of
# BUILD_DIR/tests/bench/malloc_count.so), then loads it with policy_load's
# spf stream (CONNS (20) connections, a fresh client address and one
# recipient per transaction: every request is an SPF evaluation whose DNS
# answers come from the resolver's warm cache).  After WARMUP (3) seconds it
# measures SECONDS (5) seconds three times, one after the other:
#   1. perf stat (raw_syscalls:sys_enter, task-clock) and malloc_count's
#      counters of policyd's processes; the requests are the verdict lines
#      policyd logged meanwhile;
#   2. perf record (cpu-clock samples, DWARF call graphs), reported by shared
#      object and by function;
#   3. with -S, strace -c -f (slows policyd down: its counts, not its times,
#      are what to read).
# Prints the reports, then one line for scripts:
#   policyd-profile cpu_us_per_req=.. syscalls_per_req=.. mallocs_per_req=..
#     frees_per_req=.. requests=..
# (mallocs = malloc + calloc + realloc calls).  -o DIR keeps perf.data and
# the logs there.  Run it in a network namespace of its own (as root):
#   unshare -n sh -c 'ip link set lo up && tests/bench/policyd-profile.sh build'
# This machine has no hardware counters (a VM): perf samples cpu-clock.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"

CONNS=20
SECONDS_RUN=5
WARMUP=3
WORKERS=1
STRACE=0
OUT=
while getopts c:d:w:W:So: ch; do
	case $ch in
	c) CONNS=$OPTARG ;;
	d) SECONDS_RUN=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	W) WORKERS=$OPTARG ;;
	S) STRACE=1 ;;
	o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-c conns] [-d seconds] [-w warmup] [-W workers] [-S] [-o dir] [build_dir]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BUILD=${1:-${MAILAUTH_BUILD:-$SRC/build}}
BUILD=$(cd "$BUILD" && pwd) || exit 2
POLICYD=$BUILD/policyd/policyd
LOAD=$BUILD/tests/bench/policy_load
MCOUNT=$BUILD/tests/bench/malloc_count.so
PORT_DNS=20500-20519
PORT_POLICYD=20520

for f in "$POLICYD" "$LOAD" "$MCOUNT"; do
	[ -e "$f" ] || { echo "no $f: build first" >&2; exit 2; }
done
ma_require_root
ma_require_cmd perf /usr/sbin/unbound
[ $STRACE = 0 ] || ma_require_cmd strace
ma_init profile
[ -z "$OUT" ] || mkdir -p "$OUT" || exit 2
OUT=${OUT:-$MA_TMP}

# prof_pids - policyd's processes (the master and its workers)
prof_pids() {
	local pid
	pid=$(ma_bg_pid policyd)
	echo "$pid" $(pgrep -P "$pid")
}

# prof_requests - verdict lines logged so far
prof_requests() {
	grep -c 'spf verdict' "$MA_TMP/policyd.log"
}

# prof_heap - sum of one counter over the last malloc_count report of each pid
prof_heap() {
	grep '^malloc_count:' "$MA_TMP/policyd.log" | tail -n "$2" |
		sed -n "s/.* $1=\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

"$HERE/policyd-zone.sh" 20 >"$MA_TMP/bench.zone"
ma_dns_start dns "$PORT_DNS" "$MA_TMP/bench.zone"
ma_user_ensure mailauth || ma_fail "cannot create user mailauth"
cat >"$MA_TMP/policyd.conf" <<EOF
listen = inet:127.0.0.1:$PORT_POLICYD
dns_forwarders = 127.0.0.1@$MA_DNS_PORT
user = mailauth
worker_processes = $WORKERS
cache_ttl = 0
EOF
ma_bg policyd env LD_PRELOAD="$MCOUNT" "$POLICYD" -f -c "$MA_TMP/policyd.conf"
ma_wait_port $PORT_POLICYD || ma_fail "policyd did not listen"
sleep 0.5
PIDS=$(prof_pids)
NPIDS=$(wc -w <<<"$PIDS")

"$LOAD" -c "$CONNS" -w "$WARMUP" -d $((SECONDS_RUN * (2 + STRACE) + 2)) -u -r 1 \
	-n policyd "127.0.0.1:$PORT_POLICYD" >"$MA_TMP/load.out" 2>&1 &
LOADPID=$!
sleep $((WARMUP + 1))

# 1. counts per request
r0=$(prof_requests)
kill -USR2 $PIDS
sleep 0.1
m0=$(( $(prof_heap malloc "$NPIDS") + $(prof_heap calloc "$NPIDS") + $(prof_heap realloc "$NPIDS") ))
f0=$(prof_heap free "$NPIDS")
perf stat -x, -e raw_syscalls:sys_enter,task-clock -p "${PIDS// /,}" \
	-o "$OUT/perf-stat.txt" -- sleep "$SECONDS_RUN"
kill -USR2 $PIDS
sleep 0.1
r1=$(prof_requests)
m1=$(( $(prof_heap malloc "$NPIDS") + $(prof_heap calloc "$NPIDS") + $(prof_heap realloc "$NPIDS") ))
f1=$(prof_heap free "$NPIDS")
sc=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$OUT/perf-stat.txt")
ms=$(awk -F, '/task-clock/ { print $1 }' "$OUT/perf-stat.txt")

# 2. sampled profile
perf record -q --call-graph dwarf,8192 -F 1000 -p "${PIDS// /,}" -o "$OUT/perf.data" -- sleep "$SECONDS_RUN" \
	2>/dev/null
echo "== perf: share of policyd's samples by shared object"
perf report -i "$OUT/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
	grep -v '^#' | grep '%' | head -n 12
echo "== perf: functions (self), top 40"
perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null |
	grep -v '^#' | grep '%' | head -n 40

# 3. system calls by name
if [ $STRACE = 1 ]; then
	s0=$(prof_requests)
	timeout -s INT "$SECONDS_RUN" strace -c -f -o "$OUT/strace.txt" \
		$(printf -- '-p %s ' $PIDS) 2>/dev/null
	s1=$(prof_requests)
	echo "== strace -c -f over $((s1 - s0)) requests"
	cat "$OUT/strace.txt"
fi
wait "$LOADPID"
echo "== load: $(cat "$MA_TMP/load.out")"
awk -v n=$((r1 - r0)) -v sc="$sc" -v ms="$ms" -v m=$((m1 - m0)) -v f=$((f1 - f0)) \
	'BEGIN { if (n <= 0) exit 1
		printf "policyd-profile cpu_us_per_req=%.1f syscalls_per_req=%.2f mallocs_per_req=%.1f frees_per_req=%.1f requests=%d\n",
			ms * 1000 / n, sc / n, m / n, f / n, n }' ||
	ma_fail "no requests answered while measuring"
