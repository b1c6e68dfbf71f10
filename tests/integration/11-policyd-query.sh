#!/bin/bash
# 11-policyd-query.sh - "policyd query" (policyd(8), QUERY MODE) against a
# private unbound (dnsserver.sh), and policyd's SIGTERM drain with a request
# waiting for DNS.
#
# Query mode, one run per SPF result (RFC 7208 §2.6), asserting the exit
# status of policyd(8)'s EXIT STATUS table, the printed result, the exp=
# explanation of a fail (macros expanded), and the "lookup:" lines: each one
# names a query the DNS server really received, and every query it received
# is listed (unbound's log-queries; TTL 0 everywhere).  Temperror twice: a
# SERVFAIL from the server, and a server that never answers (TIMEOUT after
# dns_timeout).  Usage errors exit 64 with a message, a bad configuration 78.
#
# SIGTERM: policyd with a forwarder that never answers (dns_timeout 3 s)
# gets a request; once its DNS query is seen on the wire, SIGTERM.  Asserts
# what policyd(8), SIGNALS, promises: the listeners close at once (TCP
# connection refused, unix socket removed), an idle connection is closed, the
# request in flight and the one pipelined behind it still get their replies
# (temperror: DEFER_IF_PERMIT 4.7.24), then the connection closes and policyd
# exits 0.
#
# Ports (policyd's tests own 20300-20399; test_policyd_server uses
# 20310-20389): DNS 20300-20304, silent DNS (UDP) 20305-20308, dead 20309,
# policyd 20390-20399.  Runs in about 5 s.

. "$(dirname "$0")/lib.sh"

ma_init 11-policyd-query
[ -x /usr/sbin/unbound ] || ma_skip "unbound not installed"
command -v perl >/dev/null || ma_skip "perl not installed"

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
POLICYD=$BUILD/policyd/policyd
PORT_DNS=20300-20304
PORT_SILENT=20305-20308
PORT_DEAD=20309
PORT_POLICYD=20390-20399

[ -x "$POLICYD" ] || ma_fail "policyd not built: $POLICYD"
ma_port_busy $PORT_DEAD && ma_fail "port $PORT_DEAD must stay unused"

# --- a DNS server that receives queries and never answers -------------------
# (a bound UDP socket: no ICMP port-unreachable either); one line per query
# shellcheck disable=SC2016,SC2046 # perl code; the ports are words
ma_bg silent perl -MIO::Socket::INET -e '
	$| = 1;
	for my $p (@ARGV) {
		$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		    LocalPort => $p, Proto => "udp") and last;
	}
	$s or die "no free UDP port in @ARGV\n";
	print "port ", $s->sockport, "\n";
	print "query ", length($d), " bytes\n" while defined $s->recv($d, 4096);
' $(shuf -i $PORT_SILENT)
ma_wait_for 5 grep -q '^port ' "$MA_TMP/silent.log" ||
	ma_fail "silent DNS server did not start"
SILENT=$(awk '/^port /{ print $2 }' "$MA_TMP/silent.log")

# --- DNS -----------------------------------------------------------------------
cat >"$MA_TMP/zone" <<EOF
# every query logged, nothing cached (TTL 0): the log is the list of lookups
log-queries: yes
pass.example. 0 TXT "v=spf1 include:_spf.pass.example -all"
_spf.pass.example. 0 TXT "v=spf1 a:mx.pass.example -all"
mx.pass.example. 0 A 192.0.2.10
fail.example. 0 TXT "v=spf1 ip4:198.51.100.0/24 exp=why.fail.example -all"
why.fail.example. 0 TXT "%{i} is not a designated mail server of %{d}"
softfail.example. 0 TXT "v=spf1 ip4:198.51.100.0/24 ~all"
neutral.example. 0 TXT "v=spf1 ip4:198.51.100.0/24 ?all"
none.example. 0 TXT "site-verification=0123456789"
twice.example. 0 TXT "v=spf1 ip4:192.0.2.0/24 -all"
twice.example. 0 TXT "v=spf1 -all"
mx.client.example. 0 TXT "v=spf1 ip4:192.0.2.0/24 -all"
local.example. 0 TXT "v=spf1 a:mail.localhost a:mx.pass.example -all"
# temperror: dead.example is forwarded to a loopback port where nothing
# listens; unbound never forwards to loopback (do-not-query-localhost) and
# answers SERVFAIL at once, like a server whose upstream is unreachable
zone dead.example. transparent
forward-zone:
name: "dead.example."
forward-addr: 127.0.0.1@$PORT_DEAD
EOF
"$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" $PORT_DNS "$MA_TMP/zone" \
	>"$MA_TMP/dns.port" 2>"$MA_TMP/dns.err"
