# tests/bench/bench-lib.sh - what the end-to-end benchmarks share: the
# signing key and the private DNS data, 4 KiB-style test messages, the SMTP
# load, and a private Postfix (tests/integration/lib.sh) whose public smtpd
# is switched between Postfix alone, the after-queue content_filter,
# smtpd_proxy_filter and milters.  Sourced by milter-bench.sh and
# reinject-bench.sh after tests/integration/lib.sh and ma_init.
#
#   bench_key_dns PORTS [ZONE_LINE...]
#             $key (rsa-2048, owned by the reinject user), $MA_TMP/opendkim.key
#             (a copy), $txt (its DKIM record), a private unbound on a port of
#             PORTS serving example.org (the key, p=none DMARC) and
#             bench.example, both with an SOA so negative answers are cached,
#             plus ZONE_LINEs; sets $dnsport, stops it at exit (and removes
#             $BENCH_ODIR, when the script set it).
#   bench_msg_make SIZE SIGNED OUT
#             a message of about SIZE bytes from alice@example.org,
#             dkimpy-signed with $key when SIGNED is 1.
#   bench_load PORT FILE COUNT SESSIONS
#             send FILE COUNT times over SESSIONS SMTP connections kept open
#             (as Postfix's connection cache and busy clients do); prints
#             "N msg/s" and the number refused, if any.
#   bench_pf_setup SMTPD SINK BACK FILTER_PORT CONCURRENCY
#             smtp-sink on SINK, a private Postfix "pf" on SMTPD relaying to
#             it, the scan transport towards FILTER_PORT and the re-injection
#             smtpd on BACK (which never proxies); nothing enabled yet.
#   bench_pf_mode CONTENT_FILTER MILTERS [PROXY_FILTER [RCPT_RESTRICTIONS]]
#             switch the public smtpd and reload.
#   bench_mark_log; bench_delivered
#             messages the sink took since the mark (only the log written
#             since is read: rescanning all of it costs more and more CPU).
#   bench_median LABEL
#             the median of the rates recorded in RATES[LABEL].

# bench_key_dns PORTS [ZONE_LINE...] - key, DNS record, private unbound
bench_key_dns() {
	local ports=$1 i
	shift
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
		for i in "$@"; do echo "$i"; done
	} >"$MA_TMP/zone"
	dnsport=$(sh "$BENCH_SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" "$ports" "$MA_TMP/zone") ||
		ma_skip "no private DNS server"
	dnsport=${dnsport##*$'\n'}
	# BENCH_ODIR: a root-only directory the script made outside $MA_TMP
	trap 'rc=$?; sh "$BENCH_SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns"
	    [ -z "${BENCH_ODIR:-}" ] || rm -rf "$BENCH_ODIR"; (exit $rc); ma_cleanup' EXIT
}

# bench_msg_make SIZE SIGNED OUT - a message of about SIZE bytes
bench_msg_make() {
	"$PY" - "$1" "$2" "$key" "$3" <<'EOF'
import sys, dkim
size, signed, key, out = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], sys.argv[4]
line = b"The quick brown fox jumps over the lazy dog, 0123456789 abcdefghij.\r\n"
body = line * (size // len(line) + 1)
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

# bench_load PORT FILE COUNT SESSIONS - COUNT messages over SESSIONS connections
bench_load() {
	"$PY" - "$@" <<'EOF'
import socket, sys, time
from multiprocessing import Process, Queue
port, path, count, sess = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(path, "rb").read()
stuffed = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in data.split(b"\r\n"))
if not stuffed.endswith(b"\r\n"):
    stuffed += b"\r\n"
def reply(f):
    while True:
        l = f.readline()
        if len(l) < 4 or l[3:4] == b" ":
            return l
def worker(n, q):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO bench.example\r\n"); reply(f)
    bad = 0
    for i in range(n):
        s.sendall(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
        reply(f); reply(f); r = reply(f)
        if not r.startswith(b"354"):
            bad += 1
            s.sendall(b"RSET\r\n"); reply(f)
            continue
        s.sendall(stuffed + b".\r\n")
        if not reply(f).startswith(b"250"):
            bad += 1
    s.sendall(b"QUIT\r\n")
    q.put(bad)
q = Queue()
t0 = time.time()
ps = [Process(target=worker, args=(count // sess + (i < count % sess), q)) for i in range(sess)]
[p.start() for p in ps]
[p.join() for p in ps]
dt = time.time() - t0
bad = sum(q.get() for _ in ps)
print("%.0f" % (count / dt), "msg/s", "(%d refused)" % bad if bad else "")
EOF
}

# bench_pf_setup SMTPD SINK BACK FILTER_PORT CONCURRENCY - sink and Postfix
bench_pf_setup() {
	BENCH_SINK=$2
	ma_bg pfsink /usr/sbin/smtp-sink -u postfix "127.0.0.1:$2" 256
	ma_postfix_create pf "$1" "$2"
	ma_postfix_content_filter pf "$4" "$3" "$5"
	# the scan transport starts at its full concurrency (the filter is local
	# and does not need Postfix's slow start), as master.cf.reinject advises
	ma_postconf pf "content_filter =" \
		"scan_initial_destination_concurrency = $5" \
		"scan_destination_concurrency_limit = $5"
	ma_postfix_start pf
	pfdir=$(ma_postfix_dir pf)
	# the re-injection smtpd never proxies (its master.cf line has no override)
	postconf -c "$pfdir" -P "127.0.0.1:$3/inet/smtpd_proxy_filter="
}

# bench_pf_mode CONTENT_FILTER MILTERS [PROXY_FILTER [RCPT_RESTRICTIONS]]
bench_pf_mode() {
	postconf -c "$pfdir" -e "content_filter = $1" "smtpd_milters = $2" \
	    "milter_default_action = tempfail" "non_smtpd_milters =" \
	    "smtpd_proxy_filter = ${3:-}" "smtpd_proxy_options = speed_adjust" \
	    "smtpd_recipient_restrictions = ${4:-}"
	postfix -c "$pfdir" reload >/dev/null 2>&1
	sleep 1
}

BENCH_LOGOFF=0
# bench_mark_log - remember where the maillog ends now
bench_mark_log() {
	BENCH_LOGOFF=$(stat -c %s "$MA_TMP/pf/maillog" 2>/dev/null || echo 0)
}
# bench_delivered - messages the sink took since bench_mark_log
bench_delivered() {
	tail -c +$((BENCH_LOGOFF + 1)) "$MA_TMP/pf/maillog" |
	    grep -cE "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$BENCH_SINK,.*status=sent"
}

# bench_median LABEL - the median of a setup's rates over the rounds
bench_median() {
	tr ' ' '\n' <<<"${RATES[$1]}" | grep . | sort -n |
	    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
