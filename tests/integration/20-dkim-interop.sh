#!/bin/bash
# 20-dkim-interop.sh - DKIM interop with real peers from Debian, both directions.
#
#   ours -> dkimpy (python3-dkim, dkim.DKIM.verify) and Mail::DKIM
#           (libmail-dkim-perl, Mail::DKIM::Verifier): every signature passes;
#   dkimpy (dkim.sign, what dkimsign runs) -> ours: passes;
#   OpenDKIM (the opendkim milter on a private high port, driven by miltertest
#           as Postfix drives it; opendkim-testmsg only makes rsa-sha1) -> ours:
#           passes;
# for c= simple/simple, simple/relaxed, relaxed/simple, relaxed/relaxed, and
# rsa-sha256 and ed25519-sha256, over messages with an empty body, a body
# without final CRLF, trailing blank lines, folded and repeated fields, 8-bit
# content, 990-octet lines and a 20 MiB body (dkim/make-messages.py).
# Tampered copies (header, body byte, signature byte) fail here with the right
# reason and fail at the peers too; opendkim-testmsg's rsa-sha1 signature fails
# (RFC 8301).  reinject testkey is checked against a private unbound serving the
# records made by reinject keygen (split into 255-octet strings).
# Keys are served to dkimpy and Mail::DKIM through their DNS hooks, to ours
# through the in-memory resolver (dkimtool -z).
# Ports: 20600-20649 DNS, 20650-20699 opendkim.

. "$(dirname "$0")/lib.sh"

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
DATA=$SRC/tests/integration/dkim
TOOL=$BUILD/tests/dkimtool
RT=$BUILD/reinject/reinject-tools
PY=/usr/bin/python3
BIG_MIB=${DKIM_INTEROP_BIG_MIB:-20}
PORT_DNS=20600-20649
CANONS="simple/simple simple/relaxed relaxed/simple relaxed/relaxed"
ALGS="rsa ed25519"

ma_require_cmd /usr/sbin/opendkim miltertest opendkim-testmsg perl openssl $PY
[ -x "$TOOL" ] && [ -x "$RT" ] || ma_skip "dkimtool or reinject-tools not built"
$PY -c 'import dkim, nacl' 2>/dev/null || ma_skip "python3-dkim / python3-nacl missing"
perl -MMail::DKIM::Verifier -MCrypt::PK::Ed25519 -e 1 2>/dev/null ||
	ma_skip "libmail-dkim-perl / libcryptx-perl missing"
ma_init 20-dkim-interop
T=$MA_TMP
mkdir -p "$T/keys" "$T/ours" "$T/py" "$T/od" "$T/bad"

# --- keys and the static "zone" -------------------------------------------
for a in $ALGS; do
	"$RT" keygen -t $a -d example.com -s $a -D "$T/keys" >/dev/null ||
		ma_fail "keygen $a"
	echo "$a._domainkey.example.com $(cat "$T/keys/$a.value")" >>"$T/zone"
done
"$RT" keygen -d example.com -s other -D "$T/keys" >/dev/null || ma_fail "keygen other"
# dkimpy's Ed25519 key form: the 32-byte seed in base64 (end of the PKCS#8 DER)
openssl pkey -in "$T/keys/ed25519.private" -outform DER | tail -c 32 | base64 \
	>"$T/keys/ed25519.seed"