case $? in
0) ;;
77) ma_skip "unbound not installed" ;;
*) cat "$MA_TMP/dns.err"; ma_fail "dnsserver.sh start" ;;
esac
DNS=127.0.0.1@$(cat "$MA_TMP/dns.port")
UBLOG=$MA_TMP/dns/unbound.log
ma_log_register "$UBLOG"
cp "$MA_TMP/dns/pid" "$MA_TMP/unbound.pid"
MA_PIDS_NAMES+=(unbound)

# query NAME ARGS... - policyd query ARGS; output in $out, status in $qrc,
# the queries unbound received meanwhile in $MA_TMP/NAME.seen ("TYPE name")
query() {
	local name=$1 before
	shift
	out=$MA_TMP/$name.out
	before=$(wc -l <"$UBLOG")
	"$POLICYD" query "$@" >"$out" 2>&1
	qrc=$?
	ma_log_register "$out"
	tail -n +$((before + 1)) "$UBLOG" |
		sed -n 's/.* info: 127\.0\.0\.1 \([^ ]*\)\. \([A-Z0-9]*\) IN$/\2 \1/p' |
		sort -u >"$MA_TMP/$name.seen"
}

# expect NAME STATUS RESULT - exit status and "result:" line of the last query
expect() {
	[ "$qrc" = "$2" ] || { cat "$out"; ma_fail "$1: exit status $qrc, expected $2"; }
	ma_assert_grep "^result: $3\$" "$out" "$1: exit status $2, result: $3"
}

# expect_lookups NAME 'TYPE name'... - exactly these lookups were listed, and
# they are the queries the DNS server received
expect_lookups() {
	local name=$1
	shift
	sed -n 's/^lookup: \([A-Z0-9]*\) \([^:]*\): .*/\1 \2/p' "$out" |
		sort >"$MA_TMP/$name.listed"
	printf '%s\n' "$@" | sort >"$MA_TMP/$name.want"
	diff "$MA_TMP/$name.want" "$MA_TMP/$name.listed" >/dev/null ||
		{ cat "$out"; ma_fail "$name: lookups listed: $(paste -sd, "$MA_TMP/$name.listed"), expected: $*"; }
	diff "$MA_TMP/$name.want" "$MA_TMP/$name.seen" >/dev/null ||
		ma_fail "$name: the DNS server received $(paste -sd, "$MA_TMP/$name.seen"), listed: $*"
	ma_ok "$name: lookups listed and seen by the server: $*"
}

# --- one query per result ---------------------------------------------------------
query pass --ip 192.0.2.10 --sender user@pass.example --helo mx.client.example --dns "$DNS"
expect pass 0 pass
ma_assert_grep '^identity: mailfrom$' "$out" "pass: MAIL FROM identity checked"
ma_assert_grep '^mechanism: include:_spf\.pass\.example$' "$out" "pass: matching mechanism shown"
ma_assert_grep '^lookup: A mx\.pass\.example: NOERROR, 1 record$' "$out" \
	"pass: lookup line gives type, name, rcode and record count"
expect_lookups pass "TXT pass.example" "TXT _spf.pass.example" "A mx.pass.example"

query fail --ip 192.0.2.66 --sender user@fail.example --helo mx.client.example --dns "$DNS"
expect fail 1 fail
ma_assert_grep '^explanation: 192\.0\.2\.66 is not a designated mail server of fail\.example$' \
	"$out" "fail: exp= explanation printed, %{i} and %{d} expanded"
