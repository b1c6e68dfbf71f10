#!/bin/bash
# 40-dmarc-check.sh - dmarc-check(8) against a private unbound: the tree walk
# lines, where the record was found, the Organizational Domain, tags with their
# meaning, removed and unknown tags, invalid records, the existence test for
# np=, and the exit status of each case; "reinject dmarc-check" (the same code
# as a subcommand) prints the same report.
# Ports: 20930-20939 DNS.

. "$(dirname "$0")/lib.sh"

ma_init 40-dmarc-check
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
CHECK=$BUILD/reinject/dmarc-check
[ -x "$CHECK" ] || ma_fail "not built: $CHECK"
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_fail "not built: $REINJECT"

cat >"$MA_TMP/zone" <<'EOF'
_dmarc.example.com. TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com; pct=50; foo=bar"
_dmarc.psd.example. TXT "v=DMARC1; p=reject; psd=y"
_dmarc.bad.example. TXT "v=DMARC1; p=reject; adkim=x"
_dmarc.two.example. TXT "v=DMARC1; p=none"
_dmarc.two.example. TXT "v=DMARC1; p=reject"
_dmarc.np.example. TXT "v=DMARC1; p=quarantine; np=reject"
real.np.example. A 192.0.2.1
zone dead.example. refuse
EOF
"$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20930-20939 "$MA_TMP/zone" \
	>"$MA_TMP/dns.port" 2>"$MA_TMP/dns.err"
rc=$?
[ $rc = 77 ] && ma_skip "unbound not installed"
[ $rc = 0 ] || { cat "$MA_TMP/dns.err"; ma_fail "dnsserver.sh start"; }
trap '"$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns" >/dev/null 2>&1; ma_cleanup' EXIT
DNS=127.0.0.1@$(cat "$MA_TMP/dns.port")

# check NAME WANT_EXIT - run dmarc-check, keep the output in $MA_TMP/NAME.out
check() {
	"$CHECK" "$1" --dns "$DNS" >"$MA_TMP/$1.out" 2>&1
	local rc=$?
	[ $rc = "$2" ] || { cat "$MA_TMP/$1.out"; ma_fail "$1: exit $rc, want $2"; }
	ma_log_register "$MA_TMP/$1.out"
}

check a.b.example.com 0
f=$MA_TMP/a.b.example.com.out
ma_assert_grep '^  1\. _dmarc\.a\.b\.example\.com TXT: NXDOMAIN, no record$' "$f" "first query at the domain itself"
ma_assert_grep '^  3\. _dmarc\.example\.com TXT: NOERROR, record$' "$f" "the walk finds example.com"
ma_assert_grep '^  4\. _dmarc\.com TXT' "$f" "the walk goes on to the top-level domain"
ma_assert_grep '^organizational domain: example\.com \(record with the fewest labels\)' "$f" "Organizational Domain and why"
ma_assert_grep '^policy record: at example\.com \(organizational domain\)' "$f" "where the record was found"
ma_assert_grep '^  sp=quarantine	policy for existing subdomains' "$f" "each tag with its meaning"
ma_assert_grep '^  pct=50	removed by RFC 9989' "$f" "removed tag marked"
ma_assert_grep '^  foo=bar	unknown tag: ignored' "$f" "unknown tag marked"

"$REINJECT" dmarc-check a.b.example.com --dns "$DNS" >"$MA_TMP/subcmd.out" 2>&1
rc=$?
[ $rc = 0 ] || { cat "$MA_TMP/subcmd.out"; ma_fail "reinject dmarc-check: exit $rc, want 0"; }
cmp -s "$f" "$MA_TMP/subcmd.out" || { diff "$f" "$MA_TMP/subcmd.out"; \
	ma_fail "reinject dmarc-check differs from dmarc-check"; }
ma_ok "reinject dmarc-check gives the same report as dmarc-check"

check x.psd.example 0
ma_assert_grep '^organizational domain: x\.psd\.example \(one label below the PSD psd\.example' \
	"$MA_TMP/x.psd.example.out" "psd=y: Organizational Domain one label below"
ma_assert_grep 'public suffix domain' "$MA_TMP/x.psd.example.out" "record found at the PSD"

check bad.example 1
ma_assert_grep 'error: bad value "x" for adkim=' "$MA_TMP/bad.example.out" "invalid record and why"
check two.example 1
ma_assert_grep 'several DMARC records \(all discarded\)' "$MA_TMP/two.example.out" "several records discarded"
check nothing.example 1
ma_assert_grep '^policy: none' "$MA_TMP/nothing.example.out" "no record: no policy"

check ghost.np.example 0
ma_assert_grep 'no A, AAAA or MX records: np= applies' "$MA_TMP/ghost.np.example.out" "np= for a non-existent subdomain"
check real.np.example 0
ma_assert_grep 'exists: sp= applies' "$MA_TMP/real.np.example.out" "sp= for an existing subdomain"

check a.dead.example 2
ma_assert_grep 'DNS error' "$MA_TMP/a.dead.example.out" "DNS failure: temperror exit"
"$CHECK" >/dev/null 2>&1
[ $? = 64 ] || ma_fail "no argument: exit status not 64"
ma_ok "usage error: exit 64"
