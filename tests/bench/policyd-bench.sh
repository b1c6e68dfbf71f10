#!/bin/bash
# policyd-bench.sh - requests/s and latency of policyd next to pypolicyd-spf
# (Debian's postfix-policyd-spf-python) on the same DNS data, in one run.
#
#   tests/bench/policyd-bench.sh [-c CONNS] [-d SECONDS] [-w WARMUP]
#                                [-n ROUNDS] [-s SERVERS] [-m MODES] [-W WORKERS]
#                                [-q] [-R] [-U] [BUILD_DIR]
#
# SERVERS: "policyd pypolicyd-spf floor" (default) or some of them; floor is
#    tests/bench/policy_echo, which answers DUNNO and does nothing else: the
#    kernel's and an event loop's cost of a request/reply pair on this
#    machine, the limit under any policy server's figures.
# MODES: "warm unique spf" (default) or some of them (streams below).
# -q (quick): one round, 2 s warm-up, 5 s measured (for a table of every
#    benchmark); -n, -w and -d given after it still apply.
# -R runs both servers (policyd, Postfix's master and so every spawned
#    policyd-spf), unbound and the load generator with the round-robin real-time
#    policy (chrt -r 10), the same for both, so that other work on a shared
#    machine (compilers, other tests) does not decide the figures; the
#    kernel's RT throttling still leaves that work 5% of the CPU.
# -W sets policyd's worker_processes (1, the default: one process).
# -U loads both servers over unix-domain sockets (policyd's listener in the
#    run directory; pypolicyd-spf as Debian documents it, a spawn service
#    "unix" in the instance's private/ directory) instead of TCP.
#
# Starts, all on 127.0.0.1 ports 20500-20599 and in one temp directory:
#   - a private unbound (tests/integration/dnsserver.sh) with the SPF records
#     of 20 sender domains (bench.zone, generated below),
#   - policyd (BUILD_DIR/policyd/policyd, foreground) forwarding to it,
#   - pypolicyd-spf the way Postfix runs it: a private Postfix instance whose
#     master.cf has a spawn(8) service on a TCP port, one /usr/bin/policyd-spf
#     process per connection, with Debian's policyd-spf.conf unchanged. Its
#     resolver (dnspython) is pointed at the same unbound by a
#     sitecustomize.py on PYTHONPATH: /etc/resolv.conf is not touched.
# then runs tests/bench/policy_load against each: CONNS connections (20),
# WARMUP seconds (3) then SECONDS (10) measured, in ROUNDS rounds (3) that
# alternate the servers, with two request streams:
#   warm     identities (client, HELO, sender) from a pool of 16 addresses x
#            20 domains, so policyd's result cache and every DNS cache is warm;
#   unique   a fresh client address per transaction (2 recipients each): the
#            result cache only serves the second recipient, SPF is evaluated
#            each time from policyd's warm DNS cache.
#   spf      SPF evaluated on every request: a fresh client address and one
#            recipient per transaction, against a second policyd whose
#            result cache is off (cache_ttl = 0); every DNS answer comes from
#            the resolver's warm cache (the zone's TTL is 300 s).
# Prints a side-by-side table of each server's median round (by requests/s;
# the range over the rounds next to it): requests/s, latency percentiles, and the CPU
# time the server's processes used per request (policyd: its processes;
# pypolicyd-spf: all policyd-spf processes; the shared unbound is not
# counted), which stays meaningful when other work loads the machine.
# After the table, one line per server and stream for scripts, e.g.
#   policyd mode=spf req_per_s=41000.0 p50_ms=0.420 p99_ms=0.900 cpu_us_per_req=14.1 errors=0 range=40000-42000
# (the median round; range: lowest-highest req/s over the rounds).
# Needs root (Postfix instance, privilege drop).
# Figures and the machine they came from: tests/bench/README.md.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$SRC/tests/integration/lib.sh"

