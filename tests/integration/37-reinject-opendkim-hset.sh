#!/bin/bash
# 37-reinject-opendkim-hset.sh - side by side with OpenDKIM: the same
# opendkim.conf signs the same messages in opendkim (started privately on a
# high port with that file's absolute path, driven by miltertest as Postfix
# drives a milter, tests/integration/dkim/opendkim-sign.lua) and in reinject
# (reading the file through opendkim_config, mail on its sign listener).
# The signatures' h= lists (names in order, compared without case), c=, a=,
# d= and s= agree for messages with the usual header fields, with repeated
# fields and with fields OpenDKIM does not sign, under "OversignHeaders From"
# and under an explicit SignHeaders list.  Where they differ, the
# difference is the one reinject.conf(5), OPENDKIM CONFIGURATION, documents,
# and the test asserts exactly it: without SignHeaders reinject also signs
# Message-ID, Sender and the MIME fields; without OversignHeaders it
# oversigns From always and its built-in fields when present; OpenDKIM
# orders h= as the message, reinject as its list.  A SignHeaders naming
# Received leaves it out in both: OpenDKIM's default OmitHeaders applies to
# SignHeaders, and reinject takes that default when it reads opendkim.conf.
# Both signatures verify with dkimpy against a private unbound.  Ports: a free block in 21600-21649.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'EOF'
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

here = sys.argv[1]
sys.path.insert(0, here)
from rtload import rt  # noqa: E402
import dnstest  # noqa: E402
rt.PORT_BLOCKS["hset"] = [21600, 21610, 21620, 21630, 21640]
ok = rt.ok
LUA = os.path.join(here, "dkim", "opendkim-sign.lua")
OPENDKIM = "/usr/sbin/opendkim"

MESSAGES = {
    "usual": [
        ("From", "Alice <alice@example.org>"), ("To", "Bob <bob@example.com>"),
        ("Subject", "usual fields"), ("Date", "Mon, 07 Dec 2026 12:00:00 +0000"),
        ("Message-ID", "<usual@example.org>"), ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
    ],
    "repeated": [
        ("Received", "from a.example by b.example; Mon, 07 Dec 2026 12:00:00 +0000"),
        ("Received", "from c.example by a.example; Mon, 07 Dec 2026 11:59:00 +0000"),
        ("From", "alice@example.org"), ("To", "bob@example.com"),
        ("Cc", "carol@example.com"), ("Cc", "dave@example.com"),
        ("Subject", "repeated fields"), ("Date", "Mon, 07 Dec 2026 12:00:00 +0000"),
        ("Message-ID", "<repeated@example.org>"), ("Reply-To", "alice@example.org"),
        ("References", "<a@example.org>"), ("In-Reply-To", "<a@example.org>"),
        ("List-Id", "<list.example.org>"),
    ],
    "unsigned-fields": [
        ("Return-Path", "<alice@example.org>"), ("From", "alice@example.org"),
        ("To", "bob@example.com"), ("Subject", "fields OpenDKIM leaves out"),
        ("X-Mailer", "test 1.0"), ("Content-Transfer-Encoding", "7bit"),
        ("Date", "Mon, 07 Dec 2026 12:00:00 +0000"),
    ],
}

# the opendkim.conf variants; @KEY@, @PORT@, @DIR@ filled in
CONFIGS = {
    "oversign-from": "OversignHeaders From\n",
    "signheaders": "SignHeaders From,To,Subject,Cc,Received\nOversignHeaders From\n",
    "default": "",
}
BASE = """Mode sv
Domain example.org
Selector hset
KeyFile @KEY@
Canonicalization relaxed/simple
Socket inet:@PORT@@127.0.0.1
PidFile @DIR@/opendkim.pid
Syslog no
Background no
"""


def message(fields, name):
    head = "".join("%s: %s\r\n" % f for f in fields)
    return (head + "\r\nBody of %s.\r\n" % name).encode()


def sigtags(data):
    hdr = data.split(b"\r\n\r\n", 1)[0].decode()
    m = re.search(r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr, re.M | re.I)
    if not m:
        return None
    v = re.sub(r"\s+", "", m.group(1))
    return dict(t.split("=", 1) for t in v.split(";") if "=" in t)


def hlist(tags):
    return [h.lower() for h in tags["h"].split(":")]


