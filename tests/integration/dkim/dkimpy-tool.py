#!/usr/bin/python3
"""dkimpy-tool.py - the dkimpy (Debian python3-dkim) side of the DKIM interop test.

  dkimpy-tool.py verify ZONE FILE...
      verifies every DKIM-Signature of each FILE with dkim.DKIM.verify(); keys come
      from ZONE ("name value" lines) through the dnsfunc hook of the API (the
      dkimverify command has no way to take keys other than from DNS).  Prints
      "FILE pass" when every signature verifies, else "FILE fail <which>".
  dkimpy-tool.py sign < JOBS
      JOBS lines: "IN OUT SELECTOR DOMAIN KEYFILE ALG HCANON BCANON"; writes the
      signature (dkim.sign(), what the dkimsign command calls) and the message
      to OUT.  Ed25519 keys are dkimpy's base64 seed form.
"""
import sys

import dkim


def load_zone(path):
    zone = {}
    with open(path) as f:
        for line in f:
            name, _, value = line.rstrip("\r\n").partition(" ")
            zone[name.lower().rstrip(".")] = value.encode()
    return zone


def verify(zone_path, files):
    zone = load_zone(zone_path)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return zone.get(name.lower().rstrip("."))

    rc = 0
    for path in files:
        with open(path, "rb") as f:
            msg = f.read()
        headers, _ = dkim.rfc822_parse(msg)
        count = sum(1 for h in headers if h[0].lower() == b"dkim-signature")
        bad = []
        d = dkim.DKIM(msg)
        for i in range(count):
            try:
                ok = d.verify(idx=i, dnsfunc=dnsfunc)
            except dkim.DKIMException as e:
                ok = False
                bad.append("%d:%s" % (i, e))
                continue
            if not ok:
                bad.append(str(i))
        if count and not bad:
            print(path, "pass")
        else:
            print(path, "fail", ",".join(bad) or "no-signature")
            rc = 1
    return rc


def sign():
    for line in sys.stdin:
        src, dst, sel, dom, keyfile, alg, hc, bc = line.split()
        with open(src, "rb") as f:
            msg = f.read()
        with open(keyfile, "rb") as f:
            key = f.read()
        sig = dkim.sign(msg, sel.encode(), dom.encode(), key,
                        canonicalize=(hc.encode(), bc.encode()),
                        signature_algorithm=alg.encode(),
                        include_headers=[b"from", b"to", b"subject", b"date",
                                         b"message-id",
                                         b"content-type", b"mime-version",
                                         b"resent-date", b"resent-from",
                                         b"x-tag"])
        with open(dst, "wb") as f:
            f.write(sig + msg)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) == 2 and sys.argv[1] == "sign":
        sys.exit(sign())
    sys.exit("usage: dkimpy-tool.py verify ZONE FILE... | sign < JOBS")
