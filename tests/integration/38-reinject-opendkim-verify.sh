#!/bin/bash
# 38-reinject-opendkim-verify.sh - side by side with OpenDKIM, verifying: one
# opendkim.conf (Mode v, MinimumKeyBits 2048, Nameservers naming a private
# unbound that serves the key records under example.) is read by opendkim
# (started privately on a high port, driven by miltertest as Postfix drives a
# milter, tests/integration/dkim/opendkim-verify.lua) and by reinject
# (opendkim_config, mail on its verify listener).  The same messages, signed
# beforehand by dkimpy, go through both: good rsa-sha256 relaxed/relaxed and
# simple/simple, body and header altered after signing, a selector with no
# key record, a revoked key, key records with a wrong k=, a 1024-bit key, a
# good ed25519-sha256 signature, two signatures (one good, one bad), an
# expired x=, a t= in the future, rsa-sha1, a key record whose h= lacks
# sha256, text appended after l= and an unsigned message.  The verdict per
# signature (d=, s=) in OpenDKIM's Authentication-Results field and in
# reinject's must agree; where they differ by design the test asserts
# exactly the difference that reinject.conf(5), OPENDKIM CONFIGURATION,
# documents.  A second run adds "On-BadSignature reject" and
# "On-KeyNotFound tempfail" to the file and sends to a proxy listener of
# reinject (where reject is a 550): the accept / reject / tempfail decision
# per message is compared the same way.  dkimpy checks the good messages
# against the same unbound.  Ports: a free block in 21650-21699.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'PYEOF'
import base64
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
rt.PORT_BLOCKS["odverify"] = [21650, 21660, 21670, 21680, 21690]
ok = rt.ok
LUA = os.path.join(here, "dkim", "opendkim-verify.lua")
OPENDKIM = "/usr/sbin/opendkim"
AUTHSERV = "mx.example.net"
DOMAIN = b"example.org"
SIGNED = [b"From", b"To", b"Subject", b"Date", b"Message-ID"]

CONF = """Mode v
AuthservID mx.example.net
AlwaysAddARHeader yes
MinimumKeyBits 2048
Nameservers 127.0.0.1@@DNSPORT@
Socket inet:@PORT@@127.0.0.1
PidFile @DIR@/opendkim.pid
Syslog no
Background no
"""

# the second run: the On-* actions that refuse mail
ACTIONS = """On-BadSignature reject
On-KeyNotFound tempfail
"""


def message(name, body=None):
    head = ("From: Alice <alice@example.org>\r\nTo: Bob <bob@example.com>\r\n"
            "Subject: %s\r\nDate: Mon, 07 Dec 2026 12:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n" % (name, name))
    return (head + "\r\n" + (body or "Body of %s.\r\nSecond line.\r\n" % name)).encode()


def sign(msg, key, sel, canon=(b"relaxed", b"relaxed"), alg=b"rsa-sha256",
         t=None, x=None, length=False):
    """msg with a dkimpy DKIM-Signature on top (d=example.org, s=sel);
    t and x set t= and x= (RFC 6376 3.5)"""
    import dkim

    class Timed(dkim.DKIM):
        """dkimpy's signer with t= replaced and x= added"""
        def gen_header(self, fields, *args):
            if t is not None:
                fields = [(k, b"%d" % t) if k == b"t" else (k, v) for k, v in fields]
            if x is not None:
                fields.insert([k for k, v in fields].index(b"h"), (b"x", b"%d" % x))
            return dkim.DKIM.gen_header(self, fields, *args)

    d = Timed(msg, linesep=b"\r\n")
    return d.sign(sel.encode(), DOMAIN, key, signature_algorithm=alg,
                  canonicalize=canon, include_headers=SIGNED, length=length) + msg


