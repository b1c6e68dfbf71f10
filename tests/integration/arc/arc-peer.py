#!/usr/bin/python3
"""arc-peer.py - dkimpy's ARC (python3-dkim) as the peer of 21-arc-interop.sh.

  arc-peer.py verify PORT FILE
      dkim.arc_verify over FILE, keys from the DNS server on 127.0.0.1:PORT;
      prints "cv=<cv> (<reason>)", exit 0 on pass.
  arc-peer.py sign PORT FILE DOMAIN SELECTOR KEYFILE SRV-ID
      dkim.arc_sign (what arcsign runs): the chain status comes from the
      arc= result of FILE's Authentication-Results for SRV-ID; prints the new
      set followed by the message.
"""
import sys

import dkim
import dns.resolver


def dnsfunc_for(port):
    """A dkimpy DNS hook asking only the private server."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = int(port)

    def lookup(name, timeout=5):
        try:
            ans = res.resolve(name.decode() if isinstance(name, bytes) else name, "TXT",
                              lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(r.strings) for r in ans)
    return lookup


def main():
    cmd, port, path = sys.argv[1], sys.argv[2], sys.argv[3]
    msg = open(path, "rb").read()
    if cmd == "verify":
        cv, _results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc_for(port))
        # dkimpy gives no status (None) for a chain whose latest seal says cv=fail
        print("cv=%s (%s)" % (cv.decode() if cv else "None", reason))
        return 0 if cv == b"pass" else 1
    domain, selector, keyfile, srv_id = sys.argv[4:8]
    key = open(keyfile, "rb").read()
    sigs = dkim.arc_sign(msg, selector.encode(), domain.encode(), key, srv_id.encode())
    if not sigs:
        print("not sealed", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(b"".join(sigs) + msg)
    return 0


sys.exit(main())
