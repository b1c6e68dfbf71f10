#!/bin/bash
# run-all.sh - every benchmark in one go, one table: each figure, its peers'
# figures, and its share of the limit it is measured against (openssl speed,
# SHA-256's speed, Postfix alone, the after-queue ceiling, the milter
# protocol's ceiling).
#
#   tests/bench/run-all.sh [-t MINUTES] [-o FILE] [-b "BENCHES"] [BUILD_DIR]
#
#   -t MINUTES  time budget of the whole run (default 15); each bench gets a
#               share of it and scales its own durations or message counts
#   -o FILE     results file the run is appended to
#               (default tests/bench/results/history.md)
#   -b BENCHES  the benches to run, of: dkim policyd reinject milter report arc
#               (default all of them)
#
# Each bench is its own script or program, called by name, and its output is
# read as that script prints it (dkim-bench.sh, policyd-bench.sh,
# reinject-bench.sh PARTS=e2e, milter-bench.sh, report_bench, arc_bench); a
# bench that cannot run here (not built, not root, a peer missing) is
# listed as skipped.  The raw output of each goes to the results file too.
#
# Regression check: every figure is compared with the same figure of the
# previous run in the results file, and one more than 10% worse (lower, or
# higher for a cost such as CPU per request) is flagged "REGRESSED?".  It
# flags only: on a shared machine load alone moves figures that far.  The
# load average is printed before each bench; compare runs made under like
# load.
#
# Runs as root inside a private network namespace (the benches listen on
# fixed 127.0.0.1 ports), entered here with unshare -n unless already in one.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
MINUTES=15
OUT=$HERE/results/history.md
BENCHES="dkim policyd reinject milter report arc"
while getopts t:o:b: o; do
	case $o in
	t) MINUTES=$OPTARG ;;
	o) OUT=$OPTARG ;;
	b) BENCHES=$OPTARG ;;
	*) echo "usage: $0 [-t MINUTES] [-o FILE] [-b BENCHES] [BUILD_DIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
BUILD=$(cd "${1:-$SRC/build}" && pwd) || exit 2

# a private network namespace with loopback up, as the integration tests get
if [ -z "${MAILAUTH_BENCH_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
	export MAILAUTH_BENCH_NETNS=1
	exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' run-all \
	    bash "$0" -t "$MINUTES" -o "$OUT" -b "$BENCHES" "$BUILD"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/run-all.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
START=$(date +%s)
# the tree measured, read before the run (files edited during it are not in it)
COMMIT=$(git -C "$SRC" describe --always --dirty --tags 2>/dev/null || echo unknown)
# budget NAME - seconds for a bench: its share of the total budget
budget() {
	local share
	case $1 in
	dkim) share=0.24 ;;
	policyd) share=0.18 ;;
	reinject) share=0.26 ;;
	milter) share=0.22 ;;
	report) share=0.05 ;;
	arc) share=0.03 ;;
	esac
	awk -v m="$MINUTES" -v s="$share" 'BEGIN { printf "%d", m * 60 * s }'
}
want() { case " $BENCHES " in *" $1 "*) return 0 ;; esac; return 1; }

ROWS=$TMP/rows		# key value unit peers limit share cpushare dir
LOADS=()
: >"$ROWS"
# row KEY VALUE UNIT PEERS LIMIT SHARE CPUSHARE DIR - one figure (DIR + higher is better, - lower)
row() {
	local a out=""
	# an empty field would vanish when the row is read back (tab is IFS
	# white space): it is written as "-"
	for a in "$@"; do
		out+="${a:--}"$'\t'
	done
	printf '%s\n' "${out%$'\t'}" >>"$ROWS"
}
# run NAME CMD... - one bench with its load average noted; output in $TMP/NAME.out
run() {
	local name=$1 t0
	shift
	LOADS+=("$name $(cut -d' ' -f1-3 /proc/loadavg)")
	echo "== $name (load average $(cut -d' ' -f1-3 /proc/loadavg), budget $(budget "$name") s): $*" >&2
	t0=$(date +%s)
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	echo "$? $(( $(date +%s) - t0 ))" >"$TMP/$name.rc"
	echo "   exit $(cut -d' ' -f1 "$TMP/$name.rc"), $(cut -d' ' -f2 "$TMP/$name.rc") s" >&2
}
# skipped NAME WHY - a bench that did not give figures
SKIPPED=()
skipped() {
	SKIPPED+=("$1: $2")
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }

