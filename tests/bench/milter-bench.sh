#!/bin/bash
# milter-bench.sh - reinject's milter listener end to end through a private
# Postfix (smtpd_milters), side by side in one run with Postfix alone, the
# milter protocol's ceiling (tests/bench/milter_noop.c: a libmilter filter
# that checks nothing and negotiates the same steps and no-reply flags),
# reinject's after-queue content_filter and smtpd_proxy_filter modes, and
# the OpenDKIM milter verifying and signing the same mail.
#
#   tests/bench/milter-bench.sh [BUILD_DIR]      (as root; ports 20850-20889)
#
# Environment: NE messages per run (1000), S parallel sessions (20),
# W reinject worker_processes (2), E2E_ROUNDS rounds (1).  4 KiB messages,
# dkimpy-signed for the verify rows, unsigned for the sign rows.
# Prints one line per run and a table: msg/s, % of Postfix alone, % of the
# ceiling.  The seed stack (policy service + OpenDKIM + OpenDMARC milters)
# is not measured here: OpenDMARC is not installed.
set -u
BUILD=$(cd "${1:-build}" && pwd)
. "$(dirname "$0")/../integration/lib.sh"

ma_require_cmd postfix postconf /usr/sbin/smtp-sink opendkim openssl
ma_require_root
PY=/usr/bin/python3
"$PY" -c 'import dkim' 2>/dev/null || ma_skip "python3-dkim missing"
REINJECT=$BUILD/reinject/reinject
NOOP=$BUILD/tests/bench/milter_noop
[ -x "$REINJECT" ] || ma_skip "$REINJECT not built"
[ -x "$NOOP" ] || ma_skip "$NOOP not built (libmilter-dev missing?)"
ma_init milter-bench
NE=${NE:-1000}
S=${S:-20}
W=${W:-2}

PF_SMTPD=20850
PF_SINK=20851
PF_BACK=20852
FILTER=20853
ODKIM=20855