CONNS=20
SECONDS_RUN=10
WARMUP=3
ROUNDS=3
SERVERS="policyd pypolicyd-spf floor"
MODES="warm unique spf"
RT=()
TRANSPORT=tcp
WORKERS=1
while getopts c:d:w:n:s:m:W:qRU ch; do
	case $ch in
	c) CONNS=$OPTARG ;;
	d) SECONDS_RUN=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	s) SERVERS=$OPTARG ;;
	m) MODES=$OPTARG ;;
	q) ROUNDS=1 WARMUP=2 SECONDS_RUN=5 ;;
	W) WORKERS=$OPTARG ;;
	R) RT=(chrt -r 10) ;;
	U) TRANSPORT=unix ;;
	*) echo "usage: $0 [-c conns] [-d seconds] [-w warmup] [-n rounds] [-s servers] [-m modes] [-W workers] [-q] [-R] [-U] [build_dir]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BUILD=${1:-${MAILAUTH_BUILD:-$SRC/build}}
BUILD=$(cd "$BUILD" && pwd) || exit 2
POLICYD=$BUILD/policyd/policyd
LOAD=$BUILD/tests/bench/policy_load
DOMAINS=20
IPS=16

PORT_DNS=20500-20519
PORT_POLICYD=20520
PORT_PYSPF=20521
PORT_PF_SMTPD=20522
PORT_PF_SINK=20523
PORT_POLICYD_NOCACHE=20524
PORT_FLOOR=20525
ECHO=$BUILD/tests/bench/policy_echo

case " $SERVERS " in
*" policyd "*) [ -x "$POLICYD" ] || { echo "no $POLICYD: build first" >&2; exit 2; } ;;
esac
[ -x "$LOAD" ] || { echo "no $LOAD: ninja -C $BUILD tests/bench/policy_load" >&2; exit 2; }
ma_require_root
ma_require_cmd postfix /usr/bin/policyd-spf /usr/sbin/unbound
ma_init bench

# bench_start_dns - private unbound with the zone
bench_start_dns() {
	"$HERE/policyd-zone.sh" $DOMAINS >"$MA_TMP/bench.zone"
	ma_dns_start dns "$PORT_DNS" "$MA_TMP/bench.zone"
	DNS_PORT=$MA_DNS_PORT
	# pypolicyd-spf asks unbound for every lookup: same policy as the servers
	[ ${#RT[@]} = 0 ] || chrt -r -a -p 10 "$(cat "$MA_TMP/dns/pid")" >/dev/null ||
		ma_fail "chrt on unbound"
}

# bench_start_policyd NAME PORT [SETTING...] - policyd in the foreground
bench_start_policyd() {
	local name=$1 port=$2
	shift 2
	ma_user_ensure mailauth || ma_fail "cannot create user mailauth"
	{
		echo "listen = inet:127.0.0.1:$port, unix:$MA_TMP/$name.sock"
		echo "dns_forwarders = 127.0.0.1@$DNS_PORT"
		echo "user = mailauth"
		echo "worker_processes = $WORKERS"
		printf '%s\n' "$@"
	} >"$MA_TMP/$name.conf"
	ma_bg "$name" "${RT[@]}" "$POLICYD" -f -c "$MA_TMP/$name.conf"
	ma_wait_port "$port" || ma_fail "$name did not listen"
}

# bench_start_pyspf - policyd-spf under a private Postfix's spawn(8)
bench_start_pyspf() {
	mkdir -p "$MA_TMP/pyspf"
	cat >"$MA_TMP/pyspf/sitecustomize.py" <<EOF
# bench only: send dnspython's default resolver to the private unbound
import dns.resolver
_r = dns.resolver.Resolver(configure=False)
_r.nameservers = ['127.0.0.1']
_r.port = $DNS_PORT
dns.resolver.default_resolver = _r
EOF
	chmod -R a+rX "$MA_TMP/pyspf"
	ma_postfix_create pf $PORT_PF_SMTPD $PORT_PF_SINK
	ma_postfix_master pf \
		"127.0.0.1:$PORT_PYSPF inet n n n - 0 spawn" \
		"  user=nobody argv=/usr/bin/env PYTHONPATH=$MA_TMP/pyspf /usr/bin/policyd-spf" \
		"policyd-spf unix - n n - 0 spawn" \
		"  user=nobody argv=/usr/bin/env PYTHONPATH=$MA_TMP/pyspf /usr/bin/policyd-spf"
	ma_postfix_start pf
	ma_wait_port $PORT_PYSPF || ma_fail "spawn service not listening"
	# spawn processes, and the policyd-spf they run, inherit the policy
	[ ${#RT[@]} = 0 ] || chrt -r -p 10 "$(ma_postfix_master_pid pf)" >/dev/null ||
		ma_fail "chrt on Postfix's master"
}

# bench_check_dns - both servers resolve through the private unbound
bench_check_dns() {
	local r
	r=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.100.1\nhelo_name=mx.s0.bench.example\nsender=a@s0.bench.example\nrecipient=r@example.net\ninstance=check.1\n\n' |
		timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; cat >&3; head -n 1 <&3")
	echo "$2: $r"
	case $r in
	*[Pp]ass*|*[Ss]oftfail*|*SoftFail*) ;;
	*) ma_fail "$2 did not resolve the bench data: $r" ;;
	esac
}

# bench_comm NAME - process name (comm) whose CPU time the run accounts
bench_comm() {
	case $1 in
	policyd) echo policyd ;;
	pypolicyd-spf) echo policyd-spf ;;
	floor) echo policy_echo ;;
	esac
}

