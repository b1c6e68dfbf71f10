#!/bin/bash
# 13-policyd-check.sh - "policyd -t" reports every problem of a run, with the
# exact message: an inet listener in use, one on an address this host does
# not have, a unix socket whose directory is missing, and, as root, an
# unknown user and a configuration file the run user cannot read (the
# master reads it again on SIGHUP after dropping privileges); a silent DNS
# forwarder is a warning only.
# Run it in a private network namespace: it listens on 127.0.0.1:20948.
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
POLICYD=$BUILD/policyd/policyd
[ -x "$POLICYD" ] || { echo "SKIP: $POLICYD not built"; exit 77; }
TMP=$(mktemp -d /tmp/ma-pcheck-XXXXXX)
holder=
trap '[ -n "$holder" ] && kill $holder 2>/dev/null; rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
failed=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }
if [ "$(id -u)" = 0 ]; then RUNUSER=nobody; else RUNUSER=$(id -un); fi

# conf NAME LISTEN [USER] - a configuration file; its path on stdout
conf() {
	printf 'listen = %s\nuser = %s\n' "$2" "${3:-$RUNUSER}" >"$TMP/$1.conf"
	chmod 644 "$TMP/$1.conf"
	echo "$TMP/$1.conf"
}
check() { out=$(timeout 10 "$POLICYD" -t -c "$1" 2>&1); rc=$?; }
has() { grep -qE "^policyd(\[[0-9]+\])?: error: $1\$" <<<"$out"; }

check "$(conf good inet:127.0.0.1:20948)"
[ $rc = 0 ] && ok "-t: a usable configuration passes (exit 0)" || nok "-t good (rc=$rc): $out"

python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",20948)); s.listen(); time.sleep(30)' &
holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ss -ltn 'sport = :20948' 2>/dev/null | grep -q 20948 && break
	sleep 0.2
done
check "$(conf listen "inet:127.0.0.1:20948, inet:192.0.2.200:20947, unix:$TMP/nodir/policyd.sock")"
kill $holder; wait $holder 2>/dev/null; holder=
[ $rc = 78 ] && ok "-t: listener problems exit 78" || nok "-t listeners: exit $rc"
has "inet:127\.0\.0\.1:20948: Address already in use \(another process listens there: is the daemon already running\? ss -ltnp names it\)" &&
	ok "-t: the listener in use is named with the reason" || nok "-t in use: $out"
has "inet:192\.0\.2\.200:20947: Cannot assign requested address \(no interface of this host has that address\)" &&
	ok "-t: the foreign address is named with the reason, in the same run" || nok "-t foreign: $out"
has "unix:$TMP/nodir/policyd\.sock: directory $TMP/nodir: No such file or directory" &&
	ok "-t: the unix socket's missing directory is named, in the same run" || nok "-t unix: $out"
check "$TMP/listen.conf"
! grep -q "20948" <<<"$out" && ok "-t: the probe released the port (bindable again)" ||
	nok "-t after release: $out"

# a DNS forwarder that never answers: a warning naming it, exit 0
conf dnsdead inet:127.0.0.1:20948 >/dev/null
printf 'dns_forwarders = 127.0.0.1@20945\n' >>"$TMP/dnsdead.conf"
check "$TMP/dnsdead.conf"
[ $rc = 0 ] && grep -qE "^warning: dns_forwarders 127\.0\.0\.1@20945: (no answer to a test query|the test query failed \(SERVFAIL or REFUSED\)); lookups will give temperror until it answers$" <<<"$out" &&
	ok "-t: a silent DNS forwarder is a warning naming it (exit 0)" ||
	nok "-t silent forwarder (rc=$rc): $out"

if [ "$(id -u)" = 0 ]; then
	check "$(conf nouser inet:192.0.2.200:20947 nosuchuser-ma)"
	[ $rc = 78 ] && has "user nosuchuser-ma: no such user" &&
	    has "inet:192\.0\.2\.200:20947: Cannot assign requested address.*" &&
		ok "-t as root: an unknown user is reported with the listener problem" ||
		nok "-t unknown user (rc=$rc): $out"
	conf rootonly inet:127.0.0.1:20948 >/dev/null
	chmod 600 "$TMP/rootonly.conf"
	check "$TMP/rootonly.conf"
	[ $rc = 78 ] && has "$TMP/rootonly\.conf: not readable as user $RUNUSER \(read again on reload\): Permission denied" &&
		ok "-t as root: a configuration file $RUNUSER cannot read is refused" ||
		nok "-t root-only configuration (rc=$rc): $out"
else
	echo "# SKIP: the unknown user and unreadable configuration checks need root"
fi
echo "$failed failed"
[ $failed = 0 ]