cp "$T/keys/rsa.private" "$T/keys/rsa.dkimpy"
cp "$T/keys/ed25519.seed" "$T/keys/ed25519.dkimpy"
$PY "$DATA/make-messages.py" "$T/msg" "$BIG_MIB" || ma_fail "make-messages"
SMALL=$(ls "$T"/msg/*.eml | grep -v '/big.eml$')
NSMALL=$(echo "$SMALL" | wc -l)

# key - selector of an algorithm; tag - file name part for a c= value
tag() { echo "${1/\//-}"; }

# want_pass DIR - our verifier passes every file of DIR
want_pass() {
	local f out n=0
	for f in "$1"/*.eml; do
		out=$("$TOOL" verify -z "$T/zone" <"$f") ||
			ma_fail "ours: $(basename "$f"): $out"
		n=$((n + 1))
	done
	ma_ok "ours verifies $n messages signed by $2"
}

# mail_dkim_files DIR - the files Mail::DKIM can judge: Debian 12's Mail::DKIM
# (1.20230212) has no ed25519-sha256, and its simple body canonicalization
# drops an unterminated last line instead of adding the CRLF RFC 6376 §3.4.3
# prescribes (dkimpy and we add it; over SMTP a body always ends in CRLF)
mail_dkim_files() {
	ls "$1"/*.eml | grep -v -e ed25519 -e 'dual-' -e '-simple-rsa-no-final-crlf'
}

# peers_pass DIR - dkimpy and Mail::DKIM pass every file of DIR
peers_pass() {
	local out
	out=$($PY "$DATA/dkimpy-tool.py" verify "$T/zone" "$1"/*.eml 2>&1) ||
		ma_fail "dkimpy rejects ours: $(echo "$out" | grep -v ' pass$')"
	ma_ok "dkimpy verifies $(echo "$out" | grep -c ' pass$') messages signed by ours"
	out=$(perl "$DATA/mail-dkim-verify.pl" "$T/zone" $(mail_dkim_files "$1") 2>&1) ||
		ma_fail "Mail::DKIM rejects ours: $(echo "$out" | grep -v ' pass$')"
	ma_ok "Mail::DKIM verifies $(echo "$out" | grep -c ' pass$') rsa-sha256 messages signed by ours"
	out=$(perl "$DATA/mail-dkim-verify.pl" "$T/zone" \
	    "$1"/simple-simple-rsa-no-final-crlf.eml 2>&1) &&
		ma_fail "Mail::DKIM now adds the final CRLF: drop the exception"
}

# --- ours -> dkimpy, Mail::DKIM ---------------------------------------------
for c in $CANONS; do
	for a in $ALGS; do
		for m in $SMALL; do
			"$TOOL" sign -c $c -S example.com:$a:"$T/keys/$a.private" <"$m" \
			    >"$T/ours/$(tag $c)-$a-$(basename "$m")" || ma_fail "sign $m"
		done
	done
done
if [ "$BIG_MIB" -gt 0 ]; then
	"$TOOL" sign -c relaxed/relaxed -S example.com:rsa:"$T/keys/rsa.private" \
	    <"$T/msg/big.eml" >"$T/ours/relaxed-relaxed-rsa-big.eml" || ma_fail "sign big"
	"$TOOL" sign -c simple/simple -S example.com:ed25519:"$T/keys/ed25519.private" \
	    <"$T/msg/big.eml" >"$T/ours/simple-simple-ed25519-big.eml" || ma_fail "sign big"
fi
# dual signing: both signatures in one message
"$TOOL" sign -S example.com:rsa:"$T/keys/rsa.private" \
    -S example.com:ed25519:"$T/keys/ed25519.private" <"$T/msg/folded-repeated.eml" \
    >"$T/ours/dual-folded-repeated.eml" || ma_fail "dual sign"
[ "$(grep -c '^DKIM-Signature:' "$T/ours/dual-folded-repeated.eml")" = 2 ] ||
	ma_fail "dual signing did not add two signatures"
peers_pass "$T/ours"
want_pass "$T/ours" ours

# --- dkimpy -> ours -----------------------------------------------------------
for c in $CANONS; do
	for a in $ALGS; do
		for m in $SMALL; do
			echo "$m $T/py/$(tag $c)-$a-$(basename "$m") $a example.com" \
			    "$T/keys/$a.dkimpy $a-sha256 ${c%/*} ${c#*/}"
		done
	done
done >"$T/py.jobs"
[ "$BIG_MIB" -gt 0 ] && echo "$T/msg/big.eml $T/py/big.eml rsa example.com" \
    "$T/keys/rsa.dkimpy rsa-sha256 relaxed relaxed" >>"$T/py.jobs"
$PY "$DATA/dkimpy-tool.py" sign <"$T/py.jobs" || ma_fail "dkimpy sign"
want_pass "$T/py" dkimpy

