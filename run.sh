#!/usr/bin/env bash
# run.sh - from a fresh Debian 12 checkout (as root): install the build
# dependencies, build, and run the daemons in the foreground on the default
# configuration in etc/:
#   policyd   build/policyd/policyd -f -c etc/policyd.conf
#   reinject  build/reinject/reinject -f -c etc/reinject.conf
# Whichever of them is built is started; Ctrl-C (or TERM) stops both, and
# when one exits the other is stopped too.  Each configuration is checked
# with -t before anything starts.
#
# The daemons bind their sockets as root and then drop to the unprivileged
# system user "mailauth", created here when missing.
#
# Environment:
#   MAILAUTH_SKIP_DEPS=1   do not run scripts/install-deps.sh
set -euo pipefail
cd "$(dirname "$0")"

build=build
user=mailauth

if [ "${MAILAUTH_SKIP_DEPS:-0}" != 1 ]; then
	scripts/install-deps.sh
fi

# test.sh's plain build options (-O2 -g) without the tests, whose packages
# (Check and the peers) running does not need; test.sh turns them on
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" --werror -Dtests=false >/dev/null
else
	meson setup "$build" --werror -Dtests=false
fi
ninja -C "$build"

if ! id -u "$user" >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
		echo "run.sh: created system user $user"
	else
		echo "run.sh: user $user is missing; run as root to create it" >&2
	fi
fi

declare -a names=() cmds=() pids=()
# add NAME BINARY CONFIG - queue a daemon when it is built
add() {
	[ -x "$2" ] || return 0
	local -a cmd=("$2" -f)
	[ -f "$3" ] && cmd+=(-c "$3")
	"${cmd[@]:0:1}" "${cmd[@]:2}" -t >/dev/null ||
	    { echo "run.sh: $1: configuration check failed (${cmd[*]} -t)" >&2; exit 1; }
	names+=("$1")
	cmds+=("${cmd[*]}")
}
add policyd "$build/policyd/policyd" etc/policyd.conf
add reinject "$build/reinject/reinject" etc/reinject.conf

if [ ${#names[@]} -eq 0 ]; then
	echo "run.sh: no daemon is built yet ($build/policyd/policyd, $build/reinject/reinject)" >&2
	exit 1
fi

stop() {
	trap - INT TERM
	echo "run.sh: stopping ${names[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

for i in "${!names[@]}"; do
	echo "run.sh: starting ${names[$i]}: ${cmds[$i]}"
	# shellcheck disable=SC2086
	${cmds[$i]} &
	pids+=($!)
done
echo "run.sh: running (pids ${pids[*]}); Ctrl-C stops"

rc=0
wait -n "${pids[@]}" || rc=$?
echo "run.sh: a daemon exited (status $rc)"
stop
exit $rc
