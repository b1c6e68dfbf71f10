#!/bin/bash
# 33-reinject-check-report.sh - "reinject -t" checks the report settings as
# the workers and the master's report sender will use them (issue 12), as
# 33-reinject-check.sh does for keys and tables; each problem is reported
# with the setting and the path, and -t exits 78 (EX_CONFIG):
#   - report_store (SQLite) in a directory the run user cannot write, or an
#     existing store file it cannot write; the same made the user's passes;
#   - report_spool_file in a directory the run user cannot write;
#   - report_store_type = pgsql with a conninfo libpq cannot parse (a good
#     one passes: -t parses it, it does not connect);
#   - report_failure_directory that is a file, or whose parent the run user
#     cannot write;
#   - every problem of one run is listed, not only the first.
# Run it in a private network namespace (the listener binds 127.0.0.1:20956);
# dns_forwarders points at a responder of its own on a port the kernel picks.
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || { echo "SKIP: $REINJECT not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: the run user's permissions need root"; exit 77; }
TMP=$(mktemp -d /tmp/ma-check-report-XXXXXX)
responder=
trap 'kill $responder 2>/dev/null; rm -rf "$TMP"' EXIT
chmod 755 "$TMP"
failed=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; failed=$((failed + 1)); }

RUNUSER=reinject
id "$RUNUSER" >/dev/null 2>&1 || useradd --system --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin "$RUNUSER"
mkdir "$TMP/spool" "$TMP/user" "$TMP/root" "$TMP/ro"
chown "$RUNUSER" "$TMP/spool" "$TMP/user"
chmod 700 "$TMP/root"	# not even searchable by the run user
chmod 755 "$TMP/ro"	# searchable, not writable

# a DNS responder answering NOERROR to every query, so -t has no warning
python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    q, peer = s.recvfrom(4096)
    i = 12
    while q[i]:
        i += q[i] + 1
    s.sendto(q[:2] + bytes([0x81, 0x80]) + q[4:6] + bytes(6) + q[12:i + 5], peer)
' "$TMP/dns.port" &
responder=$!
for _ in $(seq 100); do [ -s "$TMP/dns.port" ] && break; sleep 0.05; done
DNSPORT=$(cat "$TMP/dns.port")

# conf NAME EXTRA - a configuration with the report settings EXTRA
conf() {
	cat >"$TMP/$1.conf" <<EOF2
user = $RUNUSER
listen = 127.0.0.1:20956 verify
spool_directory = $TMP/spool
dns_forwarders = 127.0.0.1@$DNSPORT
syslog = no
$2
EOF2
	echo "$TMP/$1.conf"
}

# check CONF - run reinject -t, bounded; sets rc and out
check() {
	out=$(timeout 20 "$REINJECT" -t -c "$1" 2>&1)
	rc=$?
}

# --- SQLite store and its spool --------------------------------------------------
check "$(conf rodir "report_enable = yes
report_store = $TMP/ro/r.db
report_spool_file = $TMP/user/r.spool")"
if [ $rc = 78 ] && grep -qxF "report_store $TMP/ro/r.db: cannot be created in $TMP/ro: Permission denied" <<<"$out"; then
	ok "-t: a report_store directory the run user cannot write is refused, naming it"
else
	nok "-t: report_store in a read-only directory (rc=$rc): $out"
fi
check "$(conf rootdir "report_enable = yes
report_store = $TMP/root/r.db
report_spool_file = $TMP/user/r.spool")"
if [ $rc = 78 ] && grep -qxF "report_store $TMP/root/r.db: Permission denied" <<<"$out"; then
	ok "-t: a report_store in a directory the run user cannot reach is refused"
else
	nok "-t: report_store in root's directory (rc=$rc): $out"
fi
check "$(conf userdir "report_enable = yes
report_store = $TMP/user/r.db
report_spool_file = $TMP/user/r.spool")"
[ $rc = 0 ] && [ ! -e "$TMP/user/r.db" ] &&
	ok "-t: a report_store the run user can create passes (and -t creates nothing)" ||
	nok "-t: report_store in the user's directory (rc=$rc): $out"
