#!/bin/bash
# 35-reinject-rollover-restart.sh - a DKIM key rollover survives a restart
# (reinject_rollover.h): with rsa2026 and the next key rsa2027 both
# published on a private unbound, both workers switch to rsa2027 and the
# state file in spool_directory keeps the first switch's time.  reinject is
# restarted while DNS is down: the first message after the restart is
# signed with rsa2027 at once (without the state it would wait on rsa2026
# for the record check), and the "can be removed" notice comes
# dkim_rollover_keep_time after the first switch, not after the restart.
# Then the rsa2027 record is withdrawn and reinject restarted: the workers
# sign with rsa2027 only until the record check, say loudly that they sign
# with rsa2026 again and remove the state.  A damaged state file is logged,
# reported by `reinject -t` (which still passes) and treated as absent; one
# for another key is ignored.  dkimpy verifies every signature against the
# same unbound.  Ports: a free block in 21700-21749.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" - "$(dirname "$0")" <<'EOF'
import os
import re
import stat
import subprocess
import sys
import time

here = sys.argv[1]
sys.path.insert(0, here)
from rtload import rt  # noqa: E402
import dnstest  # noqa: E402
rt.PORT_BLOCKS["rollrestart"] = [21700, 21710, 21720, 21730, 21740]
ok = rt.ok
DOMAIN = "example.org"
KEEP = 15
STATE = "dkim-rollover.rsa2026._domainkey.example.org"


def keygen(*args):
    p = subprocess.run([rt.REINJECT, "keygen"] + list(args), capture_output=True,
                       text=True)
    ok(p.returncode == 0, "reinject keygen %s (%s)" % (" ".join(args),
                                                       p.stderr.strip()))


def give(path):
    if os.geteuid() == 0:
        pw = rt.Reinject.ensure_user()
        os.chown(path, pw.pw_uid, pw.pw_gid)


def value(keys, sel):
    with open(os.path.join(keys, sel + ".value")) as f:
        return f.read().strip()


class Log:
    """the log from a mark on: what one run of reinject wrote"""

    def __init__(self, r):
        self.r = r
        self.at = 0

    def mark(self):
        self.at = len(self.r.logtext())

    def text(self):
        return self.r.logtext()[self.at:]

    def count(self, pattern):
        return len(re.findall(pattern, self.text()))


def read_state(path):
    try:
        with open(path) as f:
            return dict(l.split(" = ", 1) for l in f.read().splitlines()
                        if " = " in l and not l.startswith("#"))
    except OSError:
        return {}


def restart_with_dns_down(r, log, dns, sink, made, recs):
    """stop, start with DNS down: rsa2027 signs at once; DNS back"""
    r.stop()
    dns.stop()
    log.mark()
    r.start()
    restarted = time.time()
    data = rt.relay_one(r.port, sink, "after-restart")
    ok(rt.dkim_selectors(data) == ["rsa2027"], "the first message after the restart is "
       "signed with s=rsa2027 at once (%s)" % rt.dkim_selectors(data))
    made.append(data)
    ok(log.count(r"signing with s=rsa2027 at once: the switch from s=rsa2026 "
                 r"at [^\n]* is kept in " + re.escape(r.spool + "/" + STATE)) >= 1,
       "the log says the kept switch is used at once")
    ok(log.count(r"switched from s=rsa2026") == 0,
       "no new switch after the restart: the kept one is used")
    ok(rt.wait_for(lambda: log.count(r"cannot check the record of s=rsa2027 now") >= 1,
                   15), "with DNS down the record check fails and rsa2027 stays")
    dns.start(recs)
    ok(rt.wait_for(lambda: log.count(r"the record of s=rsa2027 still matches") >= 2,
                   20), "with DNS back each worker confirms the rsa2027 record")
    return restarted


def phase_restart(r, log, dns, sink, made, recs, state_path):
    """switch, restart, the notice at the first switch's time"""
    r.start()
    ok(rt.wait_for(lambda: log.count(r"switched from s=rsa2026 to s=rsa2027") >= 2, 20),
       "each worker switched to rsa2027 once the record matched")
    ok(os.path.exists(state_path), "the switch is kept in %s" % state_path)
    st = read_state(state_path)
    first = int(st.get("switched_at", "0"))
    ok(st.get("domain") == DOMAIN and st.get("old_selector") == "rsa2026" and
       st.get("next_selector") == "rsa2027" and len(st.get("next_key_sha256", "")) == 64
       and abs(first - time.time()) < 10, "the state file names the switch (%s)" % st)
    sb = os.lstat(state_path) if os.path.exists(state_path) else None
    ok(sb is not None and stat.S_IMODE(sb.st_mode) == 0o600 and (os.geteuid() != 0 or
       sb.st_uid == rt.Reinject.ensure_user().pw_uid),
       "the state file is the run user's, mode 0600")
    ok(not [f for f in os.listdir(r.spool) if f.startswith(".dkim-rollover")],
       "no temporary state file left behind")
    made.append(rt.relay_one(r.port, sink, "before-restart"))
    ok(rt.dkim_selectors(made[-1]) == ["rsa2027"], "before the restart: s=rsa2027")
    time.sleep(3)
    ok(log.count(r"can be removed now") == 0, "no notice before the keep time")
    restarted = restart_with_dns_down(r, log, dns, sink, made, recs)
    ok(read_state(state_path).get("switched_at") == str(first),
       "the restarted workers kept the first switch's time in the state file")
    ok(rt.wait_for(lambda: log.count(r"rsa2026._domainkey.example.org can be removed "
                                     r"now") >= 1, KEEP + 10),
       "the log says the old record can be removed")
    told = time.time()
    ok(first + KEEP - 1 <= told <= first + KEEP + 3,
       "the notice came dkim_rollover_keep_time after the first switch "
       "(%.1fs after it, keep %ds)" % (told - first, KEEP))
    ok(told < restarted + KEEP - 2, "the notice did not wait keep time after the "
       "restart (%.1fs after the restart)" % (told - restarted))
    ok(STATE in log.text(), "the notice names the state file to delete")