# bench_run NAME PORT MODE ROUND - one measured run, policy_load's line
bench_run() {
	local out=$MA_TMP/$1-$3-$4.out
	local args=(-c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" -i $IPS -D $DOMAINS
		-n "$(bench_comm "$1")")
	case $3 in
	warm) args+=(-r 2) ;;
	unique) args+=(-u -r 2) ;;
	spf) args+=(-u -r 1) ;;
	esac
	"${RT[@]}" "$LOAD" "${args[@]}" "$2" >"$out" 2>&1
	echo "round $4 $3 $1: $(cat "$out")" >&2
	grep -q '^conns=' "$out" || ma_fail "policy_load failed for $1"
}

# field LINE KEY - a key=value of policy_load's line
field() {
	sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

# bench_median NAME MODE - the line of the round with the median req/s
bench_median() {
	local f
	for f in "$MA_TMP/$1-$2-"*.out; do
		echo "$(field "$(cat "$f")" rps) $f"
	done | sort -n | awk '{ l[NR] = $2 } END { print l[int((NR + 1) / 2)] }' |
		xargs cat
}

# bench_range NAME MODE - lowest-highest req/s over the rounds
bench_range() {
	local f
	for f in "$MA_TMP/$1-$2-"*.out; do
		field "$(cat "$f")" rps
	done | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 }
		END { printf "%.0f-%.0f", lo, hi }'
}

# bench_table - side by side figures (median round), and the ratios
bench_table() {
	local mode s l pl yl r
	printf '\n%-7s %-14s %9s %13s %8s %8s %8s %11s %6s\n' mode server req/s \
		"range" p50_ms p99_ms max_ms cpu_us/req errors
	for mode in $MODES; do
		for s in $SERVERS; do
			l=$(bench_median "$s" "$mode")
			printf '%-7s %-14s %9s %13s %8s %8s %8s %11s %6s\n' "$mode" "$s" \
				"$(field "$l" rps)" "$(bench_range "$s" "$mode")" \
				"$(field "$l" p50_ms)" "$(field "$l" p99_ms)" \
				"$(field "$l" max_ms)" "$(field "$l" cpu_us_per_req)" \
				"$(field "$l" errors)"
		done
		[ -f "$MA_TMP/policyd-$mode-1.out" ] &&
			[ -f "$MA_TMP/pypolicyd-spf-$mode-1.out" ] || continue
		pl=$(bench_median policyd "$mode")
		yl=$(bench_median pypolicyd-spf "$mode")
		awk -v p="$(field "$pl" rps)" -v y="$(field "$yl" rps)" \
			-v pc="$(field "$pl" cpu_us_per_req)" \
			-v yc="$(field "$yl" cpu_us_per_req)" -v m="$mode" \
			'BEGIN { if (y > 0 && pc > 0)
				printf "%-7s medians: policyd / pypolicyd-spf = %.1fx requests/s, %.1fx less CPU per request\n",
					m, p / y, yc / pc }'
		printf '%-7s per round (same round, req/s):' "$mode"
		for ((r = 1; r <= ROUNDS; r++)); do
			awk -v p="$(field "$(cat "$MA_TMP/policyd-$mode-$r.out")" rps)" \
				-v y="$(field "$(cat "$MA_TMP/pypolicyd-spf-$mode-$r.out")" rps)" \
				'BEGIN { printf " %.1fx", p / y }'
		done
		echo
	done
	echo "connections=$CONNS warmup=${WARMUP}s measured=${SECONDS_RUN}s rounds=$ROUNDS" \
		"nproc=$(nproc) cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
		"loadavg=$(cut -d' ' -f1-3 /proc/loadavg)" \
		"scheduling=$([ ${#RT[@]} = 0 ] && echo normal || echo SCHED_RR)" \
		"transport=$TRANSPORT" "policyd_workers=$WORKERS"
	bench_lines
}

