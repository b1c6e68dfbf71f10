#!/usr/bin/env python3
"""34-syscall-filter.py - every system call both daemons make is allowed by
the SystemCallFilter= of their systemd units (etc/systemd/*.service).

systemd applies that filter to the whole service, master included, and a
call outside it fails with EPERM (SystemCallErrorNumber=EPERM): a daemon
that works in the tests could then fail only when started by its unit.  No
systemd runs here, so the check is done the other way round: each daemon is
run under `strace -f` through a working day in small (start as root,
workers forked and confined, sd_notify readiness and watchdog, a message
verified and one signed with DNS from a private unbound, the report store
written, a metrics scrape, a policy request, SIGHUP reload, SIGTERM), and
every call the trace shows must be in the unit's filter as
`systemd-analyze syscall-filter` expands it.

Ports: 20990-20999 (run in a private network namespace, as meson does).
Exit 0 all passed, 1 a failure, 77 skipped."""
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rtload import rt  # noqa: E402

SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
POLICYD = os.path.join(rt.BUILD, "policyd", "policyd")
JAIL = os.path.join(rt.BUILD, "tests", "syscall-jail")
PORT = 20990			# reinject verify, +1 sign, +2 sink, +3 metrics
PPORT = 20995			# policyd, +1 its metrics
CALL = re.compile(r"^([a-z_0-9]+)\(")
# Calls refused on purpose, each followed by what works under the filter:
# setuid(0) checks that root cannot be had back after the drop to the run
# user; libsystemd's sd_notify asks SO_SNDBUFFORCE, then SO_SNDBUF;
# libseccomp probes seccomp(2), then loads the workers' filter with
# prctl(PR_SET_SECCOMP) (without the audit-log flag, which needs seccomp(2)).
PROBES = (re.compile(r"^setuid\(0\)"),
          re.compile(r"^setsockopt\(\d+, SOL_SOCKET, SO_SNDBUFFORCE,"),
          re.compile(r"^seccomp\(SECCOMP_SET_MODE_STRICT, 0x1, NULL\)"))
PROBE_CALLS = {"seccomp"}


def unit_filter(unit):
    """the SystemCallFilter= entries of a unit (allow lists only)"""
    names = []
    with open(os.path.join(SRC, "etc", "systemd", unit)) as f:
        for line in f:
            if line.startswith("SystemCallFilter="):
                value = line.split("=", 1)[1].split()
                rt.ok(not any(v.startswith("~") for v in value),
                      "%s: the filter is an allow list" % unit)
                names += value
    return names