def messages(keys):
    """name -> message, all made before either verifier sees them"""
    good = keys["good"]
    m = {}
    m["good-relaxed"] = sign(message("good-relaxed"), good, "good")
    m["good-simple"] = sign(message("good-simple"), good, "good",
                            canon=(b"simple", b"simple"))
    m["body-altered"] = sign(message("body-altered"), good, "good").replace(
        b"Second line.", b"Second line, altered.")
    m["header-altered"] = sign(message("header-altered"), good, "good").replace(
        b"Subject: header-altered", b"Subject: header altered")
    m["no-key"] = sign(message("no-key"), good, "nokey")
    m["revoked"] = sign(message("revoked"), good, "revoked")
    m["k-ed25519"] = sign(message("k-ed25519"), good, "ked25519")
    m["k-unknown"] = sign(message("k-unknown"), good, "kunknown")
    m["rsa-1024"] = sign(message("rsa-1024"), keys["short"], "short")
    m["ed25519"] = sign(message("ed25519"), keys["ed"], "ed", alg=b"ed25519-sha256")
    # s=mismatch publishes good's key; "other" made the signature
    m["two-sigs"] = sign(sign(message("two-sigs"), keys["other"], "mismatch"),
                         good, "good")
    # t= and x= an hour apart, both in 2023
    m["expired"] = sign(message("expired"), good, "good", t=1700000000, x=1700003600)
    m["future-t"] = sign(message("future-t"), good, "good", t=int(time.time()) + 86400)
    m["rsa-sha1"] = sign(message("rsa-sha1"), good, "good", alg=b"rsa-sha1")
    m["key-h-sha1"] = sign(message("key-h-sha1"), good, "hsha1")
    m["l-appended"] = sign(message("l-appended"), good, "good", length=True) + (
        b"Appended after signing.\r\n")
    m["unsigned"] = message("unsigned")
    return m


def uncomment(s):
    """s without RFC 5322 comments (nested, with quoted-pairs)"""
    out, depth, i = [], 0, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and depth:
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
        i += 1
    return "".join(out)


def verdicts(fields):
    """{(d, s): result} of the dkim= entries of the A-R fields of our
    authserv-id; an entry without header.d is (None, None)"""
    res = {}
    for f in fields:
        parts = [p.strip() for p in uncomment(f).split(";")]
        if not parts or parts[0].split()[0:1] != [AUTHSERV]:
            continue
        for p in parts[1:]:
            m = re.match(r"dkim\s*=\s*(\w+)", p)
            if not m:
                continue
            props = dict(re.findall(r"header\.([ds])\s*=\s*(\S+)", p))
            key = (props.get("d"), props.get("s"))
            res[key] = res.get(key, ()) + (m.group(1).lower(),)
    return {k: v[0] if len(v) == 1 else v for k, v in res.items()}


def ar_fields(data):
    hdr = data.split(b"\r\n\r\n", 1)[0].decode()
    return [re.sub(r"\s+", " ", v) for v in re.findall(
        r"^Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr, re.M | re.I)]


def opendkim_verify(d, port, msgs):
    """each message through opendkim; {name: (reply, [A-R values])}"""
    log = open(os.path.join(d, "opendkim.log"), "w")
    user = {"user": "reinject"} if os.geteuid() == 0 else {}
    p = subprocess.Popen([OPENDKIM, "-f", "-x", os.path.join(d, "opendkim.conf")],
                         stdout=log, stderr=subprocess.STDOUT, **user)
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
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
            with open(os.path.join(out, name)) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = ["reply none"]
        res[name] = (" ".join(lines[0].split()[1:]), lines[1:])
    return res


def reinject_verify(d, conf_path, P, sink, msgs, extra=""):
    """each message through reinject's verify listener (or the listener
    extra names on port P); {name: (code, [A-R])}"""
    r = rt.Reinject(d, P, P + 2, "opendkim_config = %s\n%s" % (conf_path, extra))
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject -t with opendkim_config = %s (%s)"
       % (conf_path, (p.stdout + p.stderr).strip()[-300:]))
    r.start()
    res = {}
    try:
        for name, data in msgs.items():
            c = rt.Client(P)
            c.reply()
            c.cmd("EHLO client.example")
            n = len(sink.messages)
            reps, final = rt.transaction(c, ["bob@example.com"], data,
                                         "MAIL FROM:<alice@example.org>")
            c.close()
            code = final[0] if final else None
            if code == 250:
                rt.wait_for(lambda: len(sink.messages) > n, 5)
            got = sink.messages[-1]["data"] if len(sink.messages) > n else b""
            res[name] = (code, ar_fields(got))
    finally:
        r.stop()
    ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
       "reinject: no sanitizer report or panic")
    return res