ma_assert_grep '^mechanism: -all$' "$out" "fail: matching mechanism shown"
expect_lookups fail "TXT fail.example" "TXT why.fail.example"

query softfail --ip 192.0.2.10 --sender user@softfail.example --dns "$DNS"
expect softfail 2 softfail
ma_assert_no_grep '^explanation:' "$out" "softfail: no explanation"
expect_lookups softfail "TXT softfail.example"

query neutral --ip 192.0.2.10 --sender user@neutral.example --dns "$DNS"
expect neutral 3 neutral
expect_lookups neutral "TXT neutral.example"

query none --ip 192.0.2.10 --sender user@none.example --dns "$DNS"
expect none 4 none
expect_lookups none "TXT none.example"

query nxdomain --ip 192.0.2.10 --sender user@nowhere.example --dns "$DNS"
expect nxdomain 4 none
ma_assert_grep '^lookup: TXT nowhere\.example: NXDOMAIN, 0 records$' "$out" \
	"nxdomain: NXDOMAIN lookup listed"

query permerror --ip 192.0.2.10 --sender user@twice.example --dns "$DNS"
expect permerror 5 permerror
ma_assert_grep '^lookup: TXT twice\.example: NOERROR, 2 records$' "$out" \
	"permerror: both records seen"
ma_assert_grep '^reason: .*2 SPF records' "$out" "permerror: reason names the two records"
expect_lookups permerror "TXT twice.example"

query servfail --ip 192.0.2.10 --sender user@dead.example --dns "$DNS"
expect servfail 6 temperror
ma_assert_grep '^lookup: TXT dead\.example: SERVFAIL, 0 records$' "$out" \
	"temperror: SERVFAIL lookup listed"

# a name libunbound answers itself (RFC 6761 localhost.) was never sent: it
# is listed as "local:", not as a lookup
query local --ip 192.0.2.10 --sender user@local.example --dns "$DNS"
expect local 0 pass
ma_assert_grep '^local: A mail\.localhost: NOERROR, 1 record \(answered by the resolver itself, not sent\)$' \
	"$out" "localhost.: listed as answered locally, not as a lookup"
expect_lookups local "TXT local.example" "A mx.pass.example"

# a server that never answers: TIMEOUT after the configuration's dns_timeout
printf 'dns_timeout = 1s\n' >"$MA_TMP/query.conf"
query timeout --ip 192.0.2.10 --sender user@slow.example --dns "127.0.0.1@$SILENT" \
	-c "$MA_TMP/query.conf"
expect timeout 6 temperror
ma_assert_grep '^lookup: TXT slow\.example: TIMEOUT, 0 records$' "$out" \
	"temperror: TIMEOUT lookup listed (dns_timeout from -c)"
grep -q '^query ' "$MA_TMP/silent.log" || ma_fail "timeout: the silent server got no query"

# --- identities -----------------------------------------------------------------
query helo --ip 192.0.2.10 --helo mx.client.example --dns "$DNS"
expect helo 0 pass
ma_assert_grep '^identity: helo$' "$out" "no sender: the HELO identity is checked"
expect_lookups helo "TXT mx.client.example"

query helo-fail --ip 203.0.113.5 --sender user@pass.example --helo mx.client.example \
	--identity helo --dns "$DNS"
expect helo-fail 1 fail
ma_assert_grep '^identity: helo$' "$out" "--identity helo: the HELO identity is checked"
expect_lookups helo-fail "TXT mx.client.example"

query ipv6 --ip 2001:db8::1 --sender user@pass.example --dns "$DNS"
expect ipv6 1 fail
ma_assert_grep '^lookup: AAAA mx\.pass\.example: NOERROR, 0 records$' "$out" \
	"ipv6: a:mx.pass.example looks up AAAA for an IPv6 client (RFC 7208 §5.3)"
ma_assert_grep '^lookups: 3 \(void: 1\)$' "$out" "ipv6: the empty AAAA answer counts as a void lookup"
expect_lookups ipv6 "TXT pass.example" "TXT _spf.pass.example" "AAAA mx.pass.example"

