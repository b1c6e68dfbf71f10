#!/bin/bash
# 40-dmarc-maildmarc.sh - cross-check common/dmarc (RFC 9989, DNS Tree Walk)
# against Mail::DMARC's PurePerl evaluator (RFC 7489, Public Suffix List),
# both resolving through one private unbound serving data/40-dmarc.zone.
#
# Agreeing set: generated cases (From domain x SPF identity x DKIM identity)
# over domains where both discovery methods find the same record and
# Organizational Domain; result and disposition must be identical.
# Difference set: cases where RFC 9989 changed the rules; our verdict must be
# the one the cited section gives, Mail::DMARC's is printed beside it.
# Ports: 20900-20909 DNS.

. "$(dirname "$0")/lib.sh"

ma_require_cmd perl
perl -MMail::DMARC::PurePerl -e 1 2>/dev/null ||
	ma_skip "Mail::DMARC (libmail-dmarc-perl) not installed"
ma_init 40-dmarc

SRC=${MAILAUTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MAILAUTH_BUILD:-$SRC/build}
XCHECK=$BUILD/tests/dmarc-xcheck
DATA=$SRC/tests/integration/data
[ -x "$XCHECK" ] || ma_fail "driver not built: $XCHECK"

"$SRC/tests/integration/dnsserver.sh" start "$MA_TMP/dns" 20900-20909 \
	"$DATA/40-dmarc.zone" >"$MA_TMP/dns.port" 2>"$MA_TMP/dns.err"
rc=$?
[ $rc = 77 ] && ma_skip "unbound not installed"
[ $rc = 0 ] || { cat "$MA_TMP/dns.err"; ma_fail "dnsserver.sh start"; }
trap '"$SRC/tests/integration/dnsserver.sh" stop "$MA_TMP/dns" >/dev/null 2>&1; ma_cleanup' EXIT
PORT=$(cat "$MA_TMP/dns.port")
ma_log_register "$MA_TMP/dns/unbound.log"

# --- agreeing set: From domain x (SPF, DKIM) combinations ---------------------
# From domains: at the record, below it, strict record, sp=none, p=none, no
# record, record at the exact subdomain.  Identities: same, parent/org,
# subdomain, unrelated; pass and fail.
froms="example.com mail.example.com example.co.uk news.example.co.uk
example.net sub.example.net example.org a.example.org example.info
example.biz own.example.de x.own.example.de"
combos="
SAME pass - -
ORG pass - -
UNREL pass - -
SAME fail - -
- - SAME pass
- - ORG pass
- - SUB pass
- - UNREL pass
- - SAME fail
UNREL pass SAME fail
"
org_of() {
	case $1 in
	*.example.co.uk|example.co.uk) echo example.co.uk ;;
	*.example.de|example.de) echo example.de ;;
	*) echo "$1" | awk -F. '{print $(NF-1)"."$NF}' ;;
	esac
}
id_for() {	# KIND FROM -> identifier domain
	case $1 in
	SAME) echo "$2" ;;
	ORG) org_of "$2" ;;
	SUB) echo "bounce.$2" ;;
	UNREL) echo unrelated.example.us ;;
	-) echo - ;;
	esac
}
n=0
: >"$MA_TMP/agree.cases"
for f in $froms; do
	while read -r sk sr dk dr; do
		[ -n "$sk" ] || continue
		n=$((n + 1))
		mf=$(id_for "$sk" "$f")
		dd=$(id_for "$dk" "$f")
		[ "$sk" = - ] && { mf=unrelated.example.us; sr=fail; }
		echo "a$n $f $mf $sr $dd $dr" >>"$MA_TMP/agree.cases"
	done <<<"$combos"
done
[ "$n" -ge 50 ] || ma_fail "only $n generated cases"

"$XCHECK" "127.0.0.1@$PORT" <"$MA_TMP/agree.cases" >"$MA_TMP/ours.out" ||
	ma_fail "dmarc-xcheck failed"
