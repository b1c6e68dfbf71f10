#!/bin/bash
# 35-reinject-rollover.sh - DKIM key rollover through a private unbound:
# `reinject keygen --next` makes the next key (rsa2027) beside the current
# one (rsa2026) and its plan; reinject keeps signing with rsa2026 while the
# next record is missing and while a wrong key is published under rsa2027
# (the zone changed and unbound restarted after the daemon's first checks),
# switches to rsa2027 only after the published record matches, logs the
# switch and, after dkim_rollover_keep_time, that the old record can go.
# Every signature made before and after the switch verifies with dkimpy
# against the same unbound.  A broken plan makes `reinject -t` fail naming
# file:line.  Ports: a free block in 21500-21549.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'EOF'
import os
import re
import subprocess
import sys
import time

here = sys.argv[1]
sys.path.insert(0, here)
from rtload import rt  # noqa: E402
import dnstest  # noqa: E402
rt.PORT_BLOCKS["rollover"] = [21500, 21510, 21520, 21530, 21540]
ok = rt.ok
DOMAIN = "example.org"


def keygen(tmp, *args):
    p = subprocess.run([rt.REINJECT, "keygen"] + list(args), capture_output=True,
                       text=True)
    ok(p.returncode == 0, "reinject keygen %s (%s)" % (" ".join(args),
                                                       p.stderr.strip()))
    return p.stdout


def give(path):
    if os.geteuid() == 0:
        pw = rt.Reinject.ensure_user()
        os.chown(path, pw.pw_uid, pw.pw_gid)


def value(tmp, sel):
    with open(os.path.join(tmp, "keys", sel + ".value")) as f:
        return f.read().strip()


def count(r, pattern):
    return len(re.findall(pattern, r.logtext()))


def test(tmp):
    try:
        import dkim  # noqa: F401
        import dns.resolver  # noqa: F401
    except ImportError:
        print("SKIP: python3-dkim or python3-dnspython missing")
        return 77
    keys = os.path.join(tmp, "keys")
    os.makedirs(keys)
    os.chmod(keys, 0o755)
    keygen(tmp, "-d", DOMAIN, "-s", "rsa2026", "-D", keys)
    cur = os.path.join(keys, "rsa2026.private")
    out = keygen(tmp, "--next", "-d", DOMAIN, "-s", "rsa2026", "-k", cur)
    ok("rsa2027._domainkey.example.org.\tIN\tTXT\t(" in out,
       "keygen --next prints the record to publish for rsa2027")
    plan = cur + ".next"
    nxt = os.path.join(keys, "rsa2027.private")
    ok(os.path.exists(nxt) and os.path.exists(plan),
       "keygen --next writes rsa2027.private beside rsa2026.private, and the plan")
    with open(plan) as f:
        ok("next_selector = rsa2027\nnext_key_file = %s\n" % nxt in f.read(),
           "the plan names rsa2027 and its absolute key file")
    # a stray key, published under rsa2027 first: a record that does not match
    keygen(tmp, "-d", DOMAIN, "-s", "stray", "-D", keys)
    give(cur)
    give(nxt)

    rt.P = P = rt.free_block("rollover")
    dns = dnstest.Server(tmp, "%d" % (P + 5))
    old_rr = ("rsa2026._domainkey.example.org.", 1, "TXT", value(tmp, "rsa2026"))
    if dns.start([old_rr]) == 77:
        print("SKIP: unbound missing")
        return 77
    sink = rt.Sink(P + 2)
    r = rt.Reinject(tmp, P, P + 2,
                    "sign_domain = %s\nsign_selector = rsa2026\nsign_key_file = %s\n"
                    "dns_forwarders = %s\ndkim_rollover_check_interval = 1s\n"
                    "dkim_rollover_keep_time = 4s\n" % (DOMAIN, cur, dns.forwarder()))
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    ok(p.returncode == 0, "reinject -t accepts the key and its rollover plan (%s)"
       % (p.stdout + p.stderr).strip()[-300:])
    made = []
    r.start()
    try:
        # both workers looked rsa2027 up and found nothing
        ok(rt.wait_for(lambda: count(r, r"not switching to s=rsa2027 yet: no record") >= 2, 10),
           "each worker checked rsa2027 and logged that it has no record yet")
        for i in range(2):
            data = rt.relay_one(P + 1, sink, "before-%d" % i)
            ok(rt.dkim_selectors(data) == ["rsa2026"], "before publishing: signed with s=rsa2026 (%s)"
               % rt.dkim_selectors(data))
            made.append(data)
        # a wrong key under rsa2027: zone changed, unbound restarted
        dns.start([old_rr, ("rsa2027._domainkey.example.org.", 1, "TXT",
                            value(tmp, "stray"))])
        ok(rt.wait_for(lambda: count(r, r"not switching to s=rsa2027 yet: "
                                     r"[^\n]*key mismatch") >= 2, 20),
           "each worker saw the mismatching rsa2027 record and did not switch")
        data = rt.relay_one(P + 1, sink, "mismatch")
        ok(rt.dkim_selectors(data) == ["rsa2026"], "with a mismatching record: still s=rsa2026 (%s)"
           % rt.dkim_selectors(data))
        made.append(data)
        ok(count(r, r"switched from") == 0, "no switch logged before the record matches")
        # the right record, published late
        dns.start([old_rr, ("rsa2027._domainkey.example.org.", 1, "TXT",
                            value(tmp, "rsa2027"))])
        ok(rt.wait_for(lambda: count(r, r"dkim rollover: d=example.org: switched from "
                                     r"s=rsa2026 to s=rsa2027: the published record "
                                     r"matches " + re.escape(nxt)) >= 2, 20),
           "each worker logged the switch to rsa2027 once the record matched")
        for i in range(3):
            data = rt.relay_one(P + 1, sink, "after-%d" % i)
            ok(rt.dkim_selectors(data) == ["rsa2027"], "after publishing: signed with s=rsa2027 (%s)"
               % rt.dkim_selectors(data))
            made.append(data)
        ok(rt.wait_for(lambda: count(r, r"rsa2026._domainkey.example.org can be removed "
                                     r"now") >= 1, 10),
           "after dkim_rollover_keep_time the log says the old record can be removed")
        for data in made:
            ok(rt.dkimpy_verifies(data, dns), "s=%s signature verifies with dkimpy against the "
               "private unbound" % rt.dkim_selectors(data))
        ok(r.alive(), "reinject still running")
    finally:
        r.stop()
        sink.close()
        dns.stop()
    log = r.logtext()
    ok(not re.search(r"Sanitizer|runtime error|panic", log), "no sanitizer report or panic")

    # a broken plan is a start-up error naming the file and line
    with open(plan, "a") as f:
        f.write("next_selectr = rsa2028\n")
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    out = p.stdout + p.stderr
    ok(p.returncode == 78 and (plan + ":5: unknown setting") in out,
       "reinject -t refuses a misspelt plan setting naming %s:5 (exit %d: %s)"
       % (plan, p.returncode, out.strip()[-300:]))
    return 0


sys.exit(rt.run_test("ma-rollover-", test, tail=6000))
EOF
