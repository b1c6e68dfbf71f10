#!/bin/bash
# 21-arc-interop.sh - ARC (RFC 8617) interop with real peers from Debian, both
# directions, keys from a private unbound (dnsserver.sh) for everyone:
#
#   ours seals (arctool seal) -> dkimpy (python3-dkim, dkim.arc_verify, what
#       arcverify runs) and Mail::DKIM::ARC::Verifier pass;
#   dkimpy (dkim.arc_sign, what arcsign runs) and Mail::DKIM::ARC::Signer
#       seal -> ours (arctool verify, libunbound) passes;
#   three hops ours -> dkimpy -> Mail::DKIM, and Mail::DKIM -> ours -> dkimpy:
#       all three verifiers pass the chain of three sets;
#   a Subject changed after the last seal: all three say fail; ours then
#       seals it with cv=fail (RFC 8617 §5.1.2): ours and Mail::DKIM say fail,
#       dkimpy gives no status (None) for such a chain.
# Ports: 21300-21349 DNS.

. "$(dirname "$0")/lib.sh"

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
DATA=$SRC/tests/integration/arc
TOOL=$BUILD/tests/arctool
RT=$BUILD/reinject/reinject-tools
PY=/usr/bin/python3
PORT_DNS=21300-21349

ma_require_cmd perl openssl $PY
[ -x "$TOOL" ] && [ -x "$RT" ] || ma_skip "arctool or reinject-tools not built"
$PY -c 'import dkim, dns.resolver, authres' 2>/dev/null ||
	ma_skip "python3-dkim / python3-dnspython / python3-authres missing"
perl -MMail::DKIM::ARC::Signer -MMail::DKIM::ARC::Verifier -MNet::DNS -e 1 2>/dev/null ||
	ma_skip "libmail-dkim-perl / libnet-dns-perl missing"
ma_init 21-arc-interop
T=$MA_TMP
mkdir -p "$T/keys"

# --- a key per sealer, served by a private unbound --------------------------
zone_line() {	# "name. IN TXT ( "a" "b" )" from keygen -> dnsserver.sh's "name. TXT "a" "b""
	sed -n 's/^\([^;][^\t]*\)\tIN\tTXT\t( \(.*\) )$/\1 TXT \2/p' "$1"
}
for d in ours py pl; do
	mkdir -p "$T/keys/$d"
	"$RT" keygen -d $d.example -s arc -D "$T/keys/$d" >/dev/null || ma_fail "keygen $d"
	zone_line "$T/keys/$d/arc.txt" >>"$T/dns.zone"
	echo "zone $d.example. static" >>"$T/dns.zone"
done
ma_dns_start dns $PORT_DNS "$T/dns.zone"
PORT=$MA_DNS_PORT

# --- the message, and the three sealers and verifiers --------------------------
printf '%s\r\n' "From: Alice <alice@origin.example>" "To: list@py.example" \
    "Subject: ARC interop" "Date: Mon, 7 Dec 2026 10:00:00 +0000" \
    "Message-ID: <arc-interop@origin.example>" "MIME-Version: 1.0" "" \
    "Hello list," "a line with  two spaces and a tab	here" "" "-- " "Alice" >"$T/base.eml"

# hop SEALER IN OUT CV - one hop: the A-R of mx.SEALER.example, then its seal
hop() {
	local who=$1 in=$2 out=$3 cv=$4 ar
	ar="mx.$who.example; arc=$cv; spf=pass smtp.mailfrom=alice@origin.example"
	{ printf 'Authentication-Results: %s\r\n' "$ar"; cat "$in"; } >"$T/ar.$who.eml"
	case $who in
	ours)	"$TOOL" seal -d ours.example -s arc -k "$T/keys/ours/arc.private" -c "$cv" \
		    -a "$ar" <"$T/ar.$who.eml" >"$out" ;;
	py)	$PY "$DATA/arc-peer.py" sign "$PORT" "$T/ar.$who.eml" py.example arc \
		    "$T/keys/py/arc.private" mx.py.example >"$out" ;;
	pl)	perl "$DATA/arc-peer.pl" sign "$PORT" "$T/ar.$who.eml" pl.example arc \
		    "$T/keys/pl/arc.private" mx.pl.example >"$out" ;;
	esac || ma_fail "$who could not seal $(basename "$in")"
	# Mail::DKIM writes its set with LF line ends: the message is CRLF
	sed -i 's/\r*$/\r/' "$out"
}