def phase_gone(r, log, dns, sink, made, old_rr, state_path):
    """the rsa2027 record withdrawn: rsa2026 again, the state removed"""
    r.stop()
    dns.start([old_rr])
    log.mark()
    r.start()
    # each worker that took the kept switch says so loudly once the record
    # check fails; a worker that starts after the first removed the state
    # file (slow under a sanitizer) never took it and signs with rsa2026
    loud = (r"SIGNING WITH s=rsa2026 AGAIN: the record of s=rsa2027, seen "
            r"matching at [^\n]*no record")
    ok(rt.wait_for(lambda: log.count(loud) >= 1 and
                   log.count(loud) >= log.count(r"signing with s=rsa2027 at once"), 20),
       "each worker that took the kept switch said loudly it signs with "
       "rsa2026 again")
    data = rt.relay_one(r.port, sink, "record-gone")
    ok(rt.dkim_selectors(data) == ["rsa2026"], "with the rsa2027 record gone: s=rsa2026 (%s)"
       % rt.dkim_selectors(data))
    made.append(data)
    ok(not os.path.exists(state_path), "the state file is removed")


def phase_bad(r, log, dns, sink, made, recs, state_path):
    """a damaged state file: logged, -t reports it, treated as absent"""
    r.stop()
    dns.start(recs)
    with open(state_path, "w") as f:
        f.write("domain = example.org\nswitched_at = yesterday\n")
    give(state_path)
    p = subprocess.run([rt.REINJECT, "-t", "-c", r.conf], capture_output=True, text=True)
    out = p.stdout + p.stderr
    ok(p.returncode == 0 and (state_path + ":2: switched_at: not a time") in out,
       "reinject -t reports the damaged state file and passes (exit %d: %s)"
       % (p.returncode, out.strip()[-300:]))
    log.mark()
    r.start()
    ok(rt.wait_for(lambda: log.count(r"bad state file, treated as absent: " +
                                     re.escape(state_path) + r":2:") >= 1, 10),
       "the log names the damaged state file and its line")
    # the first worker to check the record switches and writes a good file;
    # a worker that starts later (slow under a sanitizer) may find that file
    # and take its switch at once: either way each worker signs with rsa2027
    ok(rt.wait_for(lambda: log.count(r"switched from s=rsa2026 to s=rsa2027") >= 1 and
                   log.count(r"switched from s=rsa2026 to s=rsa2027") +
                   log.count(r"signing with s=rsa2027 at once") >= 2, 20),
       "the workers switch again after checking the record (or take the "
       "switch a first one kept)")
    ok(rt.wait_for(lambda: read_state(state_path).get("old_selector") == "rsa2026", 5),
       "the damaged state file is replaced by a good one")
    made.append(rt.relay_one(r.port, sink, "after-bad-state"))
    # a state file for another key: ignored
    r.stop()
    with open(state_path, "w") as f:
        f.write("domain = example.org\nold_selector = rsa2026\nnext_selector = "
                "rsa2027\nnext_key_sha256 = %s\nswitched_at = %d\n"
                % ("0" * 64, int(time.time())))
    give(state_path)
    log.mark()
    r.start()
    ok(rt.wait_for(lambda: log.count(r"is for another key or selector; ignored") >= 1,
                   10), "a state file for another key is ignored")
    ok(log.count(r"at once") == 0, "and not used to sign at once")


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
    keygen("-d", DOMAIN, "-s", "rsa2026", "-D", keys)
    cur = os.path.join(keys, "rsa2026.private")
    keygen("--next", "-d", DOMAIN, "-s", "rsa2026", "-k", cur)
    give(cur)
    give(os.path.join(keys, "rsa2027.private"))
    rt.P = P = rt.free_block("rollrestart")
    dns = dnstest.Server(tmp, "%d" % (P + 5))
    old_rr = ("rsa2026._domainkey.example.org.", 1, "TXT", value(keys, "rsa2026"))
    recs = [old_rr, ("rsa2027._domainkey.example.org.", 1, "TXT", value(keys, "rsa2027"))]
    if dns.start(recs) == 77:
        print("SKIP: unbound missing")
        return 77
    sink = rt.Sink(P + 2)
    r = rt.Reinject(tmp, P, P + 2,
                    "sign_domain = %s\nsign_selector = rsa2026\nsign_key_file = %s\n"
                    "dns_forwarders = %s\ndkim_rollover_check_interval = 1s\n"
                    "dkim_rollover_keep_time = %ds\ndkim_timeout = 2s\n"
                    % (DOMAIN, cur, dns.forwarder(), KEEP))
    r.port = P + 1
    state_path = os.path.join(r.spool, STATE)
    log = Log(r)
    made = []
    try:
        phase_restart(r, log, dns, sink, made, recs, state_path)
        phase_gone(r, log, dns, sink, made, old_rr, state_path)
        phase_bad(r, log, dns, sink, made, recs, state_path)
        dns.start(recs)
        for data in made:
            ok(rt.dkimpy_verifies(data, dns), "s=%s signature verifies with dkimpy against the "
               "private unbound" % rt.dkim_selectors(data))
        ok(r.alive(), "reinject still running")
    finally:
        r.stop()
        sink.close()
        dns.stop()
    ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
       "no sanitizer report or panic")
    return 0


sys.exit(rt.run_test("ma-rollrestart-", test, tail=8000))
EOF
