#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it (.ci/run):
#   1. build/       plain build (-Werror), meson test
#   2. build-asan/  -Db_sanitize=address,undefined (-Werror), meson test
#   3. build-fuzz/  clang + libFuzzer: every tests/fuzz target for a bounded
#                   time (MAILAUTH_FUZZ_SECONDS in total, default 60); skipped
#                   when clang is not installed
#   4. package      the Debian package built, installed, run, upgraded and
#                   purged (tests/package/package-test.sh); only as root with
#                   CI=true or MAILAUTH_PACKAGE_TEST=1, since it installs a
#                   package on the machine
# Every stage runs even when an earlier one failed; the exit status is
# non-zero when any stage failed.  As root, the packages the tests need are
# installed first (scripts/install-deps.sh --test; MAILAUTH_SKIP_DEPS=1
# skips that); otherwise they must be installed already.
#
# Environment:
#   MAILAUTH_BUILD_PREFIX  build directory prefix (default "build": build,
#                          build-asan, build-fuzz)
#   MAILAUTH_FUZZ_SECONDS  total fuzzing time across targets (default 60)
#   MAILAUTH_TEST_ARGS     extra arguments for meson test (e.g. --suite dns)
set -uo pipefail
cd "$(dirname "$0")"

prefix=${MAILAUTH_BUILD_PREFIX:-build}
fuzz_total=${MAILAUTH_FUZZ_SECONDS:-60}
fuzz_min=5		# seconds per target, however many there are
# test timeouts are set for an idle machine; CI has 2 cores and runs tests
# in parallel, and the sanitizers slow everything down
plain_timeout_x=2
asan_timeout_x=4
read -r -a test_args <<<"${MAILAUTH_TEST_ARGS:-}"
declare -a summary=()
failed=0
stage_note=""		# one line a stage adds to its summary entry

note() { printf '\n==== %s\n' "$*"; }

# configure DIR ARGS... - set up or reconfigure a build directory
configure() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# stage NAME COMMAND... - run a stage, record its result and duration
stage() {
	local name=$1 t0=$SECONDS rc
	shift
	note "$name"
	stage_note=""
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		summary+=("$(printf '%-8s OK    %4ds  %s' "$name" $((SECONDS - t0)) "$stage_note")")
	else
		summary+=("$(printf '%-8s FAIL  %4ds  (exit %d) %s' "$name" $((SECONDS - t0)) $rc "$stage_note")")
		failed=1
	fi
}

# lsan_works - LeakSanitizer cannot run under ptrace (some sandboxes, strace)
lsan_works() {
	local tmp out
	tmp=$(mktemp -d)
	printf '#include <stdlib.h>\nint main(void) { free(malloc(1)); return 0; }\n' >"$tmp/p.c"
	if ! cc -fsanitize=address -o "$tmp/p" "$tmp/p.c" 2>/dev/null; then
		rm -rf "$tmp"
		return 0
	fi
	out=$(ASAN_OPTIONS=detect_leaks=1 "$tmp/p" 2>&1)
	local rc=$?
	rm -rf "$tmp"
	[ $rc -eq 0 ] || ! grep -q "LeakSanitizer" <<<"$out"
}

# run_tests DIR TIMEOUT_X - meson test, its totals appended to the summary
run_tests() {
	local rc totals
	meson test -C "$1" --print-errorlogs --timeout-multiplier "$2" \
	    "${test_args[@]}" 2>&1 | tee "$1/test.sh-output.txt"
	rc=$?
	totals=$(grep -E "^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): " \
	    "$1/test.sh-output.txt" | tr -s ' ' | paste -sd ' ' -)
	stage_note="${totals:-no test summary}"
	return $rc
}

plain() {
	configure "$prefix" --werror -Dtests=true &&
	    ninja -C "$prefix" &&
	    run_tests "$prefix" "$plain_timeout_x"
}

asan() {
	configure "$prefix-asan" --werror -Dtests=true \
	    -Db_sanitize=address,undefined -Db_lundef=false &&
	    ninja -C "$prefix-asan" &&
	    run_tests "$prefix-asan" "$asan_timeout_x"
}

# fuzz_one TARGET SECONDS - fuzz one target from a scratch corpus
fuzz_one() {
	local bin=$1 secs=$2 name work rc
	name=$(basename "$bin")
	work=$(mktemp -d)
	local -a flags=() seeds=()
	[ -f "tests/fuzz/$name.dict" ] && flags+=("-dict=tests/fuzz/$name.dict")
	[ -d "tests/fuzz/corpus/$name" ] && seeds+=("tests/fuzz/corpus/$name")
	mkdir -p "$prefix-fuzz/artifacts"
	echo "fuzz: $name for ${secs}s"
	# new inputs go to the first directory (scratch); seeds are read only
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$prefix-fuzz/artifacts/$name-" "${flags[@]}" \
	    "$work" "${seeds[@]}" >"$work.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -n 60 "$work.log"
		echo "fuzz: $name FAILED (exit $rc); inputs in $prefix-fuzz/artifacts/"
	else
		grep -E "^Done [0-9]+ runs" "$work.log" | sed "s/^/fuzz: $name: /"
	fi
	rm -rf "$work" "$work.log"
	return $rc
}

fuzz() {
	local -a targets=()
	local t secs rc=0

	CC=clang configure "$prefix-fuzz" -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false &&
	    ninja -C "$prefix-fuzz" || return 1
	for t in "$prefix-fuzz"/tests/fuzz/fuzz_*; do
		[ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
	done
	if [ ${#targets[@]} -eq 0 ]; then
		echo "fuzz: no targets built"
		return 0
	fi
	secs=$((fuzz_total / ${#targets[@]}))
	[ $secs -ge $fuzz_min ] || secs=$fuzz_min
	local bad=0
	for t in "${targets[@]}"; do
		fuzz_one "$t" "$secs" || { rc=1; bad=$((bad + 1)); }
	done
	stage_note="${#targets[@]} targets x ${secs}s, $bad crashed"
	return $rc
}

if [ "$(id -u)" -eq 0 ] && [ "${MAILAUTH_SKIP_DEPS:-0}" != 1 ]; then
	scripts/install-deps.sh --test || exit 1
fi
for tool in meson ninja cc pkg-config; do
	command -v "$tool" >/dev/null 2>&1 && continue
	echo "test.sh: $tool not found: install the dependencies first" \
	    "(scripts/install-deps.sh --test, as root)" >&2
	exit 1
done

leaks=1
if ! lsan_works; then
	echo "test.sh: LeakSanitizer does not work here (ptrace?): detect_leaks=0"
	leaks=0
fi
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=$leaks"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

t_start=$SECONDS
stage plain plain
stage asan asan
if command -v clang >/dev/null 2>&1; then
	stage fuzz fuzz
else
	summary+=("fuzz     SKIP  (clang not installed)")
fi

# package - the Debian package test; exit 77 (not asked for, not root) skips
package() {
	local rc
	tests/package/package-test.sh
	rc=$?
	[ $rc -eq 77 ] && { stage_note="skipped"; return 0; }
	return $rc
}
stage package package

note "summary ($((SECONDS - t_start))s)"
printf '%s\n' "${summary[@]}"
exit $failed
