#!/bin/bash
# 33-reinject-opendkim.sh - the setup guides' opendkim.conf read as it stands
# (tests/data/migration, paths rewritten into a temporary directory, keys made
# by `reinject keygen`): `reinject -t` passes for opendkim-b.conf given to -c
# and for opendkim-a.conf named by opendkim_config; mail on the verify
# listener from 127.0.0.1 and from the TrustedHosts name
# (XFORWARD NAME=mail.mydomain.example) is signed with the SigningTable's key
# (main0622) with the Canonicalization of the file, verified by dkimpy; mail
# from an outside client is not signed; reinject.conf's oversign_headers and
# signature_ttl act on the signature.  Ports: a free block in 21350-21399.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'EOF'
import os
import pwd
import re
import shutil
import subprocess
import sys

here = sys.argv[1]
sys.path.insert(0, here)
from rtload import rt  # noqa: E402
rt.PORT_BLOCKS["opendkim"] = [21350, 21360, 21370, 21380, 21390]
ok = rt.ok
DATA = os.path.join(here, "..", "data", "migration")


def copy_data(tmp):
    """the guides' files with /etc/opendkim replaced by tmp"""
    for name in ("opendkim-a.conf", "opendkim-b.conf", "KeyTable", "SigningTable",
                 "TrustedHosts"):
        with open(os.path.join(DATA, name)) as f:
            text = f.read().replace("/etc/opendkim", tmp)
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)


def keygen(tmp, sel):
    d = os.path.join(tmp, "keys", "mydomain.example")
    os.makedirs(d, exist_ok=True)
    p = subprocess.run([rt.REINJECT, "keygen", "-d", "mydomain.example", "-s", sel,
                        "-D", d], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject keygen -s %s" % sel)
    if os.geteuid() == 0:
        pw = rt.Reinject.ensure_user()
        os.chown(os.path.join(d, sel + ".private"), pw.pw_uid, pw.pw_gid)
        for x in (tmp, os.path.join(tmp, "keys"), d):
            os.chmod(x, 0o755)
    with open(os.path.join(d, sel + ".value")) as f:
        return f.read().strip()


def sigs(data):
    hdr = data.split(b"\r\n\r\n", 1)[0].decode()
    out = []
    for m in re.finditer(r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr, re.M | re.I):
        v = re.sub(r"\s+", "", m.group(1))
        out.append(dict(t.split("=", 1) for t in v.split(";") if "=" in t))
    return out


def send(port, sink, xforward, subject):
    c = rt.Client(port)
    c.reply()
    c.cmd("EHLO client.example")
    if xforward:
        c.cmd("XFORWARD " + xforward)
    n = len(sink.messages)
    msg = (b"From: a@mydomain.example\r\nTo: b@example.com\r\nSubject: " +
           subject.encode() + b"\r\nMessage-ID: <" + subject.encode() +
           b"@example>\r\n\r\nBody of " + subject.encode() + b".\r\n")
    reps, final = rt.transaction(c, ["b@example.com"], msg, "MAIL FROM:<a@mydomain.example>")
    c.close()
    rt.wait_for(lambda: len(sink.messages) > n, 2)
    return final, (sink.messages[-1]["data"] if len(sink.messages) > n else b"")


def test(tmp):
    try:
        import dkim
    except ImportError:
        print("SKIP: python3-dkim missing")
        return 77
    rt.P = P = rt.free_block("opendkim")
    copy_data(tmp)
    dns = {b"mail._domainkey.mydomain.example.": keygen(tmp, "mail").encode(),
           b"main0622._domainkey.mydomain.example.": keygen(tmp, "main0622").encode()}
    dnsfunc = lambda name, timeout=5: dns.get(name)
    b = os.path.join(tmp, "opendkim-b.conf")
    # opendkim-b.conf names no UserID: the workers would run as reinject's
    # default user, mailauth, and -t checks the keys as that user
    keys = [os.path.join(tmp, "keys", "mydomain.example", s + ".private")
            for s in ("mail", "main0622")]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("mailauth")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", "mailauth"], check=True)
        for k in keys:
            shutil.chown(k, "mailauth")
    p = subprocess.run([rt.REINJECT, "-t", "-c", b], capture_output=True, text=True)
    if os.geteuid() == 0:
        for k in keys:
            shutil.chown(k, "reinject")
    ok(p.returncode == 0, "reinject -t -c opendkim-b.conf passes (%s)"
       % (p.stdout + p.stderr).strip()[-400:])
    ok("opendkim-b.conf:2: SendReports: DKIM failure reports (RFC 6651) are not sent"
       in p.stderr, "SendReports yes is reported, not silently dropped")
    sink = rt.Sink(P + 2)
    r = rt.Reinject(tmp, P, P + 2, "opendkim_config = %s\n"
                    "oversign_headers = From, Subject\nsignature_ttl = 1h\n" %
                    os.path.join(tmp, "opendkim-a.conf"))
    # the harness's empty internal_hosts would override the file's InternalHosts
    with open(r.conf) as f:
        text = f.read().replace("internal_hosts =\n", "")
    with open(r.conf, "w") as f:
        f.write(text)
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject -t with opendkim_config = opendkim-a.conf passes (%s)"
       % (p.stdout + p.stderr).strip()[-400:])
    ok("opendkim-a.conf:9: Socket: reinject listens" in p.stderr,
       "Socket is accepted with a note naming file:line")
    r.start()
    try:
        for xf, what in (("ADDR=127.0.0.1 NAME=localhost", "127.0.0.1"),
                         ("ADDR=203.0.113.5 NAME=mail.mydomain.example",
                          "the TrustedHosts name")):
            final, data = send(P, sink, xf, "in-" + what.replace(" ", "-"))
            got = sigs(data)
            ok(final is not None and final[0] == 250 and len(got) == 1 and
               got[0].get("s") == "main0622" and got[0].get("d") == "mydomain.example",
               "mail from %s signed with the SigningTable's key main0622 (%s)" % (what, got))
            ok(len(got) == 1 and got[0].get("c") == "relaxed/simple",
               "c= is the file's Canonicalization relaxed/simple")
            h = got[0].get("h", "").lower().split(":") if got else []
            ok(h.count("from") == 2 and h.count("subject") == 2,
               "From and Subject oversigned (h=%s)" % ":".join(h))
            ok(got and int(got[0]["x"]) - int(got[0]["t"]) == 3600, "x= is t= + 3600")
            ok(dkim.verify(data, dnsfunc=dnsfunc), "the signature verifies with dkimpy")
        final, data = send(P, sink, "ADDR=198.51.100.7 NAME=unknown", "outside")
        ok(final is not None and final[0] == 250 and not sigs(data),
           "mail from an outside client is not signed")
        final, data = send(P, sink, "ADDR=198.51.100.8 NAME=mail.mydomain.example.evil",
                           "lookalike")
        ok(final is not None and final[0] == 250 and not sigs(data),
           "a name that only starts like the TrustedHosts name is not signed")
        ok(r.alive(), "reinject still running")
    finally:
        r.stop()
        sink.close()
    log = r.logtext()
    ok(not re.search(r"Sanitizer|runtime error|panic", log), "no sanitizer report or panic")
    return 0


sys.exit(rt.run_test("ma-reinject-odk-", test))
EOF