# --- dkim: dkim-bench.sh prints FIGURE lines ---------------------------------------
if want dkim; then
	run dkim nice -n -5 "$HERE/dkim-bench.sh" -r 2 -t "$(budget dkim)" "$BUILD"
	if grep -q '^FIGURE' "$TMP/dkim.out"; then
		grep '^FIGURE' "$TMP/dkim.out" | cut -f2- | sed 's/$/\t+/' >>"$ROWS"
	else
		skipped dkim "$(tail -1 "$TMP/dkim.err")"
	fi
fi

# --- policyd: policyd-bench.sh's side-by-side table, read as it prints it ---------
if want policyd; then
	b=$(budget policyd)
	# 2 servers x 2 streams x (warm-up + measured + start) in one round, plus set-up
	d=$(awk -v b="$b" 'BEGIN { d = int((b - 40) / 4 - 5); print (d < 3) ? 3 : (d > 10 ? 10 : d) }')
	run policyd "$HERE/policyd-bench.sh" -R -n 1 -w 2 -d "$d" "$BUILD"
	# mode server req/s range p50_ms p99_ms max_ms cpu_us/req errors
	awk '($1 == "warm" || $1 == "unique") && $2 == "policyd" && $3 ~ /^[0-9.]+$/ { print $1, $3, $5, $6, $8 }' \
	    "$TMP/policyd.out" >"$TMP/policyd.ours"
	awk '($1 == "warm" || $1 == "unique") && $2 == "pypolicyd-spf" && $3 ~ /^[0-9.]+$/ { print $1, $3, $8 }' \
	    "$TMP/policyd.out" >"$TMP/policyd.peer"
	if [ -s "$TMP/policyd.ours" ]; then
		while read -r mode rps p50 p99 cpu; do
			read -r _ prps pcpu <<<"$(grep "^$mode " "$TMP/policyd.peer" || echo "- - -")"
			row "policyd.$mode.rps" "$rps" "req/s" "pypolicyd-spf $prps ($(awk -v a="$rps" -v b="$prps" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'))" "-" "-" "-" "+"
			row "policyd.$mode.cpu_us" "$cpu" "CPU µs/req" "pypolicyd-spf $pcpu" "target 15" "$(pct 15 "$cpu")" "-" "-"
			row "policyd.$mode.p99_ms" "$p99" "ms p99" "-" "target 1" "-" "-" "-"
		done <"$TMP/policyd.ours"
	else
		skipped policyd "$(tail -1 "$TMP/policyd.err")"
	fi
fi

