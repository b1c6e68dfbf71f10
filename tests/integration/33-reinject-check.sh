#!/bin/bash
# 33-reinject-check.sh - "reinject -t" checks what the workers will load as
# the workers will (issue 10, defect 8):
#   - as root, a key file only root can read is refused, naming the file and
#     the user; the same key given to the user passes;
#   - a FIFO as sign_key_file or as KeyTable ends the check at once with an
#     error naming the file, instead of blocking (each run is bounded by
#     timeout 10: status 124 is a hang).
# No ports: -t binds nothing (dns_forwarders points at an unused address).
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || { echo "SKIP: $REINJECT not built"; exit 77; }
command -v openssl >/dev/null || { echo "not ok - openssl missing"; exit 1; }
TMP=$(mktemp -d /tmp/ma-check-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
failed=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

if [ "$(id -u)" = 0 ]; then
	RUNUSER=reinject
	id "$RUNUSER" >/dev/null 2>&1 || useradd --system --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin "$RUNUSER"
else
	RUNUSER=$(id -un)
fi
mkdir "$TMP/spool"
chown "$RUNUSER" "$TMP/spool"
openssl genpkey -algorithm ed25519 -out "$TMP/sel.key" 2>/dev/null
chmod 600 "$TMP/sel.key"

# conf NAME EXTRA - a configuration signing with the key setting EXTRA
conf() {
	cat >"$TMP/$1.conf" <<EOF2
user = $RUNUSER
spool_directory = $TMP/spool
dns_forwarders = 127.0.0.1@20959
syslog = no
$2
EOF2
	echo "$TMP/$1.conf"
}

# check CONF - run reinject -t, bounded; sets rc and out
check() {
	out=$(timeout 10 "$REINJECT" -t -c "$1" 2>&1)
	rc=$?
}

SIMPLE="sign_domain = example.org
sign_selector = sel"

if [ "$(id -u)" = 0 ]; then
	chown root:root "$TMP/sel.key"
	check "$(conf rootkey "$SIMPLE
sign_key_file = $TMP/sel.key")"
	if [ $rc = 78 ] && grep -q "$TMP/sel.key" <<<"$out" && grep -q "as user $RUNUSER" <<<"$out"; then
		ok "-t as root: a key only root can read is refused for user $RUNUSER"
	else
		nok "-t as root: root-only key (rc=$rc): $out"
	fi
	chown "$RUNUSER" "$TMP/sel.key"
	check "$TMP/rootkey.conf"
	[ $rc = 0 ] && ok "-t as root: the key readable by $RUNUSER passes" ||
		nok "-t as root: user's key (rc=$rc): $out"
	chmod 700 "$TMP/spool"
	chown root "$TMP/spool"
	check "$TMP/rootkey.conf"
	[ $rc = 78 ] && grep -q "spool_directory $TMP/spool" <<<"$out" &&
		ok "-t as root: a spool directory the user cannot write is refused" ||
		nok "-t as root: root's spool (rc=$rc): $out"
	chown "$RUNUSER" "$TMP/spool"
else
	echo "# SKIP: the root-only key check needs root"
fi

mkfifo "$TMP/fifo.key"
chown "$RUNUSER" "$TMP/fifo.key" 2>/dev/null
check "$(conf fifokey "$SIMPLE
sign_key_file = $TMP/fifo.key")"
if [ $rc = 78 ] && grep -q "$TMP/fifo.key: not a regular file" <<<"$out"; then
	ok "-t: a FIFO as sign_key_file is refused at once, naming it"
else
	nok "-t: FIFO key (rc=$rc, 124 = hung): $out"
fi

mkfifo "$TMP/KeyTable"
chown "$RUNUSER" "$TMP/KeyTable" 2>/dev/null
printf 'example.org sel._domainkey.example.org\n' >"$TMP/SigningTable"
check "$(conf fifotable "key_table = $TMP/KeyTable
signing_table = $TMP/SigningTable")"
if [ $rc = 78 ] && grep -q "$TMP/KeyTable: not a regular file" <<<"$out"; then
	ok "-t: a FIFO as KeyTable is refused at once, naming it"
else
	nok "-t: FIFO KeyTable (rc=$rc, 124 = hung): $out"
fi

echo "$failed failed"
[ $failed = 0 ]