# bench_lines - one parseable line per server and stream (median round)
bench_lines() {
	local mode s l
	for mode in $MODES; do
		for s in $SERVERS; do
			l=$(bench_median "$s" "$mode")
			echo "$s mode=$mode req_per_s=$(field "$l" rps)" \
				"p50_ms=$(field "$l" p50_ms) p99_ms=$(field "$l" p99_ms)" \
				"cpu_us_per_req=$(field "$l" cpu_us_per_req)" \
				"errors=$(field "$l" errors) range=$(bench_range "$s" "$mode")"
		done
	done
}

# bench_port NAME - the TCP port of a server
bench_port() {
	case $1 in
	policyd) echo $PORT_POLICYD ;;
	pypolicyd-spf) echo $PORT_PYSPF ;;
	floor) echo $PORT_FLOOR ;;
	esac
}

# bench_addr NAME MODE - where the load goes: 127.0.0.1:PORT or unix:PATH;
# policyd's spf stream goes to the instance without a result cache
bench_addr() {
	local port name=$1
	port=$(bench_port "$1")
	if [ "$1" = policyd ] && [ "$2" = spf ]; then
		port=$PORT_POLICYD_NOCACHE
		name=policyd-nocache
	fi
	if [ $TRANSPORT = tcp ] || [ "$1" = floor ]; then
		echo "127.0.0.1:$port"	# floor: TCP only
		return
	fi
	case $1 in
	policyd) echo "unix:$MA_TMP/$name.sock" ;;
	pypolicyd-spf) echo "unix:$MA_TMP/pf/spool/private/policyd-spf" ;;
	esac
}

for mode in $MODES; do
	case $mode in
	warm|unique|spf) ;;
	*) echo "unknown mode $mode" >&2; exit 2 ;;
	esac
done
bench_start_dns
for s in $SERVERS; do
	case $s in
	policyd)
		bench_start_policyd policyd $PORT_POLICYD
		case " $MODES " in
		*" spf "*)
			# idle while the other is measured: it adds no CPU time
			bench_start_policyd policyd-nocache $PORT_POLICYD_NOCACHE \
				"cache_ttl = 0"
			bench_check_dns $PORT_POLICYD_NOCACHE policyd-nocache ;;
		esac ;;
	pypolicyd-spf) bench_start_pyspf ;;
	floor)
		[ -x "$ECHO" ] || ma_fail "no $ECHO: build first"
		ma_bg floor "${RT[@]}" "$ECHO" $PORT_FLOOR
		ma_wait_port $PORT_FLOOR || ma_fail "policy_echo did not listen"
		continue ;;
	*) ma_fail "unknown server $s" ;;
	esac
	bench_check_dns "$(bench_port "$s")" "$s"
done
# rounds interleave the servers, so slow phases of a shared machine hit both
for ((round = 1; round <= ROUNDS; round++)); do
	for mode in $MODES; do
		for s in $SERVERS; do
			bench_run "$s" "$(bench_addr "$s" $mode)" $mode $round
		done
	done
done
bench_table