# OpenDKIM's verdict per message and signature (d=, s=); (None, None) is
# the dkim= entry of an unsigned message
EXPECTED = {
    "good-relaxed": {("example.org", "good"): "pass"},
    "good-simple": {("example.org", "good"): "pass"},
    "body-altered": {("example.org", "good"): "fail"},
    "header-altered": {("example.org", "good"): "fail"},
    "no-key": {("example.org", "nokey"): "fail"},
    "revoked": {("example.org", "revoked"): "fail"},
    "k-ed25519": {("example.org", "ked25519"): "pass"},
    "k-unknown": {("example.org", "kunknown"): "fail"},
    "rsa-1024": {("example.org", "short"): "policy"},
    "ed25519": {("example.org", "ed"): "pass"},
    "two-sigs": {("example.org", "good"): "pass", ("example.org", "mismatch"): "fail"},
    "expired": {("example.org", "good"): "permerror"},
    "unsigned": {(None, None): "none"},
    "future-t": {("example.org", "good"): "permerror"},
    "rsa-sha1": {("example.org", "good"): "pass"},
    "key-h-sha1": {("example.org", "hsha1"): "fail"},
    "l-appended": {("example.org", "good"): "pass"},
}

# where reinject's verdict differs, by design (reinject.conf(5), OPENDKIM
# CONFIGURATION): message -> (signature, reinject's verdict, why)
DIFFERENT = {
    "no-key": (("example.org", "nokey"), "permerror",
               "no key record: RFC 6376 6.1.2 PERMFAIL, named permerror "
               "(RFC 8601 2.7.1), OpenDKIM fail"),
    "revoked": (("example.org", "revoked"), "permerror",
                "revoked key: PERMFAIL, named permerror, OpenDKIM fail"),
    "k-unknown": (("example.org", "kunknown"), "permerror",
                  "unknown k=: PERMFAIL, named permerror, OpenDKIM fail"),
    "k-ed25519": (("example.org", "ked25519"), "permerror",
                  "k= not matching a=: RFC 6376 6.1.2 PERMFAIL (inappropriate "
                  "key algorithm); OpenDKIM ignores k= and passes"),
    "rsa-1024": (("example.org", "short"), "fail",
                 "RSA key under MinimumKeyBits: reinject fails it as a key "
                 "under 1024 bits (RFC 8301 3.2), OpenDKIM policy"),
    "expired": (("example.org", "good"), "policy",
                "expired x=: refused by the verifier's policy (RFC 6376 3.5 "
                "MAY), OpenDKIM permerror"),
    "future-t": (("example.org", "good"), "policy",
                 "t= in the future: refused by the verifier's policy, "
                 "OpenDKIM permerror"),
    "key-h-sha1": (("example.org", "hsha1"), "permerror",
                   "key h= without the signature's hash: RFC 6376 6.1.2 "
                   "PERMFAIL, named permerror, OpenDKIM fail"),
    "rsa-sha1": (("example.org", "good"), "fail",
                 "rsa-sha1: RFC 8301 3.1 forbids verifying with it; "
                 "OpenDKIM 2.11 passes it"),
    "l-appended": (("example.org", "good"), "policy",
                   "body beyond l=: text no signature covers (RFC 6376 8.2); "
                   "OpenDKIM passes it"),
}


def sig_ids(fields):
    """the (d, s, b) of each dkim= entry of our authserv-id"""
    ids = set()
    for f in fields:
        parts = [p.strip() for p in uncomment(f).split(";")]
        if not parts or parts[0].split()[0:1] != [AUTHSERV]:
            continue
        for p in parts[1:]:
            if re.match(r"dkim\s*=", p):
                props = dict(re.findall(r"header\.([dsb])\s*=\s*\"?([^\s\"]+)", p))
                ids.add((props.get("d"), props.get("s"), props.get("b")))
    return ids