# --- reinject after-queue: reinject-bench.sh PARTS=e2e, its median lines ----------
if want reinject; then
	b=$(budget reinject)
	# 6 setups of NE messages (plus a fifth to warm up), about 60 s of set-up;
	# rates assumed 20 msg/s on the average, as on a loaded 2-core machine
	# (Postfix alone gave 48 msg/s there, 725 on a quiet one); 3 rounds when
	# the budget allows 300 messages each
	ne=$(awk -v b="$b" 'BEGIN { n = int((b - 60) / 6 / 1.2 * 20 / 10) * 10; print (n < 50) ? 50 : (n > 2000 ? 2000 : n) }')
	rounds=1
	[ "$ne" -ge 900 ] && rounds=3 ne=$((ne / 3))
	run reinject env PARTS=e2e E2E_ROUNDS=$rounds NE="$ne" "$HERE/reinject-bench.sh" "$BUILD"
	# "LABEL: N msg/s (rounds: a b c), X% of Postfix alone, Y% of the wiring"
	sed -n 's/^\(.*\): \([0-9.]*\) msg\/s (rounds:\(.*\)), \([0-9]*\)% of Postfix alone, \([0-9]*\)% of the wiring$/\1\t\2\t\3\t\4\t\5/p' \
	    "$TMP/reinject.out" >"$TMP/reinject.med"
	if [ -s "$TMP/reinject.med" ]; then
		alone=$(awk -F'\t' '$1 == "Postfix alone" { print $2 }' "$TMP/reinject.med")
		wiring=$(awk -F'\t' '$1 == "after-queue wiring without a filter" { print $2 }' "$TMP/reinject.med")
		odkim=$(awk -F'\t' '$1 == "Postfix + OpenDKIM milter sign" { print $2 }' "$TMP/reinject.med")
		row reinject.postfix_alone "$alone" "msg/s" "-" "-" "-" "-" "+"
		row reinject.ceiling "$wiring" "msg/s" "-" "Postfix alone $alone" "$(pct "$wiring" "$alone")" "-" "+"
		while IFS=$'\t' read -r label m _ _ _; do
			case $label in
			*"reinject verify (content_filter)") k=reinject.aq.verify lim=ceiling ;;
			*"reinject sign (content_filter)") k=reinject.aq.sign lim=ceiling ;;
			*"reinject verify (smtpd_proxy_filter)") k=reinject.proxy.verify lim=alone ;;
			*) continue ;;
			esac
			if [ $lim = ceiling ]; then
				row "$k" "$m" "msg/s" "OpenDKIM milter sign $odkim" "after-queue ceiling $wiring" "$(pct "$m" "$wiring")" "-" "+"
			else
				row "$k" "$m" "msg/s" "OpenDKIM milter sign $odkim" "Postfix alone $alone" "$(pct "$m" "$alone")" "-" "+"
			fi
		done <"$TMP/reinject.med"
	else
		skipped reinject "$(tail -1 "$TMP/reinject.err")"
	fi
fi

# --- milter: milter-bench.sh's summary lines ----------------------------------------
if want milter; then
	b=$(budget milter)
	# 8 setups of NE messages plus a fifth to warm up, set-up 50 s; rates
	# assumed 15 msg/s on the average (NE=1000 took 8 minutes on a lightly
	# loaded machine)
	ne=$(awk -v b="$b" 'BEGIN { n = int((b - 50) / 8 / 1.2 * 15 / 10) * 10; print (n < 50) ? 50 : (n > 1000 ? 1000 : n) }')
	run milter env NE="$ne" E2E_ROUNDS=1 "$HERE/milter-bench.sh" "$BUILD"
	# "LABEL   N msg/s   X%   Y%" (of Postfix alone, of the milter ceiling)
	sed -n 's/^\(.*[^ ]\)  *\([0-9][0-9]*\) msg\/s  *\([0-9][0-9]*\)%  *\([0-9][0-9]*\)%$/\1\t\2\t\3\t\4/p' \
	    "$TMP/milter.out" >"$TMP/milter.sum"
	if [ -s "$TMP/milter.sum" ]; then
		get() { awk -F'\t' -v l="$1" 'index($1, l) == 1 { print $2; exit }' "$TMP/milter.sum"; }
		alone=$(get "Postfix alone")
		ceil=$(get "milter ceiling")
		ov=$(get "OpenDKIM milter verify")
		os=$(get "OpenDKIM milter sign")
		row milter.ceiling "$ceil" "msg/s" "-" "Postfix alone $alone" "$(pct "$ceil" "$alone")" "-" "+"
		row milter.verify "$(get "reinject milter verify")" "msg/s" "OpenDKIM milter verify $ov" "milter ceiling $ceil" "$(pct "$(get "reinject milter verify")" "$ceil")" "-" "+"
		row milter.sign "$(get "reinject milter sign")" "msg/s" "OpenDKIM milter sign $os" "milter ceiling $ceil" "$(pct "$(get "reinject milter sign")" "$ceil")" "-" "+"
	else
		skipped milter "$(tail -1 "$TMP/milter.err")"
	fi
fi

# --- report store: report_bench --------------------------------------------------------
if want report; then
	if [ -x "$BUILD/tests/bench/report_bench" ]; then
		n=$(awk -v b="$(budget report)" 'BEGIN { n = int(b * 1000 / 10) * 10; print (n < 1000) ? 1000 : n }')
		mkdir -p "$TMP/report"
		run report nice -n -5 "$BUILD/tests/bench/report_bench" -n "$n" "$TMP/report"
		# "write: N rows in S s (R rows/s), ..." and "every report of the day: ... in S s (C s CPU)"
		w=$(sed -n 's/^write: .*(\([0-9.]*\) rows\/s).*/\1/p' "$TMP/report.out")
		c=$(sed -n 's/^every report of the day: .*(\([0-9.]*\) s CPU).*/\1/p' "$TMP/report.out")
		if [ -n "$w" ]; then
			row report.write "$w" "rows/s" "-" "-" "-" "-" "+"
			row report.build_cpu_s "$c" "CPU s, $n rows" "-" "-" "-" "-" "-"
		else
			skipped report "$(tail -1 "$TMP/report.err")"
		fi
	else
		skipped report "report_bench not built"
	fi
