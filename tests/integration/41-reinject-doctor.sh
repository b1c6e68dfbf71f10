#!/bin/bash
# 41-reinject-doctor.sh - "reinject doctor" against a private unbound whose
# zones exercise each finding, through the real libunbound backend:
#  good.example   forward-confirmed PTR, SPF and HELO SPF pass, matching
#                 DKIM key, DMARC p=reject with an internal and an authorised
#                 external rua, MX: every check ok, exit 0, and --json;
#  bad.example    no PTR (192.0.2.27), PTR not forward-confirmed (192.0.2.26),
#                 SPF over the RFC 7208 lookup limit, HELO SPF not covering an
#                 address, published key not the configured one, a 1024-bit
#                 key, DMARC record invalid: each named, exit 2;
#  ext.example    DMARC with an unauthorised external rua; none.example: no
#                 DMARC at all; dead.example: the name servers refuse (a
#                 network failure named, not a stack of errors).
# Ports: 20940-20949 DNS.

. "$(dirname "$0")/lib.sh"

ma_init 41-reinject-doctor
SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
REINJECT=$BUILD/reinject/reinject
[ -x "$REINJECT" ] || ma_fail "not built: $REINJECT"
PY=/usr/bin/python3

# keys: good (published), bad (configured, another one published), short
for k in good bad other short; do
	mkdir -p "$MA_TMP/$k"
	bits=2048
	[ $k = short ] && bits=1024
	"$REINJECT" keygen -d $k.example -s sel -b $bits -D "$MA_TMP/$k" >/dev/null ||
		ma_fail "keygen $k"
done
mkdir -p "$MA_TMP/ed"
"$REINJECT" keygen -t ed25519 -d ed.example -s ed -D "$MA_TMP/ed" >/dev/null || ma_fail "keygen ed"