# --- usage and configuration errors ----------------------------------------------
# usage NAME MESSAGE-PATTERN ARGS... - exit 64, the message on stderr, no lookup
usage() {
	local name=$1 pat=$2
	shift 2
	query "$name" "$@"
	[ "$qrc" = 64 ] || { cat "$out"; ma_fail "$name: exit status $qrc, expected 64"; }
	ma_assert_grep "$pat" "$out" "$name: exit status 64 with a message"
	[ ! -s "$MA_TMP/$name.seen" ] || ma_fail "$name: a usage error made DNS queries"
}
usage no-ip '^usage: policyd query --ip addr' --sender user@pass.example --dns "$DNS"
usage bad-ip 'bad address 192\.0\.2\.300' --ip 192.0.2.300 --sender user@pass.example --dns "$DNS"
usage not-ip 'bad address mx\.example' --ip mx.example --sender user@pass.example --dns "$DNS"
usage no-identity '^usage: policyd query' --ip 192.0.2.10 --dns "$DNS"
usage bad-identity '^usage: policyd query' --ip 192.0.2.10 --sender user@pass.example \
	--identity rcpt --dns "$DNS"
usage extra-arg '^usage: policyd query' --ip 192.0.2.10 --sender user@pass.example extra

printf 'dns_timeout = 1s\nno_such_setting = 1\n' >"$MA_TMP/bad.conf"
query bad-config --ip 192.0.2.10 --sender user@pass.example -c "$MA_TMP/bad.conf" --dns "$DNS"
[ "$qrc" = 78 ] || { cat "$out"; ma_fail "bad-config: exit status $qrc, expected 78"; }
ma_assert_grep 'bad\.conf:2' "$out" "bad-config: exit status 78, the message names file and line"

# --- SIGTERM with a request in flight ---------------------------------------------
for port in $(shuf -i $PORT_POLICYD); do
	ma_port_busy "$port" || break
done
PORT=$port
mkdir -p "$MA_TMP/run"
user=
if [ "$(id -u)" = 0 ]; then
	# policyd refuses to run as root: it becomes this user after binding
	ma_user_ensure mailauth || ma_fail "cannot create user mailauth"
	chown mailauth "$MA_TMP/run"	# the user removes the socket at exit
	user="user = mailauth"
fi
SOCK=$MA_TMP/run/policyd
cat >"$MA_TMP/policyd.conf" <<EOF
# 11-policyd-query.sh: DNS never answers; a lookup fails after dns_timeout
listen = inet:127.0.0.1:$PORT, unix:$SOCK
dns_forwarders = 127.0.0.1@$SILENT
dns_timeout = 3s
shutdown_timeout = 20s
$user
EOF
ma_bg policyd "$POLICYD" -f -c "$MA_TMP/policyd.conf"
ma_wait_port "$PORT" || ma_fail "policyd did not listen on $PORT"
PLOG=$MA_TMP/policyd.log

# rcpt INSTANCE RECIPIENT - one RCPT request of a message from slow.example
rcpt() {
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n'
	printf 'client_address=192.0.2.1\nclient_name=unknown\nhelo_name=\n'
	printf 'sender=user@slow.example\nrecipient=%s\nqueue_id=\ninstance=%s\n\n' "$2" "$1"
}

# read_reply FD - one reply, its action= line in $reply; status 1 at end of
# file (anything before it in $reply), 2 when nothing came for 10 s
read_reply() {
	local line rc=0
	reply=
	IFS= read -r -t 10 reply <&"$1" || rc=$?
	[ $rc -gt 128 ] && return 2
	[ $rc -ne 0 ] && return 1
	IFS= read -r -t 10 line <&"$1" && [ -z "$line" ] ||
		ma_fail "reply \"$reply\" not ended by an empty line"
}

# expect_eof FD WHAT - the server closed FD without sending anything more
expect_eof() {
	local rc=0
	read_reply "$1" || rc=$?
	case $rc in
	1) [ -z "$reply" ] || ma_fail "$2: closed after a partial reply \"$reply\"" ;;
	2) ma_fail "$2: still open after 10 s" ;;
	*) ma_fail "$2: unexpected reply \"$reply\"" ;;
	esac
}

