#!/bin/sh
# isolate.sh SCRIPT [ARG...] - run one integration test (bash, or python3
# for *.py) in a network namespace of its own with only loopback up.
#
# Integration tests listen on fixed 127.0.0.1 high ports, and meson runs
# them in parallel: in one namespace two tests (or a test and a developer's
# own daemon) may pick the same port, and a query or a connection then
# reaches the wrong server.  A private namespace per test makes every port
# its own.  It needs root (unshare -n) and ip(8); without them the test runs
# as before, in the caller's namespace.  MAILAUTH_NO_NETNS=1 turns it off.
case $1 in
*.py) interp=python3 ;;
*) interp=bash ;;
esac
if [ "$(id -u)" = 0 ] && [ -z "${MAILAUTH_NO_NETNS:-}" ] &&
    command -v unshare >/dev/null && command -v ip >/dev/null &&
    unshare -n true 2>/dev/null; then
	exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' isolate \
	    "$interp" "$@"
fi
exec "$interp" "$@"
