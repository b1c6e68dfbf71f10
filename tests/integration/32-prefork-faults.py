#!/usr/bin/env python3
"""32-prefork-faults.py - the fault suite for the pre-forking master
(common/core/prefork.c) of reinject and policyd: a worker killed with SIGKILL
after 0, 1 and 2 reloads (SIGHUP to the master) is replaced.  For each case
it asserts that a new worker appears in the killed one's place (the master's
children are counted in /proc), that the master's log names the death and
the new worker, and that once every worker of the generation has been
killed and replaced a new connection is served: reinject greets and relays a
message to a scripted downstream, policyd answers a policy request.

Usage: 32-prefork-faults.py
Environment: MAILAUTH_BUILD (build dir).  Ports 20950-20959.
Exit 0 all passed, 1 a failure, 77 skipped.
"""
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("MAILAUTH_BUILD", "build")
POLICYD = os.path.join(BUILD, "policyd", "policyd")
# the scripted downstream, client and reinject runner of the reinject tests
_spec = importlib.util.spec_from_file_location(
    "reinject_test", os.path.join(HERE, "30-reinject-test.py"))
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)

PORT_REINJECT = 20950		# and 20951 (sign listener)
PORT_SINK = 20952
PORT_POLICYD = 20953
PORT_HOLE = 20954		# a DNS forwarder that never answers (UDP)
WORKERS = 2
WAIT = 10			# seconds for a worker to be replaced


def workers(master):
    """pids of the master's children (its workers of every generation)"""
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            return set(int(p) for p in f.read().split())
    except OSError:
        return set()


def seccomp_built():
    """the build confines workers (config_build.h: MAILAUTH_SECCOMP 1)"""
    try:
        with open(os.path.join(BUILD, "config_build.h")) as f:
            return "#define MAILAUTH_SECCOMP 1" in f.read()
    except OSError:
        return False


def confined(pids):
    """every pid runs under a seccomp filter (mode 2) with no_new_privs"""
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                st = f.read()
        except OSError:
            return False
        if not re.search(r"^Seccomp:\s+2$", st, re.M) or \
                not re.search(r"^NoNewPrivs:\s+1$", st, re.M):
            return False
    return bool(pids)


def check_confined(name, master):
    if not seccomp_built():
        print("# SKIP: %s workers' seccomp filter: built without libseccomp" % name)
        return
    # a worker confines itself once set up: give it that moment
    rt.ok(rt.wait_for(lambda: confined(workers(master)), WAIT),
          "%s: every worker runs under its seccomp filter" % name)
    rt.ok(not confined([master]), "%s: the master is not confined" % name)


def settled(master, old):
    """WORKERS children, none of them in old: the pids, or None"""
    now = workers(master)
    return now if len(now) == WORKERS and not (now & old) else None


def reload(master, logtext, done_text, n_done):
    """SIGHUP, then wait until the reload is done; the workers after it"""
    os.kill(master, signal.SIGHUP)
    ok = rt.wait_for(lambda: logtext().count(done_text) >= n_done, WAIT)
    rt.ok(ok, "SIGHUP %d taken (%r logged)" % (n_done, done_text))


def kill_one(name, master, current, logtext, reloads):
    """SIGKILL one current worker; assert the replacement and the log lines"""
    victim = min(current)
    os.kill(victim, signal.SIGKILL)
    got = {}

    def replaced():
        now = workers(master)
        if len(now) == WORKERS and victim not in now:
            got["pids"] = now
            return True
        return False
    rt.ok(rt.wait_for(replaced, WAIT),
          "%s, %d reloads: killed worker %d replaced (%s)" %
          (name, reloads, victim, sorted(workers(master))))
    death = r"worker %d \(slot (\d+)\) killed by signal 9; starting another" % victim
    # the master logs a start after fork() returned: the child may be seen first
    rt.ok(rt.wait_for(lambda: re.search(death, logtext()), WAIT),
          "%s, %d reloads: the death of %d is logged" % (name, reloads, victim))
    m = re.search(death, logtext())
    new = (got.get("pids") or set()) - current
    started = m and new and rt.wait_for(lambda: re.search(
        r"worker %d started in slot %s\b" % (min(new), m.group(1)), logtext()), WAIT)
    rt.ok(bool(started), "%s, %d reloads: the new worker is logged in the same slot" % (name, reloads))
    return got.get("pids") or workers(master)


def kill_generation(name, master, current, logtext, reloads):
    """kill every worker, one after the other, so that only replacements serve"""
    for _ in range(WORKERS):
        old = set(current)
        current = kill_one(name, master, current, logtext, reloads)
        if current & old == old:
            break
    return current


# ---------------------------------------------------------------- reinject

def reinject_serves(sink, tag):
    """a new session gets its banner and a message relays to downstream"""
    try:
        c = rt.Client(PORT_REINJECT, timeout=10)
        banner = c.reply()
        c.cmd("EHLO x")
        n = len(sink.messages)
        reps, final = rt.transaction(c, ["b@example.net"], rt.message(tag))
        c.cmd("QUIT")
        c.close()
        return banner[0] == 220 and final and final[0] == 250 and len(sink.messages) == n + 1
    except OSError as e:
        print("# %s: %s" % (tag, e))
        return False