exec 5<>"/dev/tcp/127.0.0.1/$PORT" || ma_fail "cannot connect to policyd"	# idle
exec 6<>"/dev/tcp/127.0.0.1/$PORT" || ma_fail "cannot connect to policyd"	# busy
printf 'request=smtpd_access_policy\nprotocol_state=DATA\ninstance=I0\n\n' >&6
read_reply 6 && [ "$reply" = action=DUNNO ] ||
	ma_fail "policyd did not answer a DATA request with DUNNO (got \"$reply\")"
queries_before=$(grep -c '^query ' "$MA_TMP/silent.log")
# two recipients of one message, pipelined: the second waits behind the first
{ rcpt I1 a@example.net; rcpt I1 b@example.net; } >&6
has_new_query() {
	[ "$(grep -c '^query ' "$MA_TMP/silent.log")" -gt "$queries_before" ]
}
ma_wait_for 5 has_new_query || ma_fail "policyd sent no DNS query for the request"
kill -TERM "$(ma_bg_pid policyd)"
ma_wait_for 5 grep -q 'signal 15: stopping' "$PLOG" || ma_fail "policyd did not log SIGTERM"

ma_bg_alive policyd || ma_fail "policyd exited with a request in flight"
ma_port_busy "$PORT" && ma_fail "policyd still accepts TCP connections after SIGTERM"
ma_ok "after SIGTERM: new TCP connections refused"
[ -e "$SOCK" ] && ma_fail "unix socket $SOCK still there after SIGTERM"
ma_ok "after SIGTERM: unix socket removed"
expect_eof 5 "idle connection after SIGTERM"
ma_ok "after SIGTERM: the idle connection is closed without a reply"

read_reply 6 || ma_fail "the request in flight got no reply after SIGTERM"
case $reply in
"action=DEFER_IF_PERMIT 4.7.24 "*"DNS TIMEOUT looking up TXT slow.example"*)
	ma_ok "request in flight answered after SIGTERM: $reply" ;;
*) ma_fail "request in flight: got \"$reply\", expected DEFER_IF_PERMIT 4.7.24 (temperror)" ;;
esac
read_reply 6 || ma_fail "the pipelined second recipient got no reply after SIGTERM"
case $reply in
"action=DEFER_IF_PERMIT 4.7.24 "*) ma_ok "pipelined request answered after SIGTERM: $reply" ;;
*) ma_fail "pipelined request: got \"$reply\", expected DEFER_IF_PERMIT 4.7.24" ;;
esac
expect_eof 6 "drained connection after its replies"
ma_ok "the drained connection is closed after its replies"
exec 5<&- 6<&-

pid=$(ma_bg_pid policyd)
for ((i = 0; i < 50; i++)); do
	ma_pid_running "$pid" || break
	sleep 0.1
done
ma_pid_running "$pid" && ma_fail "policyd still running 5 s after its last reply"
wait "$pid"
rc=$?
rm -f "$MA_TMP/policyd.pid"
[ $rc = 0 ] || ma_fail "policyd exited with status $rc after SIGTERM"
sig_line=$(grep -n 'signal 15: stopping' "$PLOG" | cut -d: -f1)
verdict_line=$(grep -n 'spf verdict: .*sender=user@slow\.example .*result=temperror action=defer' \
	"$PLOG" | head -n 1 | cut -d: -f1)
[ -n "$sig_line" ] && [ -n "$verdict_line" ] && [ "$verdict_line" -gt "$sig_line" ] ||
	ma_fail "policyd's log does not show the temperror verdict after the signal: the request was not in flight at SIGTERM"
ma_ok "policyd's log: the verdict was made after SIGTERM (the request was in flight)"
ma_assert_no_grep 'Sanitizer|runtime error|shutdown_timeout reached' "$PLOG" \
	"policyd exited 0 after draining, before shutdown_timeout, no sanitizer report"