# --- OpenDKIM -> ours -----------------------------------------------------------
# opendkim_port - a free port of 20650-20699
opendkim_port() {
	local p
	for p in $(seq 20650 20699 | shuf); do
		ma_port_busy $p || { echo $p; return 0; }
	done
	return 1
}
# opendkim_listening PORT PID - PID (alive) listens on PORT; 2 once PID died
opendkim_listening() {
	local i
	for ((i = 0; i < 100; i++)); do
		ss -ltnpH "sport = :$1" 2>/dev/null | grep -q "pid=$2," && return 0
		ma_pid_running "$2" || return 2
		sleep 0.1
	done
	return 1
}

# opendkim_start DIR NAME - start opendkim on a free port (another test run
# may take the port first: then try another); sets $port
opendkim_start() {
	local try pid
	for try in 1 2 3 4 5; do
		port=$(opendkim_port) || ma_fail "no free port for opendkim"
		sed "s/@PORT@/$port/" "$1/opendkim.conf.in" >"$1/opendkim.conf"
		ma_bg "$2" /usr/sbin/opendkim -f -x "$1/opendkim.conf"
		pid=$(ma_bg_pid "$2")
		opendkim_listening $port "$pid" && return 0
		{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
	done
	ma_fail "opendkim did not start: $(cat "$MA_TMP/$2.log")"
}

# opendkim_broken DIR C - OpenDKIM 2.11.0~beta2's ed25519-sha256 signatures with
# simple header canonicalization verify nowhere (its signature does not cover
# the DKIM-Signature field as written); ours must agree with dkimpy on each
opendkim_broken() {
	local f py ours k=0
	for f in "$1"/*.eml; do
		py=$($PY "$DATA/dkimpy-tool.py" verify "$T/zone" "$f")
		ours=$("$TOOL" verify -z "$T/zone" <"$f")
		[ "${py##* }" = pass ] && [ "${ours%% *}" != pass ] &&
			ma_fail "dkimpy passes, ours does not: $f: $ours"
		[ "${py##* }" != pass ] && [ "${ours%% *}" = pass ] &&
			ma_fail "ours passes, dkimpy does not: $f: $py"
		[[ $ours == "fail signature mismatch "* ]] && k=$((k + 1))
	done
	ma_ok "OpenDKIM ($2, ed25519-sha256): ours agrees with dkimpy ($k signature mismatches, OpenDKIM's bug)"
}

n=0
for c in $CANONS; do
	for a in $ALGS; do
		d=$T/od/$(tag $c)-$a
		mkdir -p "$d/out"
		# OpenDKIM's own file formats, read by ours too (below)
		echo "k example.com:$a:$T/keys/$a.private" >"$d/KeyTable"
		echo "*@example.com k" >"$d/SigningTable"
		cat >"$d/opendkim.conf.in" <<-CONF
		Mode s
		Socket inet:@PORT@@127.0.0.1
		KeyTable file:$d/KeyTable
		SigningTable refile:$d/SigningTable
		Canonicalization $c
		SignatureAlgorithm $a-sha256
		OversignHeaders From
		Syslog no
		Background no
		RequireSafeKeys false
		PidFile $d/pid
		CONF
		# ours signs from the very same files
		mkdir -p "$T/tables"
		"$TOOL" sign -c $c -K "file:$d/KeyTable" -T "refile:$d/SigningTable" \
		    -F alice@example.com <"$T/msg/folded-repeated.eml" \
		    >"$T/tables/$(tag $c)-$a.eml" || ma_fail "sign from OpenDKIM's tables"
		echo "$SMALL" >"$d/list"
		[ $n = 0 ] && [ "$BIG_MIB" -gt 0 ] && echo "$T/msg/big.eml" >>"$d/list"
		opendkim_start "$d" "opendkim-$n"
		miltertest -D sock="inet:$port@127.0.0.1" -D list="$d/list" \
		    -D outdir="$d/out" -s "$DATA/opendkim-sign.lua" >"$d/mt.log" 2>&1 ||
			ma_fail "miltertest: $(cat "$d/mt.log")"
		# libmilter lingers 5 s after SIGTERM; nothing to flush in a test peer
		pid=$(ma_bg_pid "opendkim-$n")
		{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
		# OpenDKIM leaves a body without final CRLF unsigned under relaxed
		# body canonicalization (dkim_eom fails); over SMTP a body always
		# ends in CRLF.  Anything else unsigned is a failure of this test.
		want_unsigned=
		[ "${c#*/}" = relaxed ] && want_unsigned="unsigned no-final-crlf.eml"
		[ "$(cat "$d/mt.log")" = "$want_unsigned" ] ||
			ma_fail "opendkim $c $a unsigned: $(cat "$d/mt.log")"
		grep -q "^DKIM-Signature: v=1; a=$a-sha256; c=$c;" "$d/out/basic.eml" ||
			ma_fail "opendkim did not sign with a=$a-sha256 c=$c"
		if [ $a = ed25519 ] && [ "${c%/*}" = simple ]; then
			opendkim_broken "$d/out" "$c"
		else
			want_pass "$d/out" "OpenDKIM ($c, $a-sha256)"
		fi
		n=$((n + 1))
	done
done

# OpenDKIM's tables read by ours: the 8 configurations above, and dual signing
# (two keys for one domain in a plain SigningTable, algorithm per key)
cat >"$T/tables/KeyTable" <<KT
# OpenDKIM format; the fourth field is optional
rsa-key  example.com:rsa:$T/keys/rsa.private
ed-key   example.com:ed25519:$T/keys/ed25519.private:ed25519-sha256
KT
printf 'example.com rsa-key\nexample.com ed-key\n' >"$T/tables/SigningTable"
"$TOOL" sign -K "$T/tables/KeyTable" -T "$T/tables/SigningTable" -F Alice@Example.COM \
    <"$T/msg/8bit.eml" >"$T/tables/dual.eml" || ma_fail "dual signing from tables"
[ "$(grep -c '^DKIM-Signature:' "$T/tables/dual.eml")" = 2 ] || ma_fail "dual: not 2 signatures"
out=$($PY "$DATA/dkimpy-tool.py" verify "$T/zone" "$T"/tables/*.eml) ||
	ma_fail "dkimpy rejects a message signed from tables: $out"
ma_ok "ours signs from OpenDKIM's KeyTable/SigningTable files (9 messages, one dual-signed); dkimpy verifies"

# --- tampered copies fail with the right reason -----------------------------------
for f in relaxed-relaxed-rsa simple-simple-ed25519 relaxed-simple-ed25519; do
	src=$T/ours/$f-basic.eml
	sed 's/^Subject: interop basic/Subject: interop basiC/' "$src" >"$T/bad/$f-header.eml"
	sed 's/^Hello Bob,/Hello Bop,/' "$src" >"$T/bad/$f-body.eml"
	$PY - "$src" "$T/bad/$f-sig.eml" <<-'PYEOF'
	import sys
	m = open(sys.argv[1], "rb").read()
	i = m.index(b" b=") + 3 + 10   # a byte well inside the b= value
	c = m[i:i + 1]
	m = m[:i] + (b"A" if c != b"A" else b"B") + m[i + 1:]
	open(sys.argv[2], "wb").write(m)
	PYEOF
	for kind in header body sig; do
		cmp -s "$src" "$T/bad/$f-$kind.eml" && ma_fail "$f-$kind: nothing changed"
	done
	out=$("$TOOL" verify -z "$T/zone" <"$T/bad/$f-header.eml")
	[[ $out == "fail signature mismatch "* ]] || ma_fail "$f header changed: $out"
	out=$("$TOOL" verify -z "$T/zone" <"$T/bad/$f-body.eml")
	[[ $out == "fail body hash mismatch "* ]] || ma_fail "$f body changed: $out"
	out=$("$TOOL" verify -z "$T/zone" <"$T/bad/$f-sig.eml")
	[[ $out == "fail signature mismatch "* ]] || ma_fail "$f b= changed: $out"
done
ma_ok "tampered header and b= give 'signature mismatch', tampered body 'body hash mismatch'"
out=$($PY "$DATA/dkimpy-tool.py" verify "$T/zone" "$T"/bad/*.eml)
[ "$(echo "$out" | grep -c ' fail')" = 9 ] || ma_fail "dkimpy accepted a tampered copy: $out"
out=$(perl "$DATA/mail-dkim-verify.pl" "$T/zone" "$T"/bad/*-rsa-*.eml)
[ "$(echo "$out" | grep -c ' fail')" = 3 ] || ma_fail "Mail::DKIM accepted a tampered copy: $out"
ma_ok "dkimpy rejects the 9 tampered copies too, Mail::DKIM the 3 rsa-sha256 ones"

# --- rsa-sha1 (opendkim-testmsg signs with it) fails per RFC 8301 ------------------
opendkim-testmsg -C -d example.com -s rsa -k "$T/keys/rsa.private" \
    <"$T/msg/basic.eml" >"$T/sha1.eml" || ma_fail "opendkim-testmsg"
grep -q '^DKIM-Signature: v=1; a=rsa-sha1;' "$T/sha1.eml" || ma_fail "testmsg: no rsa-sha1"
out=$("$TOOL" verify -z "$T/zone" <"$T/sha1.eml")
[[ $out == "fail weak algorithm "* ]] || ma_fail "rsa-sha1: $out"
ma_ok "opendkim-testmsg's rsa-sha1 signature fails as RFC 8301 says"

# --- reinject testkey against a private unbound ---------------------------------------
zone_line() {	# "name. IN TXT ( "a" "b" )" from keygen -> dnsserver.sh's "name. TXT "a" "b""
	sed -n 's/^\([^;][^\t]*\)\tIN\tTXT\t( \(.*\) )$/\1 TXT \2/p' "$1"
}
{
	zone_line "$T/keys/rsa.txt"
	zone_line "$T/keys/ed25519.txt"
	zone_line "$T/keys/ed25519.txt" | sed 's/^ed25519\./mixed./'
} >"$T/dns.records"
[ "$(grep -c '" "' "$T/dns.records")" -ge 1 ] ||
	ma_fail "rsa record not split: $(cat "$T/dns.records")"
# DNSSEC-signed when dnssign.py can (python3-dnspython, python3-cryptography)
if "$SRC/tests/integration/dnsserver.sh" sign example.com. "$T/dns.records" \
    "$T/signed.zone" "$T/signed.ta" >"$T/sign.log" 2>&1; then
	echo "authzone example.com. $T/signed.zone" >"$T/dns.zone"
else
	echo "note: no signed zone: $(cat "$T/sign.log")"
	{ cat "$T/dns.records"; echo "zone example.com. static"; } >"$T/dns.zone"
	: >"$T/signed.ta"
fi
"$SRC/tests/integration/dnsserver.sh" start "$T/dns" $PORT_DNS "$T/dns.zone" \
    >"$T/dns.port" 2>"$T/dns.err" || ma_fail "dnsserver: $(cat "$T/dns.err")"
trap '"$SRC/tests/integration/dnsserver.sh" stop "$T/dns"; ma_cleanup' EXIT
dns=127.0.0.1@$(cat "$T/dns.port")
testkey() {	# want-exit selector keyfile [trust-anchor]
	local rc
	"$RT" testkey -d example.com -s "$2" -k "$3" --dns "$dns" \
	    --trust-anchor "${4:-none}" --timeout 3000 >"$T/testkey.out" 2>&1
	rc=$?
	[ $rc = "$1" ] || ma_fail "testkey $2 $3: exit $rc, want $1: $(cat "$T/testkey.out")"
}
testkey 0 rsa "$T/keys/rsa.private"
grep -q 'key OK: the published rsa key (2048 bits)' "$T/testkey.out" || ma_fail "$(cat "$T/testkey.out")"
testkey 0 ed25519 "$T/keys/ed25519.private"
testkey 5 rsa "$T/keys/other.private"
testkey 4 mixed "$T/keys/rsa.private"
testkey 3 missing "$T/keys/rsa.private"
ma_ok "testkey: split rsa record and ed25519 match (0), other key (5), k= mismatch (4), no record (3)"
if [ -s "$T/signed.ta" ]; then
	testkey 0 ed25519 "$T/keys/ed25519.private" "$T/signed.ta"
	grep -q 'DNSSEC secure' "$T/testkey.out" || ma_fail "not secure: $(cat "$T/testkey.out")"
	ma_ok "testkey reports a DNSSEC-validated answer as secure"
fi
exit 0
