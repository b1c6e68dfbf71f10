#!/bin/bash
# 36-reinject-min-key-bits.sh - dkim_min_key_bits end to end: a message
# signed by dkimpy with a 1024-bit RSA key published in a private unbound,
# sent to reinject's verify listener over SMTP, gets dkim=fail with the
# reason "RSA key shorter than the minimum" (RFC 8301 §3.2 lets a verifier
# ask for more; common/dkim reports it as a failure, as for keys under
# 1024 bits, so it never counts for DMARC) with
# dkim_min_key_bits = 2048, while a 2048-bit signature passes there; with
# dkim_min_key_bits = 1024 the same 1024-bit message passes.  dkimpy
# verifies both messages against the same unbound, so the refusal is the
# policy alone.  Ports: a free block in 21550-21599.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'EOF'
import os
import re
import subprocess
import sys

here = sys.argv[1]
sys.path.insert(0, here)
from rtload import rt  # noqa: E402
import dnstest  # noqa: E402
rt.PORT_BLOCKS["minbits"] = [21550, 21560, 21570, 21580, 21590]
ok = rt.ok


def keygen(tmp, bits, sel):
    p = subprocess.run([rt.REINJECT, "keygen", "-b", str(bits), "-d", "example.org",
                        "-s", sel, "-D", tmp], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject keygen -b %d -s %s" % (bits, sel))
    with open(os.path.join(tmp, sel + ".private"), "rb") as f:
        key = f.read()
    with open(os.path.join(tmp, sel + ".value")) as f:
        return key, f.read().strip()


def signed(key, sel, subject):
    import dkim
    msg = (b"From: alice@example.org\r\nTo: b@example.com\r\nSubject: " +
           subject.encode() + b"\r\nMessage-ID: <" + subject.encode() +
           b"@example.org>\r\n\r\nBody of " + subject.encode() + b".\r\n")
    sig = dkim.sign(msg, sel.encode(), b"example.org", key,
                    include_headers=[b"From", b"To", b"Subject", b"Message-ID"])
    return sig + msg


def relay(port, sink, msg):
    c = rt.Client(port)
    c.reply()
    c.cmd("EHLO client.example")
    n = len(sink.messages)
    reps, final = rt.transaction(c, ["b@example.com"], msg, "MAIL FROM:<alice@example.org>")
    c.close()
    rt.wait_for(lambda: len(sink.messages) > n, 5)
    ok(final is not None and final[0] == 250, "relayed with 250 (%s)" % (final,))
    return sink.messages[-1]["data"] if len(sink.messages) > n else b""


def authres(data):
    hdr = data.split(b"\r\n\r\n", 1)[0].decode()
    m = re.search(r"^Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr,
                  re.M | re.I)
    return re.sub(r"\s+", " ", m.group(1)) if m else ""


def run(tmp, dns, min_bits, msgs, sink, P):
    work = os.path.join(tmp, "r%d" % min_bits)
    os.makedirs(work)
    r = rt.Reinject(work, P, P + 2, "dns_forwarders = %s\ndkim_min_key_bits = %d\n"
                    % (dns.forwarder(), min_bits))
    r.start()
    out = {}
    try:
        for name, msg in msgs.items():
            out[name] = authres(relay(P, sink, msg))
    finally:
        r.stop()
    ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
       "min %d: no sanitizer report or panic" % min_bits)
    return out


def test(tmp):
    try:
        import dkim
        import dns.resolver  # noqa: F401
    except ImportError:
        print("SKIP: python3-dkim or python3-dnspython missing")
        return 77
    rt.P = P = rt.free_block("minbits")
    k1024, v1024 = keygen(tmp, 1024, "short")
    k2048, v2048 = keygen(tmp, 2048, "long")
    dns = dnstest.Server(tmp, "%d" % (P + 5))
    if dns.start([("short._domainkey.example.org.", 300, "TXT", v1024),
                  ("long._domainkey.example.org.", 300, "TXT", v2048)]) == 77:
        print("SKIP: unbound missing")
        return 77
    msgs = {"1024": signed(k1024, "short", "bits1024"),
            "2048": signed(k2048, "long", "bits2048")}
    for name, msg in msgs.items():
        ok(dkim.DKIM(msg).verify(dnsfunc=dns.dnsfunc()),
           "the %s-bit signature verifies with dkimpy against the private unbound" % name)
    sink = rt.Sink(P + 2)
    try:
        strict = run(tmp, dns, 2048, msgs, sink, P)
        lax = run(tmp, dns, 1024, msgs, sink, P)
    finally:
        sink.close()
        dns.stop()
    ok(re.search(r"dkim=fail \(RSA key shorter than the minimum RFC 8301\) "
                 r"header\.d=example\.org header\.s=short", strict["1024"]) is not None
       and "dkim=pass" not in strict["1024"],
       "dkim_min_key_bits = 2048: the 1024-bit signature is dkim=fail, key too short (%s)"
       % strict["1024"])
    ok(re.search(r"dkim=pass[^;]* header\.d=example\.org header\.s=long", strict["2048"])
       is not None, "dkim_min_key_bits = 2048: the 2048-bit signature passes (%s)"
       % strict["2048"])
    ok(re.search(r"dkim=pass[^;]* header\.d=example\.org header\.s=short", lax["1024"])
       is not None, "dkim_min_key_bits = 1024: the 1024-bit signature passes (%s)"
       % lax["1024"])
    return 0


sys.exit(rt.run_test("ma-minbits-", test))
EOF