def opendkim_sign(d, conf, port, msgs):
    """sign each message with opendkim through miltertest; {name: data}"""
    with open(os.path.join(d, "opendkim.conf"), "w") as f:
        f.write(conf)
    log = open(os.path.join(d, "opendkim.log"), "w")
    # as the owner of the key, which OpenDKIM insists on (RequireSafeKeys)
    user = {"user": "reinject"} if os.geteuid() == 0 else {}
    p = subprocess.Popen([OPENDKIM, "-f", "-x", os.path.join(d, "opendkim.conf")],
                         stdout=log, stderr=subprocess.STDOUT, **user)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        out = os.path.join(d, "out")
        os.makedirs(out, exist_ok=True)
        lst = os.path.join(d, "list")
        with open(lst, "w") as f:
            for name, data in msgs.items():
                path = os.path.join(d, name)
                with open(path, "wb") as m:
                    m.write(data)
                f.write(path + "\n")
        mt = subprocess.run(["miltertest", "-D", "sock=inet:%d@127.0.0.1" % port,
                             "-D", "list=" + lst, "-D", "outdir=" + out, "-s", LUA],
                            capture_output=True, text=True)
        ok(mt.returncode == 0 and mt.stdout.strip() == "",
           "miltertest through opendkim (%s)" % (mt.stdout + mt.stderr).strip()[-300:])
    finally:
        p.send_signal(signal.SIGKILL)	# libmilter lingers after SIGTERM
        p.wait()
        log.close()
    res = {}
    for name in msgs:
        try:
            with open(os.path.join(out, name), "rb") as f:
                res[name] = f.read()
        except OSError:
            res[name] = b""
    return res


def reinject_sign(d, conf_path, P, sink, dns, msgs):
    r = rt.Reinject(d, P, P + 2, "opendkim_config = %s\ndns_forwarders = %s\n"
                    % (conf_path, dns.forwarder()))
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject -t with opendkim_config = %s (%s)"
       % (conf_path, (p.stdout + p.stderr).strip()[-300:]))
    r.start()
    res = {}
    try:
        for name, data in msgs.items():
            c = rt.Client(P + 1)
            c.reply()
            c.cmd("EHLO client.example")
            n = len(sink.messages)
            reps, final = rt.transaction(c, ["bob@example.com"], data,
                                         "MAIL FROM:<alice@example.org>")
            c.close()
            rt.wait_for(lambda: len(sink.messages) > n, 5)
            ok(final is not None and final[0] == 250, "reinject relayed %s (250)" % name)
            res[name] = sink.messages[-1]["data"] if len(sink.messages) > n else b""
    finally:
        r.stop()
    return res


def compare(cname, name, od, ri, dns):
    a, b = sigtags(od), sigtags(ri)
    ok(a is not None and b is not None, "%s/%s: both signed" % (cname, name))
    if a is None or b is None:
        return None, None
    for t in ("c", "a", "d", "s"):
        ok(a.get(t) == b.get(t), "%s/%s: %s= agrees (opendkim %s, reinject %s)"
           % (cname, name, t, a.get(t), b.get(t)))
    ok(rt.dkimpy_verifies(od, dns), "%s/%s: opendkim's signature verifies (dkimpy)" % (cname, name))
    ok(rt.dkimpy_verifies(ri, dns), "%s/%s: reinject's signature verifies (dkimpy)" % (cname, name))
    return hlist(a), hlist(b)


# signed by reinject's built-in list beyond OpenDKIM's (reinject.conf(5),
# sign_headers)
REINJECT_MORE = ["message-id", "sender", "mime-version", "content-type",
                 "content-transfer-encoding", "content-id", "content-description"]
# reinject's built-in list, in its order (common/dkim/dkim_sign.c)
DEFAULT_SIGN = ["from", "reply-to", "subject", "date", "to", "cc", "resent-date",
                "resent-from", "resent-sender", "resent-to", "resent-cc",
                "in-reply-to", "references", "list-id", "list-help",
                "list-unsubscribe", "list-subscribe", "list-post", "list-owner",
                "list-archive", "message-id", "sender", "mime-version",
                "content-type", "content-transfer-encoding", "content-id",
                "content-description"]
SIGNHEADERS = ["from", "to", "subject", "cc", "received"]
# OpenDKIM's default OmitHeaders list, which applies to SignHeaders too
OPENDKIM_NEVER = ["return-path", "received", "comments", "keywords"]

# reinject's built-in oversigned fields (common/dkim/dkim_sign.c), signed once
# more than present when present; From always
DEFAULT_OVERSIGN = ["from", "reply-to", "subject", "date", "to", "cc", "message-id",
                    "sender", "in-reply-to", "references", "mime-version",
                    "content-type", "content-transfer-encoding"]


