#!/usr/bin/env python3
"""34-notify.py - the sd_notify protocol of both daemons' masters against a
fake NOTIFY_SOCKET (a unix datagram socket read here): READY=1 once the
workers run, RELOADING=1 then READY=1 on SIGHUP, WATCHDOG=1 at half of
WATCHDOG_USEC, STOPPING=1 on SIGTERM.  Skipped when built without
libsystemd (nothing is sent then).  Listens on 127.0.0.1:20980-20982: run it
in a private network namespace."""
import os, pwd, signal, socket, subprocess, sys, tempfile, time

BUILD = os.environ.get("MAILAUTH_BUILD", "build")
FAILED = []


def ok(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        FAILED.append(what)


def built_with_systemd():
    try:
        with open(os.path.join(BUILD, "meson-info", "intro-dependencies.json")) as f:
            return '"libsystemd"' in f.read()
    except OSError:
        return False


def collect(sock, want, seconds):
    """messages until one equals want or seconds pass; all seen"""
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        seen.extend(msg.split("\n"))
        if want in seen:
            break
    return seen


def run(name, argv, tmp):
    path = os.path.join(tmp, name + ".notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="600000")
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        seen = collect(sock, "READY=1", 10)
        ok("READY=1" in seen, "%s: READY=1 when the workers run (%s)" % (name, seen))
        seen = collect(sock, "WATCHDOG=1", 2)
        ok("WATCHDOG=1" in seen, "%s: WATCHDOG=1 within half of WATCHDOG_USEC" % name)
        p.send_signal(signal.SIGHUP)
        seen = collect(sock, "READY=1", 5)
        ok("RELOADING=1" in seen and "READY=1" in seen[seen.index("RELOADING=1"):]
           if "RELOADING=1" in seen else False,
           "%s: SIGHUP: RELOADING=1 then READY=1 (%s)" % (name, [s for s in seen if s != "WATCHDOG=1"]))
        p.send_signal(signal.SIGTERM)
        seen = collect(sock, "STOPPING=1", 5)
        ok("STOPPING=1" in seen, "%s: SIGTERM: STOPPING=1" % name)
        p.wait(20)
        ok(p.returncode == 0, "%s: clean exit (%s)" % (name, p.returncode))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        sock.close()
        log.close()
    if FAILED:
        print(open(os.path.join(tmp, name + ".log")).read()[-3000:])


def main():
    if not built_with_systemd():
        print("SKIP: built without libsystemd: no sd_notify messages")
        return 77
    tmp = tempfile.mkdtemp(prefix="ma-notify-")
    os.chmod(tmp, 0o755)
    user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    spool = os.path.join(tmp, "spool")
    os.mkdir(spool)
    os.chown(spool, pwd.getpwnam(user).pw_uid, -1)
    rconf = os.path.join(tmp, "reinject.conf")
    with open(rconf, "w") as f:
        f.write("listen = 127.0.0.1:20980 verify\ndownstream = 127.0.0.1:20981\n"
                "user = %s\nspool_directory = %s\nworker_processes = 2\n"
                "dns_forwarders = 127.0.0.1@20983\nsyslog = no\n" % (user, spool))
    pconf = os.path.join(tmp, "policyd.conf")
    with open(pconf, "w") as f:
        f.write("listen = inet:127.0.0.1:20982\nuser = %s\nworker_processes = 2\n"
                "dns_forwarders = 127.0.0.1@20983\n" % user)
    os.chmod(rconf, 0o644)
    os.chmod(pconf, 0o644)
    run("reinject", [os.path.join(BUILD, "reinject", "reinject"), "-f", "-c", rconf], tmp)
    run("policyd", [os.path.join(BUILD, "policyd", "policyd"), "-f", "-c", pconf], tmp)
    # the one process (worker_processes = 1) notifies from its own loop
    with open(pconf, "w") as f:
        f.write("listen = inet:127.0.0.1:20982\nuser = %s\nworker_processes = 1\n"
                "dns_forwarders = 127.0.0.1@20983\n" % user)
    run("policyd-single", [os.path.join(BUILD, "policyd", "policyd"), "-f", "-c", pconf], tmp)
    subprocess.run(["rm", "-rf", tmp])
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