def compare(msgs, od, ri):
    """each message: OpenDKIM's verdicts are EXPECTED; reinject's agree with
    them but for the documented DIFFERENT ones"""
    for name in msgs:
        (oreply, ofields), (rcode, rfields) = od[name], ri[name]
        print("# %s: opendkim %s %s" % (name, oreply, ofields))
        print("# %s: reinject %s %s" % (name, rcode, rfields))
        ok(oreply == "accept" and rcode == 250,
           "%s: both let it through (opendkim %s, reinject %s)" % (name, oreply, rcode))
        ov, rv = verdicts(ofields), verdicts(rfields)
        ok(ov == EXPECTED[name], "%s: OpenDKIM's verdicts %s (want %s)"
           % (name, ov, EXPECTED[name]))
        ok(sig_ids(ofields) == sig_ids(rfields),
           "%s: both judged the same signatures (d=, s=, b=) %s"
           % (name, sorted(sig_ids(rfields), key=str)))
        if name not in DIFFERENT:
            ok(rv == ov, "%s: reinject's verdicts agree with OpenDKIM's %s (%s)"
               % (name, ov, rv))
            continue
        sig, want, why = DIFFERENT[name]
        expect = dict(EXPECTED[name])
        expect[sig] = want
        ok(rv == expect and ov[sig] != want,
           "%s: reinject's verdict for %s is %s, OpenDKIM's %s (%s); got %s"
           % (name, sig, want, EXPECTED[name][sig], why, rv))


# with ACTIONS: OpenDKIM's decision per message, the others accepted
DECIDED = {
    "body-altered": "reject",
    "header-altered": "reject",
    "no-key": "tempfail",
    "revoked": "reject",
}

# where reinject decides otherwise: message -> (its decision, why)
DECIDED_DIFFERENT = {
    "k-ed25519": ("reject", "dkim=permerror, where OpenDKIM passes"),
    "k-unknown": ("reject", "its On-BadSignature covers a key record of an "
                  "unknown k=; OpenDKIM's reports fail and accepts"),
    "key-h-sha1": ("reject", "its On-BadSignature covers a key record whose "
                   "h= lacks the hash; OpenDKIM's reports fail and accepts"),
}


def opendkim_decision(reply):
    """accept, reject or tempfail from the milter's reply"""
    if reply in ("accept", "continue"):
        return "accept"
    if reply == "reject" or reply.startswith("replycode 5"):
        return "reject"
    if reply == "tempfail" or reply.startswith("replycode 4"):
        return "tempfail"
    return reply