: >"$TMP/user/r.db"
chmod 600 "$TMP/user/r.db"
check "$TMP/userdir.conf"
if [ $rc = 78 ] && grep -qxF "report_store $TMP/user/r.db: Permission denied" <<<"$out"; then
	ok "-t: an existing store file the run user cannot write is refused"
else
	nok "-t: root's store file (rc=$rc): $out"
fi
chown "$RUNUSER" "$TMP/user/r.db"
check "$TMP/userdir.conf"
[ $rc = 0 ] && ok "-t: the store file owned by the run user passes" ||
	nok "-t: the user's store file (rc=$rc): $out"
check "$(conf spool "report_enable = yes
report_store = $TMP/user/r.db
report_spool_file = $TMP/ro/r.spool")"
if [ $rc = 78 ] && grep -qxF "report_spool_file $TMP/ro/r.spool: cannot be created in $TMP/ro: Permission denied" <<<"$out"; then
	ok "-t: a report_spool_file the run user cannot create is refused"
else
	nok "-t: report_spool_file in root's directory (rc=$rc): $out"
fi
check "$(conf off "report_enable = no
report_store = $TMP/root/r.db")"
[ $rc = 0 ] && ok "-t: with report_enable = no the store is not checked" ||
	nok "-t: reports off (rc=$rc): $out"

# --- PostgreSQL conninfo -------------------------------------------------------------
check "$(conf pgbad "report_enable = yes
report_store_type = pgsql
report_store = host=/run/postgresql dbname
report_spool_file = $TMP/user/r.spool")"
if [ $rc = 78 ] && grep -q '^report_store (PostgreSQL conninfo): .*"dbname"' <<<"$out"; then
	ok "-t: a PostgreSQL conninfo libpq cannot parse is refused with libpq's reason"
elif [ $rc = 78 ] && grep -q "no PostgreSQL support" <<<"$out"; then
	ok "-t: report_store_type pgsql refused: this build has no libpq"
else
	nok "-t: bad conninfo (rc=$rc): $out"
fi
check "$(conf pggood "report_enable = yes
report_store_type = pgsql
report_store = host=$TMP/nosocket port=5 dbname=reports user=mailauth
report_spool_file = $TMP/user/r.spool")"
if grep -q "no PostgreSQL support" <<<"$out"; then
	echo "# SKIP: built without libpq"
else
	[ $rc = 0 ] && ok "-t: a conninfo that parses passes without connecting" ||
		nok "-t: good conninfo (rc=$rc): $out"
fi

# --- failure report queue --------------------------------------------------------------
: >"$TMP/user/afile"
check "$(conf fdirfile "report_failure_enable = yes
report_failure_directory = $TMP/user/afile")"
if [ $rc = 78 ] && grep -qxF "report_failure_directory $TMP/user/afile: not a directory" <<<"$out"; then
	ok "-t: a report_failure_directory that is a file is refused"
else
	nok "-t: failure directory is a file (rc=$rc): $out"
fi
check "$(conf fdirroot "report_failure_enable = yes
report_failure_directory = $TMP/root/failure")"
if [ $rc = 78 ] && grep -qxF "report_failure_directory $TMP/root/failure: cannot be created: Permission denied" <<<"$out"; then
	ok "-t: a report_failure_directory the run user cannot create is refused"
else
	nok "-t: failure directory under root's (rc=$rc): $out"
fi
check "$(conf fdirok "report_failure_enable = yes
report_failure_directory = $TMP/user/failure")"
[ $rc = 0 ] && ok "-t: a report_failure_directory the run user can create passes" ||
	nok "-t: failure directory in the user's (rc=$rc): $out"

# --- every problem of one run ------------------------------------------------------------
check "$(conf all "report_enable = yes
report_store = $TMP/root/r.db
report_spool_file = $TMP/root/r.spool
report_failure_enable = yes
report_failure_directory = $TMP/root/failure")"
if [ $rc = 78 ] && grep -q "^report_store $TMP/root/r.db" <<<"$out" &&
    grep -q "^report_spool_file $TMP/root/r.spool" <<<"$out" &&
    grep -q "^report_failure_directory $TMP/root/failure" <<<"$out"; then
	ok "-t: the store, the spool and the failure queue problems of one run are all listed"
else
	nok "-t: several report problems (rc=$rc): $out"
fi

echo "$failed failed"
[ $failed = 0 ]