# --- key, DNS, messages -------------------------------------------------------
ma_user_ensure reinject
key=$MA_TMP/sel.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null
chmod 600 "$key"
cp "$key" "$MA_TMP/opendkim.key"
chown reinject "$key"
txt="v=DKIM1; k=rsa; p=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)"
{
	echo "zone example.org."
	echo "example.org. SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 3600"
	echo "zone bench.example."
	echo "bench.example. SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 3600"
	printf 'sel._domainkey.example.org. TXT'
	for ((i = 0; i < ${#txt}; i += 200)); do printf ' "%s"' "${txt:i:200}"; done
	echo
	echo '_dmarc.example.org. TXT "v=DMARC1; p=none"'
} >"$MA_TMP/zone"
dnsport=$(sh "$(dirname "$0")/../integration/dnsserver.sh" start "$MA_TMP/dns" 20880-20889 "$MA_TMP/zone") ||
	ma_skip "no private DNS server"
dnsport=${dnsport##*$'\n'}
trap 'sh "$(dirname "$0")/../integration/dnsserver.sh" stop "$MA_TMP/dns"; ma_cleanup' EXIT

# msg_make SIGNED OUT - a 4 KiB message, dkimpy-signed or not
msg_make() {
	"$PY" - "$1" "$key" "$2" <<'EOF'
import sys, dkim
signed, key, out = sys.argv[1] == "1", sys.argv[2], sys.argv[3]
line = b"The quick brown fox jumps over the lazy dog, 0123456789 abcdefghij.\r\n"
body = line * (4096 // len(line) + 1)
hdr = (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
       b"Subject: benchmark\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
       b"Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
msg = hdr + body
if signed:
    msg = dkim.sign(msg, b"sel", b"example.org", open(key, "rb").read(),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + msg
open(out, "wb").write(msg)
EOF
}
msg_make 1 "$MA_TMP/signed.eml"
msg_make 0 "$MA_TMP/plain.eml"

# load PORT FILE COUNT SESSIONS - send FILE COUNT times over SESSIONS
# connections kept open (as a busy MTA's clients do)
load() {
	"$PY" - "$@" <<'EOF'
import socket, sys
from multiprocessing import Process
port, path, count, sess = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(path, "rb").read()
def reply(f):
    while True:
        l = f.readline()
        if len(l) < 4 or l[3:4] == b" ":
            return l
def worker(n):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO bench.example\r\n"); reply(f)
    for i in range(n):
        s.sendall(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
        reply(f); reply(f)
        if not reply(f).startswith(b"354"):
            s.sendall(b"RSET\r\n"); reply(f)
            continue
        s.sendall(data + b".\r\n")
        reply(f)
    s.sendall(b"QUIT\r\n")
ps = [Process(target=worker, args=(count // sess + (i < count % sess),)) for i in range(sess)]
[p.start() for p in ps]
[p.join() for p in ps]
EOF
}

# --- filters -------------------------------------------------------------------
reinject_conf() {	# reinject_conf NAME LISTEN INTERNAL
	cat >"$MA_TMP/$1.conf" <<EOF
listen = $2
downstream = 127.0.0.1:$PF_BACK
authserv_id = mx.bench.example
user = reinject
spool_directory = $MA_TMP/spool
worker_processes = $W
syslog = no
sign_domain = example.org
sign_selector = sel
sign_key_file = $key
internal_hosts = $3
dns_forwarders = 127.0.0.1@$dnsport
EOF
}
mkdir -p "$MA_TMP/spool"
chown reinject "$MA_TMP/spool"
# verify: an SMTP listener (content_filter, proxy) and a milter listener,
# no internal hosts; sign: a milter listener with the load's 127.0.0.1 internal
reinject_conf verify "127.0.0.1:$FILTER verify, unix:$MA_TMP/verify.sock milter" ""
reinject_conf sign "unix:$MA_TMP/sign.sock milter" "127.0.0.1"
ma_bg rverify "$REINJECT" -c "$MA_TMP/verify.conf" -e
ma_bg rsign "$REINJECT" -c "$MA_TMP/sign.conf" -e
ma_bg noop "$NOOP" "unix:$MA_TMP/noop.sock"
ma_wait_port $FILTER || ma_fail "reinject did not start"
ma_wait_for 10 test -S "$MA_TMP/sign.sock" || ma_fail "reinject (sign) did not start"
ma_wait_for 10 test -S "$MA_TMP/noop.sock" || ma_fail "milter_noop did not start"
chmod 666 "$MA_TMP/noop.sock"
# opendkim refuses a key below a world-writable directory (/tmp)
odir=$(mktemp -d /run/milter-bench.XXXXXX)
chmod 700 "$odir"
mv "$MA_TMP/opendkim.key" "$odir/opendkim.key"
# the key for verification from a file (OpenDKIM's TestPublicKeys), as its
# resolver cannot be pointed at the private DNS server's port
echo "sel._domainkey.example.org $txt" >"$odir/keys"
port=$ODKIM
for mode in v s; do
	cat >"$odir/opendkim-$mode.conf" <<EOF
Syslog no
Mode $mode
Domain example.org
Selector sel
KeyFile $odir/opendkim.key
Canonicalization relaxed/relaxed
Socket inet:$port@127.0.0.1
PidFile $odir/opendkim-$mode.pid
InternalHosts $([ $mode = s ] && echo 127.0.0.1 || echo 192.0.2.255)
TestPublicKeys $odir/keys
EOF
	port=$((port + 1))
done
ma_bg odkimv opendkim -f -x "$odir/opendkim-v.conf"
ma_bg odkims opendkim -f -x "$odir/opendkim-s.conf"
ma_wait_port $ODKIM || ma_fail "opendkim (verify) did not start"
ma_wait_port $((ODKIM + 1)) || ma_fail "opendkim (sign) did not start"

# --- Postfix ---------------------------------------------------------------------
ma_bg pfsink /usr/sbin/smtp-sink -u postfix 127.0.0.1:$PF_SINK 256
ma_postfix_create pf $PF_SMTPD $PF_SINK
ma_postfix_content_filter pf $FILTER $PF_BACK 20
ma_postconf pf "content_filter =" "scan_initial_destination_concurrency = 20" \
	"scan_destination_concurrency_limit = 20"
ma_postfix_start pf
pfdir=$(ma_postfix_dir pf)
postconf -c "$pfdir" -P "127.0.0.1:$PF_BACK/inet/smtpd_proxy_filter="
pf_mode() {	# pf_mode content_filter milters [proxy_filter]
	postconf -c "$pfdir" -e "content_filter = $1" "smtpd_milters = $2" \
	    "milter_default_action = tempfail" "non_smtpd_milters =" \
	    "smtpd_proxy_filter = ${3:-}" "smtpd_proxy_options = speed_adjust"
	postfix -c "$pfdir" reload >/dev/null 2>&1
	sleep 1
}
LOGOFF=0
mark_log() {
	LOGOFF=$(stat -c %s "$MA_TMP/pf/maillog" 2>/dev/null || echo 0)
}
delivered() {
	tail -c +$((LOGOFF + 1)) "$MA_TMP/pf/maillog" |
	    grep -cE "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_SINK,.*status=sent"
}
declare -A RATES
ROWS=()
# e2e LABEL FILE - NE messages into Postfix; rate until all reach the sink
e2e() {
	local before t0 t1 n rate
	mark_log
	before=$(delivered)
	load $PF_SMTPD "$2" $((NE / 5)) $S	# warm-up
	ma_wait_for 300 eval '[ $(( $(delivered) - before )) -ge '"$((NE / 5))"' ]'
	mark_log
	before=$(delivered)
	t0=$(date +%s.%N)
	load $PF_SMTPD "$2" "$NE" $S
	ma_wait_for 300 eval '[ $(( $(delivered) - before )) -ge '"$NE"' ]'
	t1=$(date +%s.%N)
	n=$(( $(delivered) - before ))
	rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "end to end, round $round, $1: $rate msg/s ($n delivered)"
	RATES[$1]="${RATES[$1]:-} $rate"
	[ "$round" = 1 ] && ROWS+=("$1")
}

echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# NE=$NE messages of 4 KiB, S=$S sessions, reinject worker_processes=$W"
for ((round = 1; round <= ${E2E_ROUNDS:-1}; round++)); do
	pf_mode "" ""
	e2e "Postfix alone" "$MA_TMP/signed.eml"
	pf_mode "" "unix:$MA_TMP/noop.sock"
	e2e "milter ceiling (libmilter no-op, same flags)" "$MA_TMP/signed.eml"
	pf_mode "" "unix:$MA_TMP/verify.sock"
	e2e "reinject milter verify" "$MA_TMP/signed.eml"
	pf_mode "" "unix:$MA_TMP/sign.sock"
	e2e "reinject milter sign" "$MA_TMP/plain.eml"
	pf_mode "scan:[127.0.0.1]:$FILTER" ""
	e2e "reinject verify (after-queue content_filter)" "$MA_TMP/signed.eml"
	pf_mode "" "" "127.0.0.1:$FILTER"
	e2e "reinject verify (smtpd_proxy_filter)" "$MA_TMP/signed.eml"
	pf_mode "" "inet:127.0.0.1:$ODKIM"
	e2e "OpenDKIM milter verify" "$MA_TMP/signed.eml"
	pf_mode "" "inet:127.0.0.1:$((ODKIM + 1))"
	e2e "OpenDKIM milter sign" "$MA_TMP/plain.eml"
done
rm -rf "$odir"

median() {
	tr ' ' '\n' <<<"${RATES[$1]}" | grep . | sort -n |
	    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
alone=$(median "Postfix alone")
ceiling=$(median "milter ceiling (libmilter no-op, same flags)")
echo "# end to end, 4 KiB, median of ${E2E_ROUNDS:-1} round(s): msg/s, % of Postfix alone, % of the milter ceiling"
for label in "${ROWS[@]}"; do
	m=$(median "$label")
	awk -v l="$label" -v m="$m" -v a="$alone" -v c="$ceiling" \
	    'BEGIN { printf "%-48s %6.0f msg/s %5.0f%% %5.0f%%\n", l, m, 100 * m / a, 100 * m / c }'
done
