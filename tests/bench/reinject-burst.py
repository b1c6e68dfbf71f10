#!/usr/bin/env python3
"""reinject-burst.py - resident memory of a reinject worker around a burst of
concurrent large header sections (issue 10, defect 9): N sessions at once,
each sending a message whose header section is about SIZE bytes of ordinary
folded fields (within header_size_limit, so it is parsed and held in
memory), to a scripted downstream.  Prints the worker's VmRSS before the
burst, its peak during it, and after the burst once idle, with the replies.

Usage: reinject-burst.py [-n SESSIONS] [-s HEADER_BYTES] [-r ROUNDS]
                         [-x "key = value"]... [BUILD_DIR]
Default: 150 sessions, 1000000 header bytes, 2 rounds, build/.
Ports 20790-20799 on 127.0.0.1 (run in a private network namespace:
unshare -n sh -c 'ip link set lo up && tests/bench/reinject-burst.py').
Figures only; nothing is asserted.
"""
import argparse
import collections
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_rt(build):
    os.environ["MAILAUTH_BUILD"] = build
    spec = importlib.util.spec_from_file_location(
        "rt", os.path.join(HERE, "..", "integration", "30-reinject-test.py"))
    rt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rt)
    return rt


def workers(master_pid):
    """pids of the master's children"""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == master_pid:
                    out.append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    return out


def rss_kib(pids, field="VmRSS:"):
    """VmRSS (or VmHWM, the peak since reset_peak) summed over pids"""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def reset_peak(pids):
    """start VmHWM over at the current RSS (proc(5) clear_refs 5)"""
    for pid in pids:
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
        except OSError:
            pass


def header(size, i):
    """about size bytes of folded fields of 1000 bytes each"""
    fields = []
    n = 0
    k = 0
    while n < size:
        f = "X-Burst-%d-%d: %s\r\n %s\r\n" % (i, k, "a" * 490, "b" * 490)
        fields.append(f)
        n += len(f)
        k += 1
    return "".join(fields).encode()


def one(rt, port, size, i, replies):
    try:
        c = rt.Client(port, timeout=120)
        c.reply()
        c.cmd("EHLO burst.example")
        msg = b"From: a@example.org\r\nSubject: burst\r\n" + header(size, i) + b"\r\nbody\r\n"
        reps, final = rt.transaction(c, ["b@example.net"], msg)
        replies[(final[1][0][:9] if final else "DATA " + reps[-1][1][0][:9])] += 1
        c.close()
    except Exception as e:
        replies["error " + type(e).__name__] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=150)
    ap.add_argument("-s", type=int, default=1000000)
    ap.add_argument("-r", type=int, default=2)
    ap.add_argument("-x", action="append", default=[])
    ap.add_argument("build", nargs="?", default="build")
    a = ap.parse_args()
    rt = load_rt(os.path.abspath(a.build))
    tmp = tempfile.mkdtemp(prefix="ma-burst-")
    sink = rt.Sink(20792)
    # generous downstream timeouts: the scripted downstream is slow under the burst
    extra = ("worker_processes = 1\nsession_limit = 1000\ndownstream_connect_timeout = 60s\n"
             "downstream_command_timeout = 120s\ndownstream_data_timeout = 120s\n"
             "dkim_timeout = 10s\n" + "".join(x + "\n" for x in a.x))
    r = rt.Reinject(tmp, 20790, 20792, extra)
    r.start()
    try:
        time.sleep(0.5)
        pids = workers(r.p.pid)
        print("reinject-burst: %d sessions x %d header bytes, %d rounds, settings: %s" %
              (a.n, a.s, a.r, "; ".join(a.x) or "defaults"))
        print("  idle before:       %7d KiB" % rss_kib(pids))
        for rnd in range(a.r):
            replies = collections.Counter()
            reset_peak(pids)
            ts = [threading.Thread(target=one, args=(rt, 20790, a.s, i, replies))
                  for i in range(a.n)]
            t0 = time.time()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            dt = time.time() - t0
            peak = rss_kib(pids, "VmHWM:")
            time.sleep(2)
            print("  round %d: peak %7d KiB, idle after %7d KiB, %.1f s, replies %s" %
                  (rnd + 1, peak, rss_kib(pids), dt, dict(replies)))
    finally:
        r.stop()
        sink.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