perl "$SRC/tests/integration/dmarc_maildmarc.pl" "$PORT" \
	<"$MA_TMP/agree.cases" >"$MA_TMP/theirs.out" 2>"$MA_TMP/perl.err" ||
	{ cat "$MA_TMP/perl.err"; ma_fail "Mail::DMARC driver failed"; }


mismatch=0
while read -r id ores odis; do
	read -r tid tres tdis <&3
	[ "$id" = "$tid" ] || ma_fail "case order differs: $id vs $tid"
	if [ "$ores $odis" != "$tres $tdis" ]; then
		echo "MISMATCH $id: $(grep "^$id " "$MA_TMP/agree.cases") ours=$ores/$odis Mail::DMARC=$tres/$tdis"
		mismatch=$((mismatch + 1))
	fi
done <"$MA_TMP/ours.out" 3<"$MA_TMP/theirs.out"
[ "$(wc -l <"$MA_TMP/ours.out")" -eq "$n" ] || ma_fail "missing verdicts"
[ "$(grep -c ' pass ' "$MA_TMP/ours.out")" -gt 0 ] || ma_fail "no pass case"
[ "$(grep -c ' fail reject' "$MA_TMP/ours.out")" -gt 0 ] || ma_fail "no reject case"
[ "$(grep -c ' fail quarantine' "$MA_TMP/ours.out")" -gt 0 ] || ma_fail "no quarantine case"
[ "$(grep -c ' none ' "$MA_TMP/ours.out")" -gt 0 ] || ma_fail "no none case"
[ $mismatch = 0 ] || ma_fail "$mismatch of $n cases differ from Mail::DMARC"
ma_ok "$n generated cases: same result and disposition as Mail::DMARC"

# --- difference set: RFC 9989 decides -----------------------------------------
# id from mailfrom spf dkim-d dkim-r | our expected | RFC 9989 section
cat >"$MA_TMP/diff.cases" <<'CASES'
d1 a.dept.example.ca unrelated.example.us fail - - fail reject "DNS Tree Walk" to "Organizational Domain Discovery": the tree walk finds _dmarc.dept.example.ca (Org Domain dept.example.ca); the PSL lookup stops at example.ca, which has none
d2 example.at unrelated.example.us fail - - fail quarantine "General Record Format" t=y: the policy is applied one level down (as pct=0 was, "Removal of the pct tag"); RFC 7489 has no t=
d3 ghost.example.be unrelated.example.us fail - - fail reject "DMARC Policy Discovery" and "General Record Format" np=: a non-existent subdomain (no A/AAAA/MX) gets np=; RFC 7489 has no np=
d4 shop.psd.example.com.au unrelated.example.us fail - - fail reject "DNS Tree Walk" psd=y: the PSD record applies to shop.psd.example.com.au; the PSL gives example.com.au, which has none
d5 example.ch unrelated.example.us fail - - fail reject "Tags Removed" pct= removed: RFC 7489 pct=0 samples the message out (quarantine)
CASES
cut -d' ' -f1-6 "$MA_TMP/diff.cases" >"$MA_TMP/diff.in"
"$XCHECK" "127.0.0.1@$PORT" <"$MA_TMP/diff.in" >"$MA_TMP/diff.ours" ||
	ma_fail "dmarc-xcheck failed (differences)"
perl "$SRC/tests/integration/dmarc_maildmarc.pl" "$PORT" <"$MA_TMP/diff.in" \
	>"$MA_TMP/diff.theirs" 2>>"$MA_TMP/perl.err"
while read -r id _ _ _ _ _ wres wdis why; do
	got=$(grep "^$id " "$MA_TMP/diff.ours" | cut -d' ' -f2-3)
	theirs=$(grep "^$id " "$MA_TMP/diff.theirs" | cut -d' ' -f2-3)
	[ "$got" = "$wres $wdis" ] ||
		ma_fail "$id: ours $got, RFC 9989 $why wants $wres $wdis"
	[ "$theirs" != "$got" ] ||
		ma_fail "$id: Mail::DMARC now agrees ($theirs): move the case to the agreeing set"
	ma_ok "difference $id: ours $got, Mail::DMARC $theirs; $why"
done <"$MA_TMP/diff.cases"
