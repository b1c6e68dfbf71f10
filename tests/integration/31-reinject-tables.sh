#!/bin/bash
# 31-reinject-tables.sh - reinject signing through OpenDKIM's KeyTable and a
# refile: SigningTable: one domain dual-signed (an rsa-sha256 and an
# ed25519-sha256 key, both made by `reinject keygen`), a second domain with one
# key, an unlisted domain relayed unsigned; every signature checked (d=, s=, a=)
# and verified with dkimpy (keys served from the keygen .value files through
# its dnsfunc hook); a KeyTable with a malformed line makes `reinject -t` fail
# naming file:line.  Scripted client and downstream from 30-reinject-test.py.
# Ports: a free block of ten in 20850-20899.
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
rt.PORT_BLOCKS["tables"] = [20850, 20860, 20870, 20880, 20890]
ok = rt.ok


def keygen(tmp, kind, domain, sel):
    """reinject keygen; returns (private key path, DNS TXT value)"""
    p = subprocess.run([rt.REINJECT, "keygen", "-t", kind, "-d", domain, "-s", sel,
                        "-D", tmp], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject keygen -t %s -d %s -s %s" % (kind, domain, sel))
    key = os.path.join(tmp, sel + ".private")
    ok(os.stat(key).st_mode & 0o777 == 0o600, "keygen writes %s.private with mode 0600" % sel)
    with open(os.path.join(tmp, sel + ".value")) as f:
        value = f.read().strip()
    if os.geteuid() == 0:
        pw = rt.Reinject.ensure_user()
        os.chown(key, pw.pw_uid, pw.pw_gid)
    return key, value


def sigs(data):
    """the DKIM-Signature fields of a message as tag dicts, in order"""
    hdr = data.split(b"\r\n\r\n", 1)[0].decode()
    out = []
    for m in re.finditer(r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr, re.M | re.I):
        v = re.sub(r"\s+", "", m.group(1))
        out.append(dict(t.split("=", 1) for t in v.split(";") if "=" in t))
    return out


def send(port, sink, frm, subject, header_from=None):
    """one message on the sign listener; returns (final reply, data at the sink)"""
    c = rt.Client(port)
    c.reply()
    c.cmd("EHLO client.example")
    n = len(sink.messages)
    msg = (b"From: " + (header_from or frm).encode() + b"\r\nTo: b@example.com\r\nSubject: " +
           subject.encode() + b"\r\nMessage-ID: <" + subject.encode() +
           b"@example>\r\n\r\nBody of " + subject.encode() + b".\r\n.dot line\r\n")
    reps, final = rt.transaction(c, ["b@example.com"], msg, "MAIL FROM:<%s>" % frm)
    c.close()
    rt.wait_for(lambda: len(sink.messages) > n, 2)
    return final, (sink.messages[-1]["data"] if len(sink.messages) > n else b"")


def check_signed(data, dns, want, what):
    import dkim
    got = sigs(data)
    ok(sorted((s.get("d"), s.get("s"), s.get("a")) for s in got) == sorted(want),
       "%s: signatures (d, s, a) = %s, got %s" % (what, sorted(want),
       [(s.get("d"), s.get("s"), s.get("a")) for s in got]))
    dnsfunc = lambda name, timeout=5: dns.get(name)
    d = dkim.DKIM(data)
    for i in range(len(got)):
        ok(d.verify(idx=i, dnsfunc=dnsfunc),
           "%s: signature %d (s=%s) verifies with dkimpy" % (what, i, got[i].get("s")))
    def passes(msg, i):
        try:
            return dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException:  # dkimpy raises on a body hash mismatch
            return False
    bad = data.replace(b"Body of", b"Body 0f")
    ok(len(got) > 0 and not any(passes(bad, i) for i in range(len(got))),
       "%s: a changed body byte fails every signature at dkimpy" % what)


def test(tmp):
    try:
        import dkim  # noqa: F401
    except ImportError:
        print("SKIP: python3-dkim missing")
        return 77
    rt.P = P = rt.free_block("tables")
    rsa, rsa_txt = keygen(tmp, "rsa", "example.org", "rsa2026")
    ed, ed_txt = keygen(tmp, "ed25519", "example.org", "ed2026")
    net, net_txt = keygen(tmp, "rsa", "example.net", "net2026")
    dns = {b"rsa2026._domainkey.example.org.": rsa_txt.encode(),
           b"ed2026._domainkey.example.org.": ed_txt.encode(),
           b"net2026._domainkey.example.net.": net_txt.encode()}
    kt = os.path.join(tmp, "KeyTable")
    st = os.path.join(tmp, "SigningTable")
    with open(kt, "w") as f:
        f.write("# OpenDKIM KeyTable\n"
                "rsa2026  example.org:rsa2026:%s\n"
                "ed2026   example.org:ed2026:%s:ed25519-sha256\n"
                "net2026  example.net:net2026:%s\n" % (rsa, ed, net))
    with open(st, "w") as f:
        f.write("# refile: wildcards, tried in file order\n"
                "*@example.org    rsa2026\n"
                "*@example.org    ed2026\n"
                "*@example.net    net2026\n")
    tables = "key_table = file:%s\nsigning_table = refile:%s\n" % (kt, st)
    sink = rt.Sink(P + 2)
    r = rt.Reinject(tmp, P, P + 2, tables)
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject -t accepts the KeyTable and refile: SigningTable (%s)"
       % (p.stdout + p.stderr).strip()[-300:])
    r.start()
    try:
        final, data = send(P + 1, sink, "alice@example.org", "dual")
        ok(final is not None and final[0] == 250, "example.org mail relayed (250)")
        check_signed(data, dns, [("example.org", "ed2026", "ed25519-sha256"),
                                 ("example.org", "rsa2026", "rsa-sha256")],
                     "example.org dual signing")
        final, data = send(P + 1, sink, "bob@example.net", "single")
        ok(final is not None and final[0] == 250, "example.net mail relayed (250)")
        check_signed(data, dns, [("example.net", "net2026", "rsa-sha256")],
                     "example.net one key")
        # the From field parsed as RFC 5322 has it: a comment after the address,
        # a "<" inside a quoted display name
        for hf, what in (("bob@example.net (Bob)", "comment"),
                         ('"Eve <eve@unlisted.example>" <bob@example.net>', "quoted")):
            final, data = send(P + 1, sink, "carol@unlisted.example", "from-" + what, hf)
            check_signed(data, dns, [("example.net", "net2026", "rsa-sha256")],
                         "From with a %s: signed for its address" % what)
        final, data = send(P + 1, sink, "carol@unlisted.example", "unlisted")
        ok(final is not None and final[0] == 250 and b"Body of unlisted." in data,
           "unlisted domain relayed (250, message at the downstream)")
        ok(not sigs(data), "unlisted domain: no DKIM-Signature added")
        ok(r.alive(), "reinject still running")
    finally:
        r.stop()
        sink.close()
    log = r.logtext()
    ok(not re.search(r"Sanitizer|runtime error|panic", log), "no sanitizer report or panic in the log")

    # a malformed KeyTable line (no domain:selector:key) is named by file:line
    with open(kt, "a") as f:
        f.write("broken   example.org\n")
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    out = p.stdout + p.stderr
    ok(p.returncode != 0 and (kt + ":5") in out,
       "reinject -t fails on a bad KeyTable line naming %s:5 (exit %d: %s)"
       % (kt, p.returncode, out.strip()[-300:]))
    return 0


sys.exit(rt.run_test("ma-reinject-kt-", test))
EOF
