#!/usr/bin/env python3
"""32-reinject-env-faults.py - reinject when its environment fails (issue 10,
fault suite): a spool on a full filesystem, and a DNS server that never
answers.  Each case asserts that no mail is lost: it is relayed, or the
client gets a 4xx (and keeps it); never a 250 without a relayed copy.

  spool-full  a 256 KiB tmpfs as spool_directory (needs root and a private
              mount namespace: 32-reinject-env-faults.sh runs us under
              "unshare -m"; skipped with a message otherwise).  A message
              larger than the free space gets 452 4.3.1, nothing relayed;
              the space comes back and the next message is relayed.
  dns-hole    dns_forwarders is a UDP socket that reads and drops every
              query.  DMARC (with SPF from XFORWARD ADDR) gets temperror
              within dkim_timeout; dmarc_temperror_action = accept relays
              with dmarc=temperror, = tempfail answers 451 4.7.1 and relays
              nothing.

Uses the scripted client and sink of 30-reinject-test.py.  Ports: the first
free block of ten of 20720, 20770 (private network namespace in meson).
Exit 0 all passed, 1 a failure, 77 skipped.
"""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("rt", os.path.join(HERE, "30-reinject-test.py"))
rt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rt)
rt.PORT_BLOCKS["env"] = [20720, 20770]
ok = rt.ok


def headers(tx):
    return tx["data"].split(b"\r\n\r\n")[0].decode("utf-8", "replace")


def session(port):
    c = rt.Client(port, timeout=30)
    c.reply()
    c.cmd("EHLO mx.unrelated.example")
    return c


def spool_full(tmp, base):
    """a full spool filesystem: 452 4.3.1, nothing relayed, then recovery"""
    if os.geteuid() != 0:
        print("# SKIP spool-full: not root, cannot mount a small tmpfs as the spool")
        return
    d = os.path.join(tmp, "full")
    os.makedirs(d)
    r = rt.Reinject(d, base, base + 2, "spool_memory_limit = 0\nworker_processes = 1\n")
    pw = rt.Reinject.ensure_user()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs",
                       r.spool]).returncode != 0:
        print("# SKIP spool-full: mount tmpfs failed (no private mount namespace?)")
        return
    sink = rt.Sink(base + 2)
    try:
        os.chown(r.spool, pw.pw_uid, pw.pw_gid)
        r.start()
        c = session(base)
        big = (b"x" * 76 + b"\r\n") * (1024 * 1024 // 78)	# 1 MiB, over the 256 KiB
        reps, final = rt.transaction(c, ["b@example.net"], rt.message("full", big))
        ok(final is not None and final[0] == 452 and final[1][0].startswith("452 4.3.1"),
           "spool filesystem full: 452 4.3.1 at the end of DATA (%s)" % (final,))
        ok(len(sink.messages) == 0, "spool filesystem full: nothing relayed")
        ok(rt.wait_for(lambda: "No space left on device" in r.logtext()),
           "the spool write failed for lack of space (ENOSPC logged), not for another reason")
        reps, final = rt.transaction(c, ["b@example.net"], rt.message("after-full", b"small\r\n"))
        ok(final is not None and final[0] == 250 and len(sink.messages) == 1 and
           sink.messages[0]["data"].endswith(b"small\r\n"),
           "space back (the failed spool file was released): next message relayed (%s)" % (final,))
        df = os.statvfs(r.spool)
        ok(df.f_bfree == df.f_blocks, "nothing left behind in the spool directory")
        c.cmd("QUIT")
        c.close()
        ok(r.alive(), "reinject still running after the full spool")
    finally:
        r.stop()
        sink.close()
        subprocess.run(["umount", "-l", r.spool])
    ok("Sanitizer" not in r.logtext() and "runtime error" not in r.logtext(),
       "spool-full: no sanitizer report")


def dns_hole(tmp, base, action):
    """DNS that never answers: dmarc=temperror within dkim_timeout, then the action"""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)	# reads and drops
    hole.bind(("127.0.0.1", base + 8))
    sink = rt.Sink(base + 2)
    d = os.path.join(tmp, "hole-" + action)
    os.makedirs(d)
    r = rt.Reinject(d, base, base + 2, "dkim_timeout = 2s\ndns_forwarders = 127.0.0.1@%d\n"
                    "dmarc_temperror_action = %s\n" % (base + 8, action))
    r.start()
    try:
        c = session(base)
        c.cmd("XFORWARD ADDR=203.0.113.5 HELO=mx.unrelated.example")
        t0 = time.time()
        reps, final = rt.transaction(c, ["b@example.net"], rt.message("hole-" + action),
                                     mail="MAIL FROM:<x@unrelated.example>")
        dt = time.time() - t0
        ok(final is not None and dt < 8,
           "DNS never answers (%s): final reply after %.1fs (dkim_timeout 2s)" % (action, dt))
        if action == "accept":
            hdr = headers(sink.messages[-1]) if sink.messages else ""
            ok(final is not None and final[0] == 250 and len(sink.messages) == 1 and
               "dmarc=temperror" in hdr,
               "dmarc_temperror_action = accept: relayed with dmarc=temperror: %s %r" % (final, hdr))
        else:
            ok(final is not None and final[0] == 451 and final[1][0].startswith("451 4.7.1") and
               len(sink.messages) == 0,
               "dmarc_temperror_action = tempfail: 451 4.7.1, nothing relayed: %s" % (final,))
        ok("temperror" in r.logtext(), "the temperror is logged")
        c.close()
    finally:
        r.stop()
        sink.close()
        hole.close()


def main():
    if not os.access(rt.REINJECT, os.X_OK):
        print("SKIP: %s not built" % rt.REINJECT)
        return 77
    tmp = tempfile.mkdtemp(prefix="ma-reinject-env-")
    os.chmod(tmp, 0o755)	# the workers' account reaches the spools below it
    try:
        base = rt.free_block("env")
        spool_full(tmp, base)
        dns_hole(tmp, base, "accept")
        dns_hole(tmp, base, "tempfail")
    except Exception as e:
        import traceback
        traceback.print_exc()
        rt.FAILED.append(repr(e))
    if rt.FAILED:
        for root, _, files in os.walk(tmp):
            for f in files:
                if f == "reinject.log":
                    print("# " + os.path.join(root, f))
                    print(open(os.path.join(root, f)).read()[-3000:])
    if not os.environ.get("MA_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(rt.FAILED))
    return 1 if rt.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
