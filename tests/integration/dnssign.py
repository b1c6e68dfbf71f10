#!/usr/bin/python3
"""dnssign.py - make a DNSSEC-signed zone file and its trust anchor for tests.

Usage: dnssign.py ORIGIN RECORDS OUT_ZONE OUT_TRUST_ANCHOR

RECORDS has one record per line, "NAME [TTL] TYPE VALUE" (absolute names,
'#' comment lines), as dnsserver.sh zone files.  The zone gets an SOA, an NS,
one ECDSA P-256 key (RFC 6605) with the SEP flag, and an RRSIG over every
RRset (RFC 4034 §3), valid from an hour ago for 30 days.  No NSEC chain: only
positive answers validate.  OUT_TRUST_ANCHOR receives the DS record of the
key (RFC 4034 §5), for libunbound's ub_ctx_add_ta_file() or unbound's
trust-anchor-file.

Exit status 77 when dnspython or cryptography is missing (test skipped).
"""
import sys
import time

try:
    import dns.dnssec
    import dns.name
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as e:
    print("dnssign.py: %s" % e, file=sys.stderr)
    sys.exit(77)

SIG_VALIDITY = 30 * 86400   # seconds an RRSIG stays valid
SIG_BACKDATE = 3600         # inception this far in the past (clock skew)
DEFAULT_TTL = 300


def read_records(path, origin, add):
    """Feed the records of a RECORDS file to add()."""
    with open(path) as f:
        for line in f:
            words = line.split(None, 1)
            if not words or words[0].startswith('#'):
                continue
            name, rest = words[0], words[1].split(None, 1)
            ttl = DEFAULT_TTL
            if rest[0].isdigit():
                ttl = int(rest[0])
                rest = rest[1].split(None, 1)
            add(name, ttl, rest[0], rest[1].strip())


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    origin_text, records, out_zone, out_ta = sys.argv[1:5]
    origin = dns.name.from_text(origin_text)
    key = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(key.public_key(),
                                    dns.dnssec.Algorithm.ECDSAP256SHA256,
                                    flags=257)
    rrsets = {}

    def add(name, ttl, rtype, value):
        owner = dns.name.from_text(name, origin)
        rdtype = dns.rdatatype.from_text(rtype)
        rd = dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin,
                                 relativize=False)
        rrset = rrsets.setdefault((owner, rdtype),
                                  dns.rrset.RRset(owner, dns.rdataclass.IN,
                                                  rdtype))
        rrset.add(rd, ttl)

    ns = 'ns.' + origin.to_text()
    add('@', DEFAULT_TTL, 'SOA',
        '%s hostmaster.%s 1 3600 600 86400 300' % (ns, origin.to_text()))
    add('@', DEFAULT_TTL, 'NS', ns)
    add(ns, DEFAULT_TTL, 'A', '127.0.0.1')
    rrsets[(origin, dns.rdatatype.DNSKEY)] = dns.rrset.from_rdata(
        origin, DEFAULT_TTL, dnskey)
    read_records(records, origin, add)

    now = int(time.time())
    with open(out_zone, 'w') as f:
        for (owner, _), rrset in rrsets.items():
            sig = dns.dnssec.sign(rrset, key, origin, dnskey,
                                  inception=now - SIG_BACKDATE,
                                  expiration=now + SIG_VALIDITY)
            f.write(rrset.to_text() + '\n')
            f.write(dns.rrset.from_rdata(owner, rrset.ttl, sig).to_text()
                    + '\n')
    ds = dns.dnssec.make_ds(origin, dnskey, 'SHA256')
    with open(out_ta, 'w') as f:
        f.write('%s 3600 IN DS %s\n' % (origin.to_text(), ds.to_text()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
