#!/bin/bash
# 05-cli.sh - every program's --help and --version, and the sysexits.h exit
# status of each kind of failure (policyd(8), reinject(8), dmarc-check(8),
# reinject-keygen(8), reinject-testkey(8), reinject-doctor(8), EXIT STATUS).
# Nothing listens; the DNS cases send to 127.0.0.1:1, where nothing answers.
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
P=$BUILD/policyd/policyd
R=$BUILD/reinject/reinject
D=$BUILD/reinject/dmarc-check
T=$BUILD/reinject/reinject-tools
for x in "$P" "$R" "$D"; do
	[ -x "$x" ] || { echo "SKIP: $x not built"; exit 77; }
done
TMP=$(mktemp -d /tmp/ma-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failed=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }
version=$(meson introspect --projectinfo "$BUILD" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ -n "$version" ] || version=$(sed -n "s/^  version : '\(.*\)',/\1/p" "$SRC/meson.build")

# want STATUS NAME CMD... - CMD exits STATUS; output in $TMP/out
want() {
	local st=$1 name=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>&1
	rc=$?
	[ $rc = "$st" ] && ok "$name: exit $rc" ||
		nok "$name: exit $rc, want $st: $(head -c 600 "$TMP/out")"
}

# std NAME CMD... - --help (usage on stdout, exit 0) and --version
std() {
	local name=$1 out
	shift
	out=$("$@" --help 2>/dev/null)
	[ $? = 0 ] && grep -q '^usage: ' <<<"$out" && grep -q 'exit status' <<<"$out" &&
		ok "$name --help: usage and exit statuses on stdout, exit 0" ||
		nok "$name --help: $out"
	out=$("$@" --version 2>/dev/null)
	if [ $? = 0 ] && grep -Eq "^$name \(mailauth\) $version( \(git [0-9a-f]+(-dirty)?\))?$" <<<"$out"; then
		ok "$name --version: $out"
	else
		nok "$name --version: '$out' (want $name (mailauth) $version [(git ...)])"
	fi
}

std policyd "$P"
std "policyd query" "$P" query
std reinject "$R"
std "reinject keygen" "$R" keygen
std "reinject testkey" "$R" testkey
std "reinject doctor" "$R" doctor
std dmarc-check "$D"
std dmarc-check "$R" dmarc-check
if [ -x "$T" ]; then
	std reinject-tools "$T"
	std "reinject keygen" "$T" keygen
fi
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	"$R" --version | grep -q "(git $(git -C "$SRC" rev-parse --short HEAD)" &&
		ok "--version names the commit built (git describe)" ||
		nok "--version lacks the commit: $("$R" --version)"
fi

# usage: 64
want 64 "policyd: unknown option" "$P" -Z
want 64 "policyd: -F bogus" "$P" -F bogus
want 64 "policyd query: no --ip" "$P" query --sender a@example.com
want 64 "reinject: unknown option" "$R" -Z
want 64 "reinject: extra argument" "$R" extra
want 64 "reinject keygen: no domain" "$R" keygen -s sel
want 64 "reinject testkey: no key" "$R" testkey -d example.com -s sel
want 64 "reinject doctor: no --ip" "$R" doctor --domain example.com
want 64 "reinject doctor: bad --ip" "$R" doctor --domain example.com --ip 300.1.1.1 --dns 127.0.0.1@1 --timeout 200
want 64 "dmarc-check: no domain" "$D"
[ -x "$T" ] && want 64 "reinject-tools: no subcommand" "$T"

# configuration: 78
printf 'no_such_setting = 1\n' >"$TMP/bad.conf"
want 78 "policyd: missing config" "$P" -t -c "$TMP/none.conf"
want 78 "policyd -t: bad config" "$P" -t -c "$TMP/bad.conf"
grep -q "$TMP/bad.conf:1" "$TMP/out" && ok "policyd -t names file:line" ||
	nok "policyd -t: no file:line: $(cat "$TMP/out")"
want 78 "policyd query: bad config" "$P" query --ip 192.0.2.1 --sender a@example.com -c "$TMP/bad.conf"
want 78 "reinject: missing config" "$R" -t -c "$TMP/none.conf"
want 78 "reinject -t: bad config" "$R" -t -c "$TMP/bad.conf"
grep -q "$TMP/bad.conf:1" "$TMP/out" && ok "reinject -t names file:line" ||
	nok "reinject -t: no file:line: $(cat "$TMP/out")"
want 78 "reinject doctor: bad config" "$R" doctor --domain example.com --ip 192.0.2.1 -c "$TMP/bad.conf"

# key tools: 66 key file unusable, 73 cannot create, 75 DNS error
want 66 "reinject testkey: missing key file" "$R" testkey -d example.com -s sel -k "$TMP/none.key" --dns 127.0.0.1@1
want 0 "reinject keygen: writes" "$R" keygen -t ed25519 -d example.com -s sel -D "$TMP"
want 73 "reinject keygen: file exists" "$R" keygen -t ed25519 -d example.com -s sel -D "$TMP"
want 75 "reinject testkey: DNS unanswered" "$R" testkey -d example.com -s sel -k "$TMP/sel.private" --dns 127.0.0.1@1 --trust-anchor none --timeout 300

# resolver: 69 when it cannot start (a forwarder that is not an address)
want 69 "dmarc-check: resolver cannot start" "$D" example.com --dns not-an-address
want 69 "policyd query: resolver cannot start" "$P" query --ip 192.0.2.1 --sender a@example.com --dns not-an-address -c /dev/null

[ $failed = 0 ] || { echo "$failed failed"; exit 1; }
