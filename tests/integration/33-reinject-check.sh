#!/bin/bash
# 33-reinject-check.sh - "reinject -t" checks what the workers will load as
# the workers will (issue 10, defect 8):
#   - as root, a key file only root can read is refused, naming the file and
#     the user; the same key given to the user passes;
#   - a FIFO as sign_key_file or as KeyTable ends the check at once with an
#     error naming the file, instead of blocking (each run is bounded by
#     timeout 10: status 124 is a hang).
#   - every listener is bound and released: one in use and one on an address
#     this host does not have are both reported, each with its reason;
#   - as root, an unknown user, and a configuration file the user cannot read
#     (the master reads it again on reload) are reported, with the other
#     problems of the same run;
#   - a DNS forwarder that does not answer is a warning (exit 0).
# Run it in a private network namespace (the in-use case listens on
# 127.0.0.1:20958, the others bind 127.0.0.1:20956).  dns_forwarders points
# at a UDP port this script holds open and never answers on, and for the
# answering case at a responder of its own; both ports are picked by the
# kernel, so no other server can answer in their place.
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || { echo "SKIP: $REINJECT not built"; exit 77; }
command -v openssl >/dev/null || { echo "not ok - openssl missing"; exit 1; }
TMP=$(mktemp -d /tmp/ma-check-XXXXXX)
silent=
trap 'kill $silent 2>/dev/null; rm -rf "$TMP"' EXIT
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

# udp_port FILE [answer] - bind a UDP port on 127.0.0.1 picked by the kernel,
# write it to FILE; with "answer", reply NOERROR to every query, otherwise
# read nothing.  Runs in the background until killed.
udp_port() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if len(sys.argv) < 3:
    time.sleep(3600)
while True:
    q, peer = s.recvfrom(4096)
    i = 12
    while q[i]:
        i += q[i] + 1
    s.sendto(q[:2] + bytes([0x81, 0x80]) + q[4:6] + bytes(6) + q[12:i + 5], peer)
' "$@" &
	for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
}
udp_port "$TMP/silent.port"
silent=$!
SILENT=$(cat "$TMP/silent.port")
chmod 600 "$TMP/sel.key"

# conf NAME EXTRA - a configuration signing with the key setting EXTRA
conf() {
	cat >"$TMP/$1.conf" <<EOF2
user = ${CONFUSER:-$RUNUSER}
listen = ${LISTEN:-127.0.0.1:20956 verify}
spool_directory = $TMP/spool
dns_forwarders = 127.0.0.1@$SILENT
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

# listeners: one in use, one on an address no interface has; both reported
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",20958)); s.listen(); time.sleep(30)' &
holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ss -ltn 'sport = :20958' 2>/dev/null | grep -q 20958 && break
	sleep 0.2
done
LISTEN="127.0.0.1:20958 verify, 192.0.2.200:20957 sign"
check "$(conf listen "$SIMPLE
sign_key_file = $TMP/sel.key")"
LISTEN=
kill $holder 2>/dev/null; wait $holder 2>/dev/null
if [ $rc = 78 ] &&
    grep -qxF "listen 127.0.0.1:20958: Address already in use (another process listens there: is the daemon already running? ss -ltnp names it)" <<<"$out" &&
    grep -qxF "listen 192.0.2.200:20957: Cannot assign requested address (no interface of this host has that address)" <<<"$out"; then
	ok "-t: a listener in use and one on a foreign address, both reported with the reason"
else
	nok "-t: listeners (rc=$rc): $out"
fi
check "$TMP/listen.conf"
[ $rc = 78 ] && ! grep -q "20958" <<<"$out" && grep -q "192.0.2.200:20957" <<<"$out" &&
	ok "-t: the port released again is bindable; the foreign address still is not" ||
	nok "-t: listeners after release (rc=$rc): $out"

if [ "$(id -u)" = 0 ]; then
	CONFUSER=nosuchuser-ma
	check "$(conf nouser "$SIMPLE
sign_key_file = $TMP/none.key")"
	CONFUSER=
	if [ $rc = 78 ] && grep -qE "^reinject(\[[0-9]+\])?: error: user nosuchuser-ma: no such user$" <<<"$out" &&
	    grep -q "$TMP/none.key" <<<"$out"; then
		ok "-t as root: an unknown user is reported, and the missing key of the same run"
	else
		nok "-t as root: unknown user (rc=$rc): $out"
	fi
	conf rootconf "$SIMPLE
sign_key_file = $TMP/sel.key" >/dev/null
	chmod 600 "$TMP/rootconf.conf"
	chmod 600 "$TMP/sel.key"
	chown "$RUNUSER" "$TMP/sel.key"
	check "$TMP/rootconf.conf"
	if [ $rc = 78 ] && grep -qxF "$TMP/rootconf.conf: not readable as user $RUNUSER (read again on reload): Permission denied" <<<"$out"; then
		ok "-t as root: a configuration file the user cannot read is refused"
	else
		nok "-t as root: root-only configuration (rc=$rc): $out"
	fi
	chmod 644 "$TMP/rootconf.conf"
	check "$TMP/rootconf.conf"
	[ $rc = 0 ] && ok "-t as root: the same file readable by $RUNUSER passes" ||
		nok "-t as root: readable configuration (rc=$rc): $out"
else
	echo "# SKIP: the unknown user and root-only configuration checks need root"
fi

# DNS forwarders: one that never answers is a warning, not an error; one
# that answers (a NOERROR responder) gives no warning
check "$(conf dnsdead "$SIMPLE
sign_key_file = $TMP/sel.key")"
if [ $rc = 0 ] && grep -qE "^warning: dns_forwarders 127\.0\.0\.1@$SILENT: (no answer to a test query|the test query failed \(SERVFAIL or REFUSED\)); lookups will give temperror until it answers$" <<<"$out"; then
	ok "-t: a silent DNS forwarder is a warning naming it (exit 0)"
else
	nok "-t: silent forwarder (rc=$rc): $out"
fi
udp_port "$TMP/answer.port" answer
responder=$!
sed -i "s/^dns_forwarders = .*/dns_forwarders = 127.0.0.1@$(cat "$TMP/answer.port")/" "$TMP/dnsdead.conf"
check "$TMP/dnsdead.conf"
kill $responder 2>/dev/null; wait $responder 2>/dev/null
[ $rc = 0 ] && ! grep -q "warning: dns_forwarders" <<<"$out" &&
	ok "-t: a DNS forwarder that answers gives no warning" ||
	nok "-t: answering forwarder (rc=$rc): $out"

echo "$failed failed"
[ $failed = 0 ]