# txt NAME VALUE - a zone line with VALUE split into 200-byte strings
txt() {
	local v=$2 i
	printf '%s TXT' "$1"
	for ((i = 0; i < ${#v}; i += 200)); do printf ' "%s"' "${v:i:200}"; done
	echo
}
{
	cat <<'EOF2'
25.2.0.192.in-addr.arpa. PTR mail.good.example.
mail.good.example. A 192.0.2.25
good.example. TXT "v=spf1 ip4:192.0.2.25 -all"
mail.good.example. TXT "v=spf1 a -all"
_dmarc.good.example. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.example,mailto:agg@reports.example"
good.example._report._dmarc.reports.example. TXT "v=DMARC1"
good.example. MX 10 mail.good.example.
26.2.0.192.in-addr.arpa. PTR liar.bad.example.
liar.bad.example. A 198.51.100.1
mail.bad.example. A 192.0.2.26
mail.bad.example. TXT "v=spf1 ip4:192.0.2.26 -all"
bad.example. TXT "v=spf1 include:i1.bad.example include:i2.bad.example include:i3.bad.example include:i4.bad.example include:i5.bad.example " "include:i6.bad.example include:i7.bad.example include:i8.bad.example include:i9.bad.example include:i10.bad.example include:i11.bad.example ip4:192.0.2.0/24 -all"
_dmarc.bad.example. TXT "v=DMARC1; p=bogus"
bad.example. MX 10 mail.bad.example.
_dmarc.ext.example. TXT "v=DMARC1; p=quarantine; rua=mailto:r@elsewhere.example"
ext.example. TXT "v=spf1 ip4:192.0.2.25 -all"
ext.example. MX 0 .
none.example. TXT "v=spf1 ip4:192.0.2.99 ~all"
none.example. MX 10 mail.good.example.
zone dead.example. refuse
EOF2
	for i in 1 2 3 4 5 6 7 8 9 10 11; do echo "i$i.bad.example. TXT \"v=spf1 -all\""; done
	txt sel._domainkey.good.example. "$(cat "$MA_TMP/good/sel.value")"
	txt sel._domainkey.bad.example. "$(cat "$MA_TMP/other/sel.value")"
	txt sel2._domainkey.bad.example. "$(cat "$MA_TMP/short/sel.value")"
	txt ed._domainkey.ed.example. "$(cat "$MA_TMP/ed/ed.value")"
} >"$MA_TMP/zone"
ma_dns_start dns 20940-20949 "$MA_TMP/zone"
DNS=127.0.0.1@$MA_DNS_PORT

conf() {
	cat >"$MA_TMP/$1.conf" <<EOF2
syslog = no
spool_directory = $MA_TMP
key_table = file:$MA_TMP/$1.keys
signing_table = file:$MA_TMP/$1.signing
EOF2
}
conf good
echo "k1 good.example:sel:$MA_TMP/good/sel.private" >"$MA_TMP/good.keys"
echo "*@good.example k1" >"$MA_TMP/good.signing"
conf bad
{
	echo "k1 bad.example:sel:$MA_TMP/bad/sel.private"
	echo "k2 bad.example:sel2:$MA_TMP/short/sel.private"
} >"$MA_TMP/bad.keys"
echo "*@bad.example k1" >"$MA_TMP/bad.signing"
# ed25519 only, simple form, and the configuration's own dns_forwarders
cat >"$MA_TMP/ed.conf" <<EOF2
syslog = no
spool_directory = $MA_TMP
sign_domain = ed.example
sign_selector = ed
sign_key_file = $MA_TMP/ed/ed.private
dns_forwarders = $DNS
EOF2

# doctor NAME WANT_EXIT ARGS... - run, keep the output in $MA_TMP/NAME.out
doctor() {
	local name=$1 want=$2 rc
	shift 2
	"$REINJECT" doctor --dns "$DNS" --trust-anchor none --timeout 3000 "$@" \
		>"$MA_TMP/$name.out" 2>&1
	rc=$?
	ma_log_register "$MA_TMP/$name.out"
	[ $rc = "$want" ] || { cat "$MA_TMP/$name.out"; ma_fail "$name: exit $rc, want $want"; }
	ma_ok "$name: exit $rc"
}

doctor good 0 --domain good.example --ip 192.0.2.25 --helo mail.good.example -c "$MA_TMP/good.conf"
f=$MA_TMP/good.out
ma_assert_grep '^ok   fcrdns     192\.0\.2\.25: 192\.0\.2\.25 -> mail\.good\.example -> 192\.0\.2\.25$' "$f" "forward-confirmed PTR"
ma_assert_grep '^ok   helo       mail\.good\.example: resolves to 192\.0\.2\.25, its PTR name$' "$f" "HELO name resolves to the address"
ma_assert_grep '^ok   spf        good\.example for 192\.0\.2\.25: pass \(matched ip4:192\.0\.2\.25; 0 DNS-querying terms, 0 void lookups\)$' "$f" "SPF pass with the term"
ma_assert_grep '^ok   spf-helo   mail\.good\.example for 192\.0\.2\.25: pass \(matched a; 1 DNS-querying terms' "$f" "HELO SPF pass"
ma_assert_grep '^ok   dkim       sel\._domainkey\.good\.example: key OK: the published rsa key \(2048 bits\) matches .*; DNSSEC insecure \(zone not signed, or no trust anchor\)$' "$f" "key matches, DNSSEC status"
ma_assert_grep '^ok   dmarc      good\.example: record at _dmarc\.good\.example \(.*\): p=reject adkim=relaxed aspf=relaxed$' "$f" "DMARC found, policy and modes"
ma_assert_grep '^ok   dmarc-dkim good\.example: d=good\.example aligns' "$f" "configured d= aligns"
ma_assert_grep '^ok   dmarc-rua  mailto:agg@reports\.example: reports\.example authorises reports for good\.example$' "$f" "external rua authorised (RFC 9990)"
ma_assert_grep '^ok   mx         good\.example: 10 mail\.good\.example$' "$f" "MX listed"
ma_assert_grep '^result: ok$' "$f" "worst finding: ok"

doctor good-json 0 --domain good.example --ip 192.0.2.25 --helo mail.good.example -c "$MA_TMP/good.conf" --json
"$PY" - "$MA_TMP/good-json.out" <<'EOF2' || ma_fail "--json output is not the expected JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["domain"] == "good.example" and d["result"] == "ok"
checks = {f["check"] for f in d["findings"]}
assert {"fcrdns", "helo", "spf", "spf-helo", "dkim", "dmarc", "mx"} <= checks, checks
assert all(f["level"] == "ok" for f in d["findings"])
EOF2
ma_ok "--json: one object with every check"

doctor bad 2 --domain bad.example --ip 192.0.2.26 --ip 192.0.2.27 --helo mail.bad.example -c "$MA_TMP/bad.conf"
f=$MA_TMP/bad.out
ma_assert_grep '^fail fcrdns     192\.0\.2\.27: no PTR record for 192\.0\.2\.27; fix: .*; publish: 27\.2\.0\.192\.in-addr\.arpa\. IN PTR mail\.bad\.example\.$' "$f" "missing PTR, with the record to publish"
ma_assert_grep '^fail fcrdns     192\.0\.2\.26: PTR not forward-confirmed: .*liar\.bad\.example.*; publish: liar\.bad\.example\. IN A 192\.0\.2\.26$' "$f" "PTR not forward-confirmed"
ma_assert_grep '^warn helo       mail\.bad\.example: its A does not include 192\.0\.2\.27' "$f" "HELO name without the address"
ma_assert_grep '^fail spf        bad\.example for 192\.0\.2\.26: permerror: more than 10 DNS-querying terms' "$f" "SPF over the lookup limit"
ma_assert_grep '^fail spf-limits bad\.example: over the RFC 7208 4\.6\.4 limit' "$f" "lookup limit finding"
ma_assert_grep '^fail spf-helo   mail\.bad\.example for 192\.0\.2\.27: fail \(matched -all\): the address is not authorised; fix: add ip4:192\.0\.2\.27' "$f" "SPF not covering the address"
ma_assert_grep '^fail dkim       sel\._domainkey\.bad\.example: key mismatch: .*; publish: sel\._domainkey\.bad\.example\. IN TXT \( "v=DKIM1; k=rsa; p=' "$f" "key mismatch, with the right record"
ma_assert_grep '^warn dkim-size  sel2\._domainkey\.bad\.example: RSA key of 1024 bits' "$f" "short RSA key"
ma_assert_grep '^fail dmarc      bad\.example: the record at _dmarc\.bad\.example is unusable' "$f" "DMARC invalid"
ma_assert_grep '^result: fail$' "$f" "worst finding: fail"

doctor ext 2 --domain ext.example --ip 192.0.2.25
f=$MA_TMP/ext.out
ma_assert_grep '^fail dmarc-rua  mailto:r@elsewhere\.example: elsewhere\.example is in another Organizational Domain and does not authorise reports for ext\.example.*; publish: ext\.example\._report\._dmarc\.elsewhere\.example\. IN TXT "v=DMARC1"$' "$f" "unauthorised external rua"
ma_assert_grep '^warn mx         ext\.example: null MX' "$f" "null MX named"
ma_assert_grep '^warn dkim       ext\.example: no signing configuration' "$f" "no -c: keys not checked, said so"

doctor none 2 --domain none.example --ip 192.0.2.25
f=$MA_TMP/none.out
ma_assert_grep '^fail dmarc      none\.example: no DMARC record.*; publish: _dmarc\.none\.example\. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@none\.example"$' "$f" "DMARC absent, record to publish"
ma_assert_grep '^fail spf        none\.example for 192\.0\.2\.25: softfail' "$f" "softfail is not coverage"

doctor dead 2 --domain dead.example --ip 192.0.2.25
f=$MA_TMP/dead.out
ma_assert_grep '^fail mx         dead\.example: DNS lookup of MX dead\.example failed: the name servers failed to answer' "$f" "network failure named"
ma_assert_grep '^fail spf        dead\.example for 192\.0\.2\.25: temperror: DNS failure' "$f" "SPF temperror named"

"$REINJECT" doctor --trust-anchor none --domain ed.example --ip 192.0.2.25 -c "$MA_TMP/ed.conf" \
	>"$MA_TMP/ed.out" 2>&1
ma_log_register "$MA_TMP/ed.out"
ma_assert_grep '^ok   dkim       ed\._domainkey\.ed\.example: key OK: the published ed25519 key matches' "$MA_TMP/ed.out" \
	"ed25519 key checked, through the configuration's dns_forwarders"
ma_assert_grep '^warn dkim-alg   ed\.example: ed25519 keys only' "$MA_TMP/ed.out" "ed25519 without an RSA partner"

"$REINJECT" doctor --domain x.example >"$MA_TMP/usage.out" 2>&1
[ $? = 64 ] || ma_fail "missing --ip: want exit 64 (EX_USAGE)"
ma_assert_grep 'at least one --ip' "$MA_TMP/usage.out" "usage error named"