def expand(names, seen=None):
    """the system calls of a list of names and @groups, groups recursively"""
    seen = set() if seen is None else seen
    calls = set()
    for n in names:
        if not n.startswith("@"):
            calls.add(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        out = subprocess.run(["systemd-analyze", "syscall-filter", n],
                             capture_output=True, text=True, check=True).stdout
        members = [l.strip() for l in out.splitlines()[1:]
                   if l.strip() and not l.strip().startswith("#")]
        calls |= expand(members, seen)
    return calls


def traced_calls(trace, prog):
    """the names of the system calls in strace -ff's files trace.PID from
    the daemon's execve on (the jail's own calls before it do not count),
    and the lines of those refused with EPERM that are not PROBES"""
    calls, refused = set(), []
    for path in glob.glob(trace + ".*"):
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        execs = [i for i, l in enumerate(lines) if l.startswith('execve("%s"' % prog)]
        for line in lines[execs[0] if execs else 0:]:
            m = CALL.match(line)
            if not m:
                continue
            calls.add(m.group(1))
            if "= -1 EPERM" in line and not any(r.search(line) for r in PROBES):
                refused.append(line.strip())
    return calls, refused


def allowed_file(tmp, unit):
    """the unit's filter expanded, one call a line, for syscall-jail"""
    path = os.path.join(tmp, unit + ".calls")
    with open(path, "w") as f:
        f.write("\n".join(sorted(expand(unit_filter(unit)))) + "\n")
    return path


def check(unit, trace, prog):
    allowed = expand(unit_filter(unit))
    calls, refused = traced_calls(trace, prog)
    rt.ok(len(calls) > 20, "%s: the trace holds the daemon's calls (%d)"
          % (unit, len(calls)))
    outside = sorted(calls - allowed - PROBE_CALLS)
    rt.ok(not outside, "%s: every call is in SystemCallFilter= (outside: %s)"
          % (unit, outside))
    rt.ok(not refused, "%s: no call refused with EPERM but the probes (%s)"
          % (unit, refused[:5]))
    rt.ok(any(l.startswith("prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER") and
              l.rstrip().endswith("= 0")
              for path in glob.glob(trace + ".*")
              for l in open(path, errors="replace")),
          "%s: a worker loaded its own filter inside the unit's" % unit)


def notify_socket(tmp, name):
    path = os.path.join(tmp, name + ".notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    return s, path


def wait_ready(sock, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            if "READY=1" in sock.recv(4096).decode().split("\n"):
                return True
        except socket.timeout:
            break
    return False


def traced(argv, trace, notify, log, calls):
    """argv under strace, inside the unit's filter (syscall-jail)"""
    env = dict(os.environ, NOTIFY_SOCKET=notify, WATCHDOG_USEC="2000000")
    # LeakSanitizer cannot run under ptrace; the other tests look for leaks
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return subprocess.Popen(["strace", "-ff", "-qq", "-o", trace, JAIL, calls] + argv,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def daemon_pid(p):
    """the daemon's pid: strace's child (syscall-jail execs into it)"""
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        return int(f.read().split()[0])


def cleanup(p):
    """after a failure: the daemon (strace's child) and its workers stopped,
    then strace; killing strace alone would leave the daemon running"""
    if p is None or p.poll() is not None:
        return
    try:
        pid = daemon_pid(p)
    except (OSError, IndexError, ValueError):
        pid = None
    if pid:
        os.kill(pid, signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-P", str(pid)])
            os.kill(pid, signal.SIGKILL)
    if p.poll() is None:
        p.kill()
    p.wait()


def stop(p, name):
    os.kill(daemon_pid(p), signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    rt.ok(p.returncode == 0, "%s: clean exit under strace (%s)" % (name, p.returncode))


def reinject_day(r, sink, sock):
    """one message verified, one signed, a scrape, a reload, one more"""
    for port, subject in ((PORT, "verify"), (PORT + 1, "sign")):
        c = rt.Client(port)
        c.reply()
        c.cmd("EHLO client.example")
        _, final = rt.transaction(c, ["b@example.net"], rt.message(subject))
        rt.ok(final and final[0] == 250, "reinject %s: relayed (%s)" % (subject, final))
        c.cmd("QUIT")
        c.close()
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % (PORT + 3),
                                  timeout=10).read().decode()
    rt.ok("mailauth_" in body, "reinject: metrics scraped")
    os.kill(daemon_pid(r.p), signal.SIGHUP)
    rt.ok(wait_ready(sock), "reinject: READY=1 after SIGHUP")
    time.sleep(0.5)
    c = rt.Client(PORT)
    c.reply()
    c.cmd("EHLO client.example")
    _, final = rt.transaction(c, ["b@example.net"], rt.message("after-reload"))
    rt.ok(final and final[0] == 250, "reinject: relayed after the reload")
    c.close()
    rt.ok(rt.wait_for(lambda: len(sink.messages) >= 3, 10), "sink has the 3 messages")
    signed = [m for m in sink.messages if b"DKIM-Signature:" in m.get("data", b"")]
    rt.ok(len(signed) >= 1, "the signing listener signed")


def test_reinject(tmp):
    conf, _, dnsdir = rt.dkim_setup(tmp)
    sink = rt.Sink(PORT + 2)
    extra = conf + ("metrics_listen = 127.0.0.1:%d\nreport_enable = yes\n"
                    "report_store = %s/r.db\nreport_spool_file = %s/r.spool\n"
                    "report_org_name = Ours\nreport_email = dmarc@example.net\n"
                    "report_batch_interval_ms = 10\n" % (PORT + 3, tmp, tmp))
    r = rt.Reinject(tmp, PORT, PORT + 2, extra)
    pw = rt.Reinject.ensure_user()
    if pw:
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    sock, path = notify_socket(tmp, "reinject")
    trace = os.path.join(tmp, "reinject.strace")
    r.p = traced([rt.REINJECT, "-f", "-c", r.conf, "-e"], trace, path, r.log,
                 allowed_file(tmp, "reinject.service"))
    try:
        rt.ok(wait_ready(sock), "reinject: READY=1 under strace")
        reinject_day(r, sink, sock)
        stop(r.p, "reinject")
    finally:
        cleanup(r.p)
        sink.close()
        sock.close()
        if dnsdir:
            subprocess.run(["sh", os.path.join(HERE, "dnsserver.sh"), "stop", dnsdir])
    check("reinject.service", trace, rt.REINJECT)


def policy_request(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
              b"client_address=192.0.2.7\nhelo_name=mx.example.org\n"
              b"sender=a@example.org\nrecipient=b@example.net\n\n")
    reply = b""
    while not reply.endswith(b"\n\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.decode()


def test_policyd(tmp):
    user = "reinject" if os.geteuid() == 0 else None
    conf = os.path.join(tmp, "policyd.conf")
    with open(conf, "w") as f:
        f.write("listen = inet:127.0.0.1:%d\nworker_processes = 2\n"
                "dns_forwarders = 127.0.0.1@20999\ndns_timeout = 1\n"
                "metrics_listen = 127.0.0.1:%d\n%s"
                % (PPORT, PPORT + 1, "user = %s\n" % user if user else ""))
    os.chmod(conf, 0o644)
    sock, path = notify_socket(tmp, "policyd")
    trace = os.path.join(tmp, "policyd.strace")
    log = open(os.path.join(tmp, "policyd.log"), "w")
    p = traced([POLICYD, "-f", "-c", conf], trace, path, log,
               allowed_file(tmp, "policyd.service"))
    try:
        rt.ok(wait_ready(sock), "policyd: READY=1 under strace")
        rt.ok("action=" in policy_request(PPORT), "policyd: a policy answer")
        urllib.request.urlopen("http://127.0.0.1:%d/metrics" % (PPORT + 1),
                               timeout=10).read()
        os.kill(daemon_pid(p), signal.SIGHUP)
        rt.ok(wait_ready(sock), "policyd: READY=1 after SIGHUP")
        rt.ok("action=" in policy_request(PPORT), "policyd: an answer after the reload")
        stop(p, "policyd")
    finally:
        cleanup(p)
        sock.close()
        log.close()
    check("policyd.service", trace, POLICYD)


def test(tmp):
    for prog in ("strace", "systemd-analyze"):
        if subprocess.run(["sh", "-c", "command -v " + prog],
                          capture_output=True).returncode != 0:
            print("SKIP: %s missing" % prog)
            return 77
    for prog in (POLICYD, JAIL):
        if not os.access(prog, os.X_OK):
            print("SKIP: %s not built" % prog)
            return 77
    # a container may forbid ptrace or seccomp: then nothing can be checked
    if subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"],
                      capture_output=True).returncode != 0:
        print("SKIP: strace cannot trace here (ptrace not permitted)")
        return 77
    calls = allowed_file(tmp, "reinject.service")
    if subprocess.run([JAIL, calls, "/bin/true"], capture_output=True).returncode != 0:
        print("SKIP: no seccomp filter can be applied here")
        return 77
    os.makedirs(os.path.join(tmp, "r"))
    os.makedirs(os.path.join(tmp, "p"))
    os.chmod(os.path.join(tmp, "r"), 0o755)
    os.chmod(os.path.join(tmp, "p"), 0o755)
    test_reinject(os.path.join(tmp, "r"))
    test_policyd(os.path.join(tmp, "p"))
    return 0


sys.exit(rt.run_test("ma-syscalls-", test))