def differences(cname, present):
    """the fields reinject's h= has beyond OpenDKIM's for a configuration and
    the names of the message, and why (reinject.conf(5), OPENDKIM.CONF)"""
    extra, why = [], []
    # a SignHeaders naming Received: both leave it out (OPENDKIM_NEVER, the
    # default OmitHeaders, applies in both), so no difference
    if cname != "signheaders":
        more = [h for h in present if h in REINJECT_MORE]
        if more:
            extra += more
            why.append("no SignHeaders: reinject also signs Message-ID, Sender "
                       "and the MIME fields")
    if cname == "default":
        extra += oversigned(cname, present)
        why.append("no OversignHeaders: reinject oversigns From and its "
                   "built-in fields when present, OpenDKIM none")
    return extra, why


def oversigned(cname, present):
    """the oversigned tail of reinject's h= (its list's order)"""
    if cname != "default":
        return ["from"]
    return sorted([h for h in DEFAULT_OVERSIGN if h == "from" or h in present],
                  key=DEFAULT_SIGN.index)


def orders(cname, name, a, b, present):
    """OpenDKIM lists the fields in the message's order, reinject in its
    list's order (SignHeaders, or the built-in list); the same instances
    are signed either way (RFC 6376 5.4.2)"""
    over_a = 0 if cname == "default" else 1
    base_a = a[:len(a) - over_a]
    ok(base_a == [h for h in present if h in base_a],
       "%s/%s: OpenDKIM's h= follows the message's order" % (cname, name))
    tail = oversigned(cname, present)
    base_b = b[:len(b) - len(tail)]
    order = SIGNHEADERS if cname == "signheaders" else DEFAULT_SIGN
    ok(b[len(base_b):] == tail and base_b == sorted(base_b, key=order.index),
       "%s/%s: reinject's h= follows its list, then the oversigned %s"
       % (cname, name, tail))


def test(tmp):
    try:
        import dkim  # noqa: F401
        import dns.resolver  # noqa: F401
    except ImportError:
        print("SKIP: python3-dkim or python3-dnspython missing")
        return 77
    for prog in (OPENDKIM, shutil.which("miltertest")):
        if not prog or not os.access(prog, os.X_OK):
            print("SKIP: opendkim or miltertest missing")
            return 77
    rt.P = P = rt.free_block("hset")
    keys = os.path.join(tmp, "keys")
    os.makedirs(keys)
    os.chmod(keys, 0o755)
    p = subprocess.run([rt.REINJECT, "keygen", "-d", "example.org", "-s", "hset", "-D",
                        keys], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject keygen -s hset")
    key = os.path.join(keys, "hset.private")
    if os.geteuid() == 0:
        pw = rt.Reinject.ensure_user()
        os.chown(key, pw.pw_uid, pw.pw_gid)
    with open(os.path.join(keys, "hset.value")) as f:
        value = f.read().strip()
    dns = dnstest.Server(tmp, "%d" % (P + 5))
    if dns.start([("hset._domainkey.example.org.", 300, "TXT", value)]) == 77:
        print("SKIP: unbound missing")
        return 77
    msgs = {n: message(f, n) for n, f in MESSAGES.items()}
    sink = rt.Sink(P + 2)
    got = {}
    try:
        for cname, extra in CONFIGS.items():
            d = os.path.join(tmp, cname)
            os.makedirs(d)
            os.chmod(d, 0o755)
            conf = (BASE + extra).replace("@KEY@", key).replace("@DIR@", d).replace(
                "@PORT@", str(P + 3))
            od = opendkim_sign(d, conf, P + 3, msgs)
            ri = reinject_sign(d, os.path.join(d, "opendkim.conf"), P, sink, dns, msgs)
            for name in msgs:
                got[(cname, name)] = compare(cname, name, od[name], ri[name], dns)
    finally:
        sink.close()
        dns.stop()
    for (cname, name), (a, b) in sorted(got.items()):
        if a is None:
            continue
        print("# %s/%s: opendkim h=%s" % (cname, name, ":".join(a)))
        print("# %s/%s: reinject h=%s" % (cname, name, ":".join(b)))
        present = [f[0].lower() for f in MESSAGES[name]]
        extra, why = differences(cname, present)
        if a == b:
            ok(True, "%s/%s: h= lists agree, in order" % (cname, name))
            continue
        if not extra:
            ok(sorted(a) == sorted(b),
               "%s/%s: h= lists sign the same fields" % (cname, name))
            orders(cname, name, a, b, present)
            continue
        ok(sorted(a + extra) == sorted(b),
           "%s/%s: reinject's h= is OpenDKIM's plus %s (%s)"
           % (cname, name, extra, "; ".join(why)))
        orders(cname, name, a, b, present)
    return 0


# in the build directory, not /tmp: OpenDKIM refuses a configuration and
# keys below a directory others can write (RequireSafeKeys), and
# reinject refuses "RequireSafeKeys false", so the one file both read
# must sit in a safe place
sys.exit(rt.run_test("ma-hset-", test, where=os.path.abspath(rt.BUILD)))
EOF
