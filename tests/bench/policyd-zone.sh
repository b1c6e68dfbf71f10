#!/bin/bash
# policyd-zone.sh - the DNS data of the policyd benchmarks, in the zone file
# format of tests/integration/dnsserver.sh, on stdout.
#
#   tests/bench/policyd-zone.sh [DOMAINS]
#
# DOMAINS (20) sender domains s<N>.bench.example: ip4:192.0.2.0/25, an
# include: whose record has an a: mechanism, and ~all (every fourth -all);
# each HELO name mx.s<N>.bench.example has v=spf1 a ip4:192.0.2.0/24 ~all.
# A client outside 192.0.2.0/24 costs 5 lookups per request (HELO: TXT, A;
# MAIL FROM: TXT, the include's TXT, A).  TTL 300 s (dnsserver.sh's default).
set -u
DOMAINS=${1:-20}
for ((d = 0; d < DOMAINS; d++)); do
	all="~all"
	((d % 4 == 3)) && all="-all"
	echo "s$d.bench.example. TXT \"v=spf1 ip4:192.0.2.0/25 include:_spf.s$d.bench.example $all\""
	echo "_spf.s$d.bench.example. TXT \"v=spf1 a:out.s$d.bench.example -all\""
	echo "out.s$d.bench.example. A 198.51.100.$((d + 1))"
	echo "mx.s$d.bench.example. TXT \"v=spf1 a ip4:192.0.2.0/24 ~all\""
	echo "mx.s$d.bench.example. A 192.0.2.$((d + 100))"
done