fi

# --- ARC: arc_bench, a 3-set chain beside one DKIM signature -----------------------------
if want arc; then
	if [ -x "$BUILD/tests/bench/arc_bench" ]; then
		run arc nice -n -5 "$BUILD/tests/bench/arc_bench" -d 1
		# "WHAT BYTES OPS/S N SECONDS"
		awk '$(NF-3) ~ /^[0-9]+$/ && $(NF-2) ~ /^[0-9.]+$/ { n = NF - 4; w = $1; for (i = 2; i <= n; i++) w = w "_" $i; print w, $(NF-3), $(NF-2) }' \
		    "$TMP/arc.out" >"$TMP/arc.fig"
		if [ -s "$TMP/arc.fig" ]; then
			while read -r what bytes rate; do
				row "arc.$what.$((bytes / 1024))k" "$rate" "/s" "-" "-" "-" "-" "+"
			done <"$TMP/arc.fig"
		else
			skipped arc "$(tail -1 "$TMP/arc.err")"
		fi
	else
		skipped arc "arc_bench not built"
	fi
fi

# --- the table, with the previous run's figures -------------------------------------------
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
# the previous figures in the results file: each key's value in the last run that had it
awk '/^\| [a-z]/ { split($0, f, "|"); k = f[2]; gsub(/ /, "", k); x = f[3]; gsub(/ /, "", x); v[k] = x }
    END { for (k in v) print k, v[k] }' "$OUT" >"$TMP/prev"
REGRESSED=0
table() {
	echo "| figure | value | unit | peers | limit | share of limit | CPU share, same process | previous | |"
	echo "|---|---:|---|---|---|---:|---:|---:|---|"
	while IFS=$'\t' read -r key value unit peers limit share cpushare dir; do
		prev=$(awk -v k="$key" '$1 == k { print $2 }' "$TMP/prev")
		flag=""
		if [ -n "$prev" ] && [ "$prev" != "-" ] && [ -n "$value" ]; then
			flag=$(awk -v a="$value" -v p="$prev" -v d="$dir" 'BEGIN {
				if (p + 0 <= 0) exit
				if ((d == "+" && a < 0.9 * p) || (d == "-" && a > 1.1 * p)) print "REGRESSED?" }')
		fi
		[ -n "$flag" ] && REGRESSED=$((REGRESSED + 1))
		echo "| $key | ${value:--} | $unit | $peers | $limit | $share | $cpushare | ${prev:--} | $flag |"
	done <"$ROWS"
}
table >"$TMP/table"
{
	echo
	echo "## run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo
	echo "commit $COMMIT;" \
	    "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
	    "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory," \
	    "$(uname -r); budget $MINUTES min, took $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
	echo
	echo "load average (1, 5, 15 min) before each bench: $(printf '%s; ' "${LOADS[@]}")"
	[ ${#SKIPPED[@]} = 0 ] || echo "skipped: $(printf '%s; ' "${SKIPPED[@]}")"
	echo
	cat "$TMP/table"
	echo
	[ $REGRESSED = 0 ] || echo "$REGRESSED figure(s) more than 10% worse than the previous run (flag only)."
	echo
	echo "<details><summary>raw output</summary>"
	echo
	for f in "$TMP"/*.out; do
		[ -f "$f" ] || continue
		echo "### $(basename "$f" .out)"
		echo '```'
		grep -v '^FIGURE' "$f"
		echo '```'
	done
	echo "</details>"
} >"$TMP/block"
cat "$TMP/block" >>"$OUT"
# the summary on stdout: everything but the raw output
sed '/^<details>/,$d' "$TMP/block"
echo "appended to $OUT"