def reinject_decision(code):
    """accept, reject or tempfail from the proxy listener's reply"""
    if code == 250:
        return "accept"
    return {5: "reject", 4: "tempfail"}.get((code or 0) // 100, str(code))


def compare_actions(msgs, od, ri):
    """under ACTIONS, OpenDKIM decides as DECIDED, reinject (proxy listener:
    reject is a 550, tempfail a 451) the same but for DECIDED_DIFFERENT"""
    for name in msgs:
        o, r = opendkim_decision(od[name][0]), reinject_decision(ri[name][0])
        want = DECIDED.get(name, "accept")
        ok(o == want, "actions %s: OpenDKIM decides %s (want %s; %s)"
           % (name, o, want, od[name][0]))
        if name not in DECIDED_DIFFERENT:
            ok(r == o, "actions %s: reinject decides as OpenDKIM, %s (%s)"
               % (name, r, ri[name][0]))
            continue
        rwant, why = DECIDED_DIFFERENT[name]
        ok(r == rwant and r != o, "actions %s: reinject decides %s, OpenDKIM %s "
           "(%s); got %s" % (name, rwant, o, why, r))


def keygen(keys, sel, kind="rsa", bits=2048):
    size = ["-b", str(bits)] if kind == "rsa" else []
    p = subprocess.run([rt.REINJECT, "keygen", "-t", kind] + size +
                       ["-d", "example.org", "-s", sel, "-D", keys],
                       capture_output=True, text=True)
    ok(p.returncode == 0, "reinject keygen -t %s -s %s (%s)" % (kind, sel, p.stderr))
    with open(os.path.join(keys, sel + ".value")) as f:
        value = f.read().strip()
    if kind == "ed25519":
        # dkimpy's form: the 32-byte seed in base64 (end of the PKCS#8 DER)
        pem = os.path.join(keys, sel + ".private")
        der = subprocess.run(["openssl", "pkey", "-in", pem, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        return base64.b64encode(der[-32:]), value
    with open(os.path.join(keys, sel + ".private"), "rb") as f:
        return f.read(), value


def test(tmp):
    try:
        import dkim
        import dns.resolver  # noqa: F401
        import nacl  # noqa: F401
    except ImportError:
        print("SKIP: python3-dkim, python3-dnspython or python3-nacl missing")
        return 77
    for prog in (OPENDKIM, shutil.which("miltertest")):
        if not prog or not os.access(prog, os.X_OK):
            print("SKIP: opendkim or miltertest missing")
            return 77
    rt.P = P = rt.free_block("odverify")
    keys = os.path.join(tmp, "keys")
    os.makedirs(keys)
    k, v = {}, {}
    k["good"], v["good"] = keygen(keys, "good")
    k["other"], _ = keygen(keys, "other")
    k["short"], v["short"] = keygen(keys, "short", bits=1024)
    k["ed"], v["ed"] = keygen(keys, "ed", kind="ed25519")
    pub = re.search(r"p=([A-Za-z0-9+/=]+)", v["good"]).group(1)
    zone = [("good", v["good"]), ("short", v["short"]), ("ed", v["ed"]),
            ("mismatch", v["good"]),
            ("revoked", "v=DKIM1; k=rsa; p="),
            ("ked25519", "v=DKIM1; k=ed25519; p=" + pub),
            ("kunknown", "v=DKIM1; k=dsa; p=" + pub),
            ("hsha1", "v=DKIM1; k=rsa; h=sha1; p=" + pub)]
    dns = dnstest.Server(tmp, "%d" % (P + 5))
    records = [("%s._domainkey.example.org." % s, 300, "TXT", val) for s, val in zone]
    if dns.start(records) == 77:
        print("SKIP: unbound missing")
        return 77
    msgs = messages(k)
    for name in ("good-relaxed", "good-simple", "ed25519"):
        ok(dkim.DKIM(msgs[name]).verify(dnsfunc=dns.dnsfunc()),
           "%s: dkimpy verifies it against the private unbound" % name)
    d = os.path.join(tmp, "run")
    os.makedirs(d)
    os.chmod(d, 0o755)
    conf = os.path.join(d, "opendkim.conf")
    with open(conf, "w") as f:
        f.write(CONF.replace("@DNSPORT@", str(dns.port)).replace("@DIR@", d)
                .replace("@PORT@", str(P + 3)))
    sink = rt.Sink(P + 2)
    try:
        od = opendkim_verify(d, P + 3, msgs)
        ri = reinject_verify(d, conf, P, sink, msgs)
    finally:
        sink.close()
        dns.stop()
    ok(not dkim.DKIM(msgs["k-ed25519"]).verify(dnsfunc=dns.dnsfunc()),
       "k-ed25519: dkimpy refuses an rsa-sha256 signature whose key record "
       "says k=ed25519 (RFC 6376 6.1.2)")
    compare(msgs, od, ri)
    with open(conf, "a") as f:
        f.write(ACTIONS)
    sink = rt.Sink(P + 2)
    dns.start(records)
    try:
        od = opendkim_verify(d, P + 3, msgs)
        ri = reinject_verify(d, conf, P, sink, msgs, "listen = 127.0.0.1:%d proxy\n" % P)
    finally:
        sink.close()
        dns.stop()
    compare_actions(msgs, od, ri)
    return 0


# in the build directory, not /tmp: OpenDKIM refuses a configuration
# below a directory others can write
sys.exit(rt.run_test("ma-odverify-", test, where=os.path.abspath(rt.BUILD)))
PYEOF