def test_reinject(tmp):
    sink = rt.Sink(PORT_SINK)
    r = rt.Reinject(tmp, PORT_REINJECT, PORT_SINK,
                    "dns_forwarders = 127.0.0.1@%d\ndkim_timeout = 1s\n" % PORT_HOLE)
    r.start()
    try:
        master = r.p.pid
        current = set()
        rt.ok(rt.wait_for(lambda: len(workers(master)) == WORKERS, WAIT),
              "reinject: %d workers at start" % WORKERS)
        current = workers(master)
        for reloads in range(3):
            if reloads:
                reload(master, r.logtext, "reloaded ", reloads)
                rt.ok(rt.wait_for(lambda: settled(master, current) is not None, WAIT),
                      "reinject: reload %d: a new generation, the old one gone" % reloads)
                current = workers(master)
            current = kill_generation("reinject", master, current, r.logtext, reloads)
            check_confined("reinject", master)
            rt.ok(reinject_serves(sink, "after-kill-%d" % reloads),
                  "reinject, %d reloads: a new session is served by the new workers" % reloads)
        rt.ok(r.alive(), "reinject master still running")
    finally:
        r.stop()
        sink.close()
    rt.ok(r.p.returncode == 0, "reinject: SIGTERM: clean exit")
    rt.ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
          "reinject: no sanitizer report or panic in the log")


# ---------------------------------------------------------------- policyd

def policyd_answers(tag):
    """a request on a new connection gets its reply (127.0.0.1 is skipped:
    no DNS needed, the worker answers DUNNO itself)"""
    req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
           "client_address=127.0.0.1\nhelo_name=x.example\nsender=a@example.org\n"
           "recipient=b@example.net\ninstance=%s\n\n" % tag).encode()
    try:
        s = socket.create_connection(("127.0.0.1", PORT_POLICYD), timeout=5)
        s.sendall(req)
        out = b""
        while not out.endswith(b"\n\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        s.close()
        return out.startswith(b"action=")
    except OSError as e:
        print("# %s: %s" % (tag, e))
        return False


def policyd_user():
    if os.geteuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name
    try:
        pwd.getpwnam("mailauth")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", "mailauth"],
                       check=True)
    return "mailauth"


def test_policyd(tmp):
    conf = os.path.join(tmp, "policyd.conf")
    os.chmod(tmp, 0o755)
    with open(conf, "w") as f:
        f.write("listen = inet:127.0.0.1:%d\nworker_processes = %d\nuser = %s\n"
                "dns_forwarders = 127.0.0.1@%d\nshutdown_timeout = 2s\n"
                % (PORT_POLICYD, WORKERS, policyd_user(), PORT_HOLE))
    os.chmod(conf, 0o644)
    logpath = os.path.join(tmp, "policyd.log")
    log = open(logpath, "w")
    p = subprocess.Popen([POLICYD, "-f", "-c", conf], stdout=log, stderr=subprocess.STDOUT)

    def logtext():
        log.flush()
        with open(logpath) as f:
            return f.read()
    try:
        rt.ok(rt.wait_for(lambda: len(workers(p.pid)) == WORKERS, WAIT),
              "policyd: %d workers at start" % WORKERS)
        rt.ok(rt.wait_for(lambda: policyd_answers("start"), WAIT), "policyd answers at start")
        current = workers(p.pid)
        for reloads in range(3):
            if reloads:
                # the master and each worker log the reload
                reload(p.pid, logtext, "configuration reloaded",
                       reloads * (WORKERS + 1))
                current = workers(p.pid)
            current = kill_generation("policyd", p.pid, current, logtext, reloads)
            check_confined("policyd", p.pid)
            rt.ok(policyd_answers("after-kill-%d" % reloads),
                  "policyd, %d reloads: a request on a new connection is answered" % reloads)
        rt.ok(p.poll() is None, "policyd master still running")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    rt.ok(p.returncode == 0, "policyd: SIGTERM: clean exit")
    text = logtext()
    rt.ok(not re.search(r"Sanitizer|runtime error|panic", text),
          "policyd: no sanitizer report or panic in the log")
    if rt.FAILED:
        print(text[-3000:])


def main():
    for exe in (rt.REINJECT, POLICYD):
        if not os.access(exe, os.X_OK):
            print("SKIP: %s not built" % exe)
            return 77
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", PORT_HOLE))
    tmp = tempfile.mkdtemp(prefix="ma-prefork-")
    os.chmod(tmp, 0o755)	# policyd reads its configuration again as its user
    try:
        os.makedirs(os.path.join(tmp, "reinject"))
        os.makedirs(os.path.join(tmp, "policyd"))
        for name, fn in (("reinject", test_reinject), ("policyd", test_policyd)):
            try:
                fn(os.path.join(tmp, name))
            except Exception as e:  # a crash of the test is a failure
                import traceback
                traceback.print_exc()
                rt.FAILED.append(repr(e))
        if rt.FAILED:
            try:
                print(open(os.path.join(tmp, "reinject", "reinject.log")).read()[-3000:])
            except OSError:
                pass
    finally:
        hole.close()
        if not os.environ.get("MA_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(rt.FAILED))
    return 1 if rt.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