# verdicts FILE - "ours py pl" chain status words
verdicts() {
	local o p l
	o=$("$TOOL" verify -n "127.0.0.1@$PORT" <"$1")
	p=$($PY "$DATA/arc-peer.py" verify "$PORT" "$1")
	l=$(perl "$DATA/arc-peer.pl" verify "$PORT" "$1")
	echo "${o%% *} ${p%% *} ${l%% *}"
	echo "ours: $o / dkimpy: $p / Mail::DKIM: $l" >>"$T/verdicts.log"
}

# expect FILE WANT WHAT - every verifier says WANT
expect() {
	local got
	got=$(verdicts "$1")
	[ "$got" = "cv=$2 cv=$2 cv=$2" ] ||
		ma_fail "$3: ours, dkimpy, Mail::DKIM said \"$got\": $(tail -1 "$T/verdicts.log")"
	ma_ok "$3: ours, dkimpy and Mail::DKIM all say $2"
}

# --- one hop each -----------------------------------------------------------------
hop ours "$T/base.eml" "$T/ours1.eml" none
grep -q '^ARC-Seal: .*' "$T/ours1.eml" || ma_fail "no ARC-Seal from ours"
expect "$T/ours1.eml" pass "ours seals i=1"
hop py "$T/base.eml" "$T/py1.eml" none
expect "$T/py1.eml" pass "dkimpy seals i=1"
hop pl "$T/base.eml" "$T/pl1.eml" none
expect "$T/pl1.eml" pass "Mail::DKIM seals i=1"

# --- three hops, mixing the three ----------------------------------------------
hop py "$T/ours1.eml" "$T/a2.eml" pass
hop pl "$T/a2.eml" "$T/a3.eml" pass
[ "$(grep -c '^ARC-Seal:' "$T/a3.eml")" = 3 ] || ma_fail "a3: not three seals"
expect "$T/a3.eml" pass "ours -> dkimpy -> Mail::DKIM"
out=$("$TOOL" verify -n "127.0.0.1@$PORT" <"$T/a3.eml")
[[ $out == "cv=pass sets=3 oldest-pass=0 "* ]] || ma_fail "ours on a3: $out"
hop ours "$T/pl1.eml" "$T/b2.eml" pass
hop py "$T/b2.eml" "$T/b3.eml" pass
expect "$T/b3.eml" pass "Mail::DKIM -> ours -> dkimpy"

# --- a change after the last seal breaks the chain for everyone --------------------
for f in a3 b3; do
	sed 's/^Subject: ARC interop/Subject: [list] ARC interop/' "$T/$f.eml" >"$T/$f-bad.eml"
	expect "$T/$f-bad.eml" fail "$f with the Subject changed after sealing"
done
# and ours then seals the broken chain with cv=fail, which everyone reads as fail
hop ours "$T/a3-bad.eml" "$T/a4.eml" fail
grep -q 'cv=fail; d=ours.example; i=4' "$T/a4.eml" || ma_fail "no cv=fail seal: $(head -3 "$T/a4.eml")"
# dkimpy gives no status at all (None) once the latest seal says cv=fail
got=$(verdicts "$T/a4.eml")
[ "$got" = "cv=fail cv=None cv=fail" ] ||
	ma_fail "a4: ours, dkimpy, Mail::DKIM said \"$got\": $(tail -1 "$T/verdicts.log")"
ma_ok "ours seals a broken chain as i=4 cv=fail: ours and Mail::DKIM say fail, dkimpy None"
ma_ok "21-arc-interop: done"
