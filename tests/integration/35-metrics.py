#!/usr/bin/env python3
"""35-metrics.py - the Prometheus endpoint (metrics_listen) of policyd and
reinject, each with two workers, resolving through a private unbound
(dnsserver.sh).  Every scrape is made with curl and parsed with
python3-prometheus-client's text parser; the counters must equal exactly
what was sent:

policyd: requests spread over both workers (connections kept open, so the
least loaded worker takes the next), the sum of the SPF result counters per
identity equals the requests, each result its own number, the request
histogram's _count too; sessions_in_flight equals the connections open; a
killed worker counts one restart and its counts stay; SIGHUP counts one
reload; unknown paths 404, other methods refused; -t fails on a taken
metrics_listen.

reinject: messages signed on the sign listener count per key; the signed
ones fed back to the verify listener count DKIM pass and DMARC pass, an
unsigned one DMARC fail with disposition reject, a tampered one DKIM fail;
a downstream 451 counts a downstream error and a tempfail; messages per
action and the message histogram's _count match; restart and reload as for
policyd, counters kept across the reload's new generation.

The endpoint's limits, with policyd served by the master (two workers) and
by a single process: a request header past metrics_header_size_limit gets 400
and a close; a connection idle for metrics_idle_timeout (1s) is closed;
with metrics_connection_limit (3) connections open, one more is closed at
once while the three still get answers, and a fourth is served after one
of them closed; of a burst of four, the first three are served and the
last closed, each time the limit is reached logged once.  reinject: the signatures series of every configured key
(two sign_domain entries) is listed at 0 before any mail.  With
metrics_series_limit = 64 and 30 signing domains, the map holds exactly 64
series, the keys left out are logged and a signature by one of them counts
under domain="_other".

etc/grafana/mailauth.json is valid JSON and every metric it names is
exported by one of the two daemons.

Usage: 35-metrics.py
Environment: MAILAUTH_BUILD, MAILAUTH_SRC.  Ports 21400-21419 (each
integration test runs in its own network namespace).
Exit 0 all passed, 1 a failure, 77 skipped.
"""
import base64
import importlib.util
import json
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
SRC = os.environ.get("MAILAUTH_SRC", os.path.join(HERE, "..", ".."))
POLICYD = os.path.join(BUILD, "policyd", "policyd")
_spec = importlib.util.spec_from_file_location(
    "reinject_test", os.path.join(HERE, "30-reinject-test.py"))
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)

PORT_POLICYD = 21400
PORT_POLICYD_METRICS = 21401
PORT_REINJECT = 21402		# and 21403 (sign)
PORT_SINK = 21404
PORT_REINJECT_METRICS = 21405
DNS_PORTS = "21410-21419"
WORKERS = 2
WAIT = 10
ok = rt.ok


def scrape(port, path="/metrics", method="GET"):
    """(HTTP status, body) through curl"""
    p = subprocess.run(["curl", "-s", "-X", method, "-o", "-", "-w", "\n%{http_code}",
                        "--max-time", "5", "http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


def samples(port):
    """{(name, frozenset(labels)): value} of one scrape, via prometheus_client"""
    from prometheus_client.parser import text_string_to_metric_families
    code, body = scrape(port)
    if code != 200:
        raise RuntimeError("scrape: HTTP %d" % code)
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def val(snap, name, **labels):
    return snap.get((name, frozenset(labels.items())), 0.0)


def total(snap, name, **match):
    """sum of the samples of name whose labels include match"""
    return sum(v for (n, l), v in snap.items()
               if n == name and all((k, x) in l for k, x in match.items()))


def delta(a, b, name, **labels):
    return val(b, name, **labels) - val(a, name, **labels)


def names(port):
    """the sample names of a scrape (with _total, _bucket, ...)"""
    return {n for (n, _) in samples(port)}


def workers(master):
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            return set(int(p) for p in f.read().split())
    except OSError:
        return set()


def wait_value(port, name, want, **labels):
    """poll until the sample equals want; the last snapshot"""
    snap = {}
    end = time.time() + WAIT
    while time.time() < end:
        snap = samples(port)
        if val(snap, name, **labels) == want:
            break
        time.sleep(0.1)
    return snap


# ---------------------------------------------------------------- DNS

def setup_dns(tmp):
    """a DKIM key for example.org/sel, SPF and DMARC records; the forwarder"""
    key = os.path.join(tmp, "sel.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True,
                   stderr=subprocess.DEVNULL)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    chunks = " ".join('"%s"' % txt[i:i + 200] for i in range(0, len(txt), 200))
    zone = os.path.join(tmp, "zone")
    with open(zone, "w") as f:
        f.write("zone example.org.\n")
        f.write("sel._domainkey.example.org. TXT %s\n" % chunks)
        f.write('_dmarc.example.org. TXT "v=DMARC1; p=reject"\n')
        f.write('example.org. TXT "v=spf1 -all"\n')
        f.write("zone example.\n")
        f.write('helo.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"\n')
        f.write('pass.example. TXT "v=spf1 ip4:192.0.2.0/24 -all"\n')
        f.write('fail.example. TXT "v=spf1 -all"\n')
        f.write('soft.example. TXT "v=spf1 ~all"\n')
    dnsdir = os.path.join(tmp, "dns")
    p = subprocess.run(["sh", os.path.join(HERE, "dnsserver.sh"), "start", dnsdir,
                        DNS_PORTS, zone], capture_output=True, text=True)
    if p.returncode != 0:
        return None, None, p.returncode
    return key, "127.0.0.1@" + p.stdout.strip().splitlines()[-1], dnsdir


# ---------------------------------------------------------------- policyd

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


def request(sender, n):
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
            "client_address=192.0.2.10\nhelo_name=helo.example\nsender=%s\n"
            "recipient=r@example.net\ninstance=m%d\n\n" % (sender, n)).encode()


class PolicyConn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT_POLICYD), timeout=10)
        self.buf = b""

    def ask(self, req):
        self.s.sendall(req)
        while b"\n\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("policyd closed the connection")
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n\n", 1)
        return reply.decode()

    def close(self):
        self.s.close()


def policyd_phase_requests(n_sent):
    """CONNS connections held open, requests over them; the per-sender
    counts and the replies"""
    senders = {"pass": "a@pass.example", "fail": "b@fail.example",
               "softfail": "c@soft.example"}
    conns = []
    for _ in range(4):
        conns.append(PolicyConn())
        time.sleep(0.2)		# the least loaded worker takes the next one
    sent = {"pass": 0, "fail": 0, "softfail": 0}
    for i in range(30):
        res = ("pass", "fail", "softfail")[i % 3]
        reply = conns[i % len(conns)].ask(request(senders[res], n_sent + i))
        if not reply.startswith("action="):
            ok(False, "policyd reply %r" % reply)
        sent[res] += 1
    return conns, sent


def test_policyd(tmp, forwarder):
    conf = os.path.join(tmp, "policyd.conf")
    with open(conf, "w") as f:
        f.write("listen = inet:127.0.0.1:%d\nworker_processes = %d\nuser = %s\n"
                "dns_forwarders = %s\nshutdown_timeout = 2s\ncache_ttl = 0\n"
                "metrics_listen = 127.0.0.1:%d\n"
                % (PORT_POLICYD, WORKERS, policyd_user(), forwarder, PORT_POLICYD_METRICS))
    os.chmod(conf, 0o644)
    logpath = os.path.join(tmp, "policyd.log")
    log = open(logpath, "w")
    p = subprocess.Popen([POLICYD, "-f", "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        ok(rt.wait_for(lambda: len(workers(p.pid)) == WORKERS, WAIT), "policyd: two workers")
        ok(rt.wait_for(lambda: scrape(PORT_POLICYD_METRICS)[0] == 200, WAIT),
           "policyd: GET /metrics answers 200")
        policyd_http(p)
        before = samples(PORT_POLICYD_METRICS)
        conns, sent = policyd_phase_requests(0)
        n = sum(sent.values())
        snap = samples(PORT_POLICYD_METRICS)
        pids = set(re.findall(r"policyd\[(\d+)\]: \S+: spf verdict", open(logpath).read()))
        ok(len(pids & {str(w) for w in workers(p.pid)}) >= 2,
           "policyd: the requests were answered by both workers (%s)" % sorted(pids))
        spf = "mailauth_policyd_spf_results_total"
        ok(total(snap, spf, identity="mailfrom") - total(before, spf, identity="mailfrom") == n,
           "policyd: mailfrom SPF results sum to the %d requests (%s)" %
           (n, total(snap, spf, identity="mailfrom")))
        ok(total(snap, spf, identity="helo") == n,
           "policyd: helo SPF results sum to the %d requests" % n)
        ok(val(snap, spf, identity="helo", result="pass") == n, "policyd: every HELO passes")
        for res, k in sent.items():
            ok(val(snap, spf, identity="mailfrom", result=res) == k,
               "policyd: mailfrom %s counted %d times (%s)" %
               (res, k, val(snap, spf, identity="mailfrom", result=res)))
        ok(val(snap, "mailauth_policyd_request_seconds_count") == n,
           "policyd: request histogram _count is %d" % n)
        ok(val(snap, "mailauth_policyd_request_seconds_bucket", le="+Inf") == n,
           "policyd: request histogram +Inf bucket is %d" % n)
        ok(val(snap, "mailauth_dns_lookup_seconds_count") >= 4,
           "policyd: DNS lookups timed (%s)" % val(snap, "mailauth_dns_lookup_seconds_count"))
        ok(val(snap, "mailauth_dns_timeouts_total") == 0, "policyd: no DNS timeout")
        ok(val(snap, "mailauth_sessions_in_flight") == len(conns),
           "policyd: sessions_in_flight is the %d open connections (%s)" %
           (len(conns), val(snap, "mailauth_sessions_in_flight")))
        for c in conns:
            c.close()
        snap = wait_value(PORT_POLICYD_METRICS, "mailauth_sessions_in_flight", 0)
        ok(val(snap, "mailauth_sessions_in_flight") == 0,
           "policyd: sessions_in_flight back to 0 after the connections closed")
        # a killed worker: one restart, its counts stay
        victim = min(workers(p.pid))
        os.kill(victim, signal.SIGKILL)
        snap = wait_value(PORT_POLICYD_METRICS, "mailauth_worker_restarts_total", 1)
        ok(val(snap, "mailauth_worker_restarts_total") == 1,
           "policyd: killing worker %d counts one restart" % victim)
        ok(total(snap, spf, identity="mailfrom") == n,
           "policyd: the killed worker's counts stay after its restart")
        ok(rt.wait_for(lambda: len(workers(p.pid)) == WORKERS, WAIT),
           "policyd: the worker was replaced")
        conns, sent2 = policyd_phase_requests(100)
        for c in conns:
            c.close()
        snap = samples(PORT_POLICYD_METRICS)
        ok(total(snap, spf, identity="mailfrom") == n + sum(sent2.values()),
           "policyd: the replacement counts on top (%s)" % total(snap, spf, identity="mailfrom"))
        os.kill(p.pid, signal.SIGHUP)
        snap = wait_value(PORT_POLICYD_METRICS, "mailauth_reloads_total", 1)
        ok(val(snap, "mailauth_reloads_total") == 1, "policyd: SIGHUP counts one reload")
        time.sleep(0.5)
        snap = samples(PORT_POLICYD_METRICS)
        ok(val(snap, "mailauth_reloads_total") == 1,
           "policyd: the workers' own reloads are not counted again")
        ok(total(snap, spf, identity="mailfrom") == n + sum(sent2.values()),
           "policyd: counts kept across the reload")
        # -t with the endpoint's port taken (by the running daemon)
        t = subprocess.run([POLICYD, "-t", "-c", conf], capture_output=True, text=True)
        ok(t.returncode == 78 and "metrics_listen 127.0.0.1:%d" % PORT_POLICYD_METRICS in t.stderr,
           "policyd -t: metrics_listen in use is an error (%d: %s)" %
           (t.returncode, t.stderr.strip()[-200:]))
        ok(p.poll() is None, "policyd: master still running")
        return names(PORT_POLICYD_METRICS)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        ok(p.returncode == 0, "policyd: clean exit")
        text = open(logpath).read()
        ok(not re.search(r"Sanitizer|runtime error|panic", text),
           "policyd: no sanitizer report or panic")
        if rt.FAILED:
            print(text[-3000:])


def test_policyd_single(tmp, forwarder):
    """worker_processes = 1: the one process serves the endpoint on its own
    loop, under its seccomp filter where built with it"""
    conf = os.path.join(tmp, "policyd1.conf")
    with open(conf, "w") as f:
        f.write("listen = inet:127.0.0.1:%d\nworker_processes = 1\nuser = %s\n"
                "dns_forwarders = %s\nshutdown_timeout = 2s\n"
                "metrics_listen = 127.0.0.1:%d\n"
                % (PORT_POLICYD, policyd_user(), forwarder, PORT_POLICYD_METRICS))
    os.chmod(conf, 0o644)
    logpath = os.path.join(tmp, "policyd1.log")
    p = subprocess.Popen([POLICYD, "-f", "-c", conf], stdout=open(logpath, "w"),
                         stderr=subprocess.STDOUT)
    try:
        ok(rt.wait_for(lambda: scrape(PORT_POLICYD_METRICS)[0] == 200, WAIT),
           "policyd single process: GET /metrics answers 200")
        c = PolicyConn()
        for i in range(3):
            c.ask(request("a@pass.example", 500 + i))
        snap = samples(PORT_POLICYD_METRICS)
        ok(val(snap, "mailauth_policyd_spf_results_total", identity="mailfrom",
               result="pass") == 3, "policyd single process: 3 mailfrom passes counted")
        ok(val(snap, "mailauth_sessions_in_flight") == 1,
           "policyd single process: one session in flight")
        c.close()
        with open("/proc/%d/status" % p.pid) as f:
            confined = re.search(r"^Seccomp:\s+2$", f.read(), re.M) is not None
        with open(os.path.join(BUILD, "config_build.h")) as f:
            built = "#define MAILAUTH_SECCOMP 1" in f.read()
        ok(confined or not built, "policyd single process: served under its seccomp filter")
        os.kill(p.pid, signal.SIGHUP)
        snap = wait_value(PORT_POLICYD_METRICS, "mailauth_reloads_total", 1)
        ok(val(snap, "mailauth_reloads_total") == 1, "policyd single process: one reload counted")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    ok(p.returncode == 0, "policyd single process: clean exit")
    if rt.FAILED:
        print(open(logpath).read()[-2000:])


def recv_all(s, limit):
    """what arrives until the peer closes, and when it closed (None: it did
    not within limit seconds)"""
    s.settimeout(limit)
    data, start = b"", time.time()
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, time.time() - start
            data += chunk
    except (socket.timeout, ConnectionResetError):
        return data, None


def http_get(s):
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    s.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


LIMIT_CONNS = 3


def limits_header(what):
    port = PORT_POLICYD_METRICS
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 1100 +
              b"\r\n\r\n")
    data, closed = recv_all(s, 5)
    s.close()
    ok(data.startswith(b"HTTP/1.1 400 ") and closed is not None,
       "%s: a header past metrics_header_size_limit (1k) gets 400 and a close (%r, %s)" %
       (what, data[:40], closed))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 800 +
              b"\r\n\r\n")
    data, _ = recv_all(s, 5)
    s.close()
    ok(data.startswith(b"HTTP/1.1 200 "),
       "%s: a header within metrics_header_size_limit is served (%r)" % (what, data[:40]))


def limits_idle(what):
    s = socket.create_connection(("127.0.0.1", PORT_POLICYD_METRICS), timeout=5)
    data, closed = recv_all(s, 5)
    s.close()
    ok(data == b"" and closed is not None and 0.8 <= closed < 3,
       "%s: a connection idle for metrics_idle_timeout (1s) is closed (after %s s)" %
       (what, closed))
    s = socket.create_connection(("127.0.0.1", PORT_POLICYD_METRICS), timeout=5)
    first = http_get(s)
    data, closed = recv_all(s, 5)
    s.close()
    ok(first.startswith(b"HTTP/1.1 200") and closed is not None and closed < 3,
       "%s: an idle keep-alive connection is closed too (%r, after %s s)" %
       (what, first, closed))


def limits_connections(what):
    port = PORT_POLICYD_METRICS
    held = [socket.create_connection(("127.0.0.1", port), timeout=5)
            for _ in range(LIMIT_CONNS)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    data, closed = recv_all(extra, 0.8)
    extra.close()
    ok(data == b"" and closed is not None and closed < 0.5,
       "%s: connection %d past metrics_connection_limit (%d) is closed at once (%s)" %
       (what, LIMIT_CONNS + 1, LIMIT_CONNS, closed))
    lines = [http_get(s) for s in held]
    ok(all(x.startswith(b"HTTP/1.1 200") for x in lines),
       "%s: the %d open connections still get answers (%s)" % (what, LIMIT_CONNS, lines))
    held.pop().close()
    time.sleep(0.3)
    again = socket.create_connection(("127.0.0.1", port), timeout=5)
    line = http_get(again)
    ok(line.startswith(b"HTTP/1.1 200"),
       "%s: after one closed, a new connection is served (%r)" % (what, line))
    again.close()
    for s in held:
        s.close()
    time.sleep(0.3)
    # a burst of limit + 1 at once (the listen backlog is the limit, so the
    # kernel queues at most one more): the first limit served, the last closed
    burst = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _ in range(LIMIT_CONNS + 1)]
    time.sleep(0.3)
    results = []
    for s in burst:
        try:
            line = http_get(s)
        except OSError:
            line = b""
        results.append(line)
    for s in burst:
        s.close()
    ok(all(x.startswith(b"HTTP/1.1 200") for x in results[:-1]) and results[-1] == b"",
       "%s: of a burst of %d, the first %d are served and the last closed (%s)" %
       (what, LIMIT_CONNS + 1, LIMIT_CONNS, results))


def test_limits(tmp, forwarder, nworkers):
    """metrics_header_size_limit, metrics_idle_timeout, metrics_connection_limit"""
    what = "policyd (%d worker%s)" % (nworkers, "s" if nworkers > 1 else "")
    conf = os.path.join(tmp, "limits%d.conf" % nworkers)
    with open(conf, "w") as f:
        f.write("listen = inet:127.0.0.1:%d\nworker_processes = %d\nuser = %s\n"
                "dns_forwarders = %s\nshutdown_timeout = 2s\n"
                "metrics_listen = 127.0.0.1:%d\nmetrics_header_size_limit = 1k\n"
                "metrics_idle_timeout = 1s\nmetrics_connection_limit = %d\n"
                % (PORT_POLICYD, nworkers, policyd_user(), forwarder,
                   PORT_POLICYD_METRICS, LIMIT_CONNS))
    os.chmod(conf, 0o644)
    logpath = os.path.join(tmp, "limits%d.log" % nworkers)
    p = subprocess.Popen([POLICYD, "-f", "-c", conf], stdout=open(logpath, "w"),
                         stderr=subprocess.STDOUT)
    try:
        ok(rt.wait_for(lambda: scrape(PORT_POLICYD_METRICS)[0] == 200, WAIT),
           "%s: GET /metrics answers 200" % what)
        limits_header(what)
        limits_idle(what)
        limits_connections(what)
        ok(scrape(PORT_POLICYD_METRICS)[0] == 200, "%s: still serving" % what)
        ok(p.poll() is None, "%s: still running" % what)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    text = open(logpath).read()
    ok(p.returncode == 0, "%s: clean exit" % what)
    warned = text.count("more than metrics_connection_limit (%d)" % LIMIT_CONNS)
    ok(warned == 2, "%s: each of the 2 times the limit was reached is logged once (%d)" %
       (what, warned))
    ok(not re.search(r"Sanitizer|runtime error|panic", text),
       "%s: no sanitizer report or panic" % what)
    if rt.FAILED:
        print(text[-2000:])


def policyd_http(p):
    code, _ = scrape(PORT_POLICYD_METRICS, "/other")
    ok(code == 404, "metrics: an unknown path is 404 (%d)" % code)
    code, _ = scrape(PORT_POLICYD_METRICS, "/metrics", "POST")
    ok(code in (405, 501), "metrics: POST is refused (%d)" % code)
    code, body = scrape(PORT_POLICYD_METRICS, "/metrics", "HEAD")
    ok(code in (405, 501), "metrics: HEAD is refused (%d)" % code)


# ---------------------------------------------------------------- reinject

def send(port, msg, rcpt="b@example.net"):
    c = rt.Client(port, timeout=15)
    c.reply()
    c.cmd("EHLO client.example")
    _, final = rt.transaction(c, [rcpt], msg)
    c.cmd("QUIT")
    c.close()
    return final[0] if final else 0


def test_reinject(tmp, key, forwarder):
    pw = rt.Reinject.ensure_user()
    if pw:
        os.chown(key, pw.pw_uid, pw.pw_gid)
    os.chmod(key, 0o600)
    sink = rt.Sink(PORT_SINK)
    r = rt.Reinject(tmp, PORT_REINJECT, PORT_SINK,
                    "sign_domain = example.org, example.com\nsign_selector = sel\n"
                    "sign_key_file = %s\n"
                    "dns_forwarders = %s\nmetrics_listen = 127.0.0.1:%d\n"
                    % (key, forwarder, PORT_REINJECT_METRICS))
    r.start()
    M = PORT_REINJECT_METRICS
    try:
        master = r.p.pid
        ok(rt.wait_for(lambda: len(workers(master)) == WORKERS, WAIT), "reinject: two workers")
        ok(rt.wait_for(lambda: scrape(M)[0] == 200, WAIT), "reinject: GET /metrics answers 200")
        s0 = samples(M)
        sig = "mailauth_reinject_signatures_total"
        for d in ("example.org", "example.com"):
            k = (sig, frozenset({"domain": d, "selector": "sel"}.items()))
            ok(k in s0 and s0[k] == 0,
               "reinject: the series of key %s/sel is listed at 0 before any mail (%s)" %
               (d, s0.get(k)))
        # signed on the sign listener
        signed = 6
        for i in range(signed):
            ok(send(PORT_REINJECT + 1, rt.message("signed-%d" % i)) == 250,
               "reinject: message %d signed and relayed" % i)
        s1 = samples(M)
        ok(delta(s0, s1, "mailauth_reinject_signatures_total",
                 domain="example.org", selector="sel") == signed,
           "reinject: %d signatures counted for example.org/sel" % signed)
        ok(delta(s0, s1, "mailauth_reinject_messages_total", action="relayed") == signed,
           "reinject: %d relayed messages counted" % signed)
        out = [m for m in sink.messages][-signed:]
        raw = [m["data"] if isinstance(m, dict) and "data" in m else None for m in out]
        ok(all(x and b"DKIM-Signature:" in x for x in raw),
           "reinject: the sink got the signed messages")
        # the signed ones verified: DKIM pass, DMARC pass
        for x in raw[:4]:
            ok(send(PORT_REINJECT, x) == 250, "reinject: a signed message verified and relayed")
        # a tampered one: DKIM fail (and DMARC fail, p=reject)
        tampered = raw[4].replace(b"hello", b"HELLO") if raw[4] else b""
        code_t = send(PORT_REINJECT, tampered)
        # unsigned From example.org: DMARC fail, disposition reject
        code_u = send(PORT_REINJECT, rt.message("unsigned"))
        s2 = samples(M)
        ok(delta(s1, s2, "mailauth_reinject_dkim_results_total", result="pass") == 4,
           "reinject: 4 DKIM passes (%s)" % delta(s1, s2, "mailauth_reinject_dkim_results_total", result="pass"))
        ok(delta(s1, s2, "mailauth_reinject_dkim_results_total", result="fail") == 1,
           "reinject: 1 DKIM fail")
        ok(delta(s1, s2, "mailauth_reinject_dmarc_results_total",
                 result="pass", disposition="none") == 4, "reinject: 4 DMARC passes")
        ok(delta(s1, s2, "mailauth_reinject_dmarc_results_total",
                 result="fail", disposition="reject") == 2,
           "reinject: 2 DMARC fails with disposition reject (replies %d, %d)" % (code_t, code_u))
        msgs = total(s2, "mailauth_reinject_messages_total") - total(s0, "mailauth_reinject_messages_total")
        ok(msgs == signed + 6, "reinject: every message counted once by action (%s)" % msgs)
        ok(delta(s0, s2, "mailauth_reinject_message_seconds_count") == signed + 6,
           "reinject: message histogram _count is %d" % (signed + 6))
        ok(val(s2, "mailauth_dns_lookup_seconds_count") > 0, "reinject: DNS lookups timed")
        # downstream refuses with 451: a downstream error and a tempfail
        sink.data_reply = "451 4.3.0 try again later"
        code = send(PORT_REINJECT, rt.message("deferred"))
        sink.data_reply = None
        s3 = samples(M)
        ok(code == 451, "reinject: downstream 451 answered 451 (%d)" % code)
        ok(delta(s2, s3, "mailauth_reinject_downstream_errors_total") == 1,
           "reinject: one downstream error counted")
        ok(delta(s2, s3, "mailauth_reinject_tempfails_total") == 1, "reinject: one tempfail counted")
        ok(delta(s2, s3, "mailauth_reinject_messages_total", action="deferred") == 1,
           "reinject: one deferred message counted")
        ok(val(s3, "mailauth_sessions_in_flight") == 0, "reinject: no session in flight")
        # -t: the same settings on free ports, the metrics port taken
        tconf = os.path.join(tmp, "t.conf")
        with open(r.conf) as f, open(tconf, "w") as g:
            g.write(re.sub(r"(?m)^listen = .*$", "listen = 127.0.0.1:%d verify" % (PORT_SINK + 10),
                           f.read()))
        os.chmod(tconf, 0o644)
        t = subprocess.run([rt.REINJECT, "-t", "-c", tconf], capture_output=True, text=True)
        ok(t.returncode == 78 and "metrics_listen 127.0.0.1:%d" % M in t.stderr
           and "listen 127.0.0.1:%d" % (PORT_SINK + 10) not in t.stderr,
           "reinject -t: metrics_listen in use is an error (%d: %s)" %
           (t.returncode, t.stderr.strip()[-300:]))
        # restart and reload
        victim = min(workers(master))
        os.kill(victim, signal.SIGKILL)
        s4 = wait_value(M, "mailauth_worker_restarts_total", 1)
        ok(val(s4, "mailauth_worker_restarts_total") == 1, "reinject: one worker restart counted")
        os.kill(master, signal.SIGHUP)
        s5 = wait_value(M, "mailauth_reloads_total", 1)
        ok(val(s5, "mailauth_reloads_total") == 1, "reinject: one reload counted")
        ok(rt.wait_for(lambda: "reloaded" in r.logtext(), WAIT), "reinject: reload logged")
        ok(send(PORT_REINJECT + 1, rt.message("after-reload")) == 250,
           "reinject: the new generation signs")
        s6 = samples(M)
        ok(delta(s0, s6, "mailauth_reinject_signatures_total",
                 domain="example.org", selector="sel") == signed + 1,
           "reinject: signature counts kept across the restart and the reload")
        k = (sig, frozenset({"domain": "example.com", "selector": "sel"}.items()))
        ok(s6.get(k) == 0, "reinject: the unused key's series is still listed at 0 (%s)" %
           s6.get(k))
        return names(M)
    finally:
        r.stop()
        sink.close()
        ok(r.p.returncode == 0, "reinject: clean exit")
        ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
           "reinject: no sanitizer report or panic")
        if rt.FAILED:
            print(r.logtext()[-3000:])


SERIES_LIMIT = 64
SERIES_DOMAINS = 30


def test_reinject_series(tmp, key, forwarder):
    """metrics_series_limit = 64 and 30 signing domains: the first ones get
    their series at 0, the rest are logged, and a signature with a key left
    out counts under domain="_other" """
    sink = rt.Sink(PORT_SINK)
    doms = ["d%02d.example" % i for i in range(SERIES_DOMAINS)]
    r = rt.Reinject(tmp, PORT_REINJECT, PORT_SINK,
                    "sign_domain = %s\nsign_selector = sel\nsign_key_file = %s\n"
                    "dns_forwarders = %s\nmetrics_listen = 127.0.0.1:%d\n"
                    "metrics_series_limit = %d\n"
                    % (", ".join(doms), key, forwarder, PORT_REINJECT_METRICS, SERIES_LIMIT))
    r.start()
    M = PORT_REINJECT_METRICS
    sig = "mailauth_reinject_signatures_total"
    try:
        ok(rt.wait_for(lambda: scrape(M)[0] == 200, WAIT),
           "reinject series: GET /metrics answers 200")
        s0 = samples(M)
        series = {(n[:-6] if n.endswith("_total") else n, l) for (n, l) in s0
                  if not re.search(r"_(bucket|sum|count|created)$", n)}
        hist = {n[:-6] for (n, _) in s0 if n.endswith("_count")}
        ok(len(series) + len(hist) == SERIES_LIMIT,
           "reinject series: the map holds exactly metrics_series_limit (%d) series (%d)" %
           (SERIES_LIMIT, len(series) + len(hist)))
        listed = [d for d in doms if (sig, frozenset({"domain": d, "selector": "sel"}.items()))
                  in s0]
        ok(0 < len(listed) < SERIES_DOMAINS and listed == doms[:len(listed)],
           "reinject series: the first %d keys are listed, the rest left out" % len(listed))
        other = (sig, frozenset({"domain": "_other", "selector": "_other"}.items()))
        ok(s0.get(other) == 0, "reinject series: _other is listed at 0 (%s)" % s0.get(other))
        left = SERIES_DOMAINS - len(listed)
        ok(r.logtext().count("metrics_series_limit reached") == left,
           "reinject series: each of the %d keys left out is logged" % left)
        last = rt.message("left-out").replace(b"a@example.org", b"a@%s" % doms[-1].encode())
        ok(send(PORT_REINJECT + 1, last) == 250, "reinject series: a message signed by %s" %
           doms[-1])
        s1 = samples(M)
        ok(s1.get(other) == 1, "reinject series: its signature counts under _other (%s)" %
           s1.get(other))
    finally:
        r.stop()
        sink.close()
        ok(r.p.returncode == 0, "reinject series: clean exit")
        ok(not re.search(r"Sanitizer|runtime error|panic", r.logtext()),
           "reinject series: no sanitizer report or panic")
        if rt.FAILED:
            print(r.logtext()[-3000:])


# ---------------------------------------------------------------- grafana

def test_dashboard(exported):
    path = os.path.join(SRC, "etc", "grafana", "mailauth.json")
    with open(path) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    names = set()
    for e in exprs:
        names |= set(re.findall(r"\bmailauth_[a-z_]+", e))
    ok(len(names) >= 10, "grafana: the dashboard names %d metrics" % len(names))
    ok(dash.get("uid") == "mailauth" and dash.get("panels"), "grafana: a dashboard with panels")
    for n in sorted(names):
        ok(n in exported, "grafana: %s is exported" % n)


def main():
    for exe in (rt.REINJECT, POLICYD):
        if not os.access(exe, os.X_OK):
            print("SKIP: %s not built" % exe)
            return 77
    if shutil.which("curl") is None:
        print("SKIP: curl missing")
        return 77
    try:
        import prometheus_client.parser  # noqa: F401
    except ImportError:
        print("SKIP: python3-prometheus-client missing")
        return 77
    tmp = tempfile.mkdtemp(prefix="ma-metrics-")
    os.chmod(tmp, 0o755)
    dnsdir = None
    try:
        rt.Reinject.ensure_user()
        key, forwarder, dnsdir = setup_dns(tmp)
        if key is None:
            print("SKIP: no private DNS server (dnsserver.sh exit %s)" % dnsdir)
            dnsdir = None
            return 77
        os.makedirs(os.path.join(tmp, "policyd"))
        os.makedirs(os.path.join(tmp, "reinject"))
        os.chmod(os.path.join(tmp, "policyd"), 0o755)
        exported = set()
        exported |= test_policyd(os.path.join(tmp, "policyd"), forwarder) or set()
        test_policyd_single(os.path.join(tmp, "policyd"), forwarder)
        test_limits(os.path.join(tmp, "policyd"), forwarder, 2)
        test_limits(os.path.join(tmp, "policyd"), forwarder, 1)
        exported |= test_reinject(os.path.join(tmp, "reinject"), key, forwarder) or set()
        os.makedirs(os.path.join(tmp, "series"))
        test_reinject_series(os.path.join(tmp, "series"), key, forwarder)
        test_dashboard(exported)
    finally:
        if dnsdir:
            subprocess.run(["sh", os.path.join(HERE, "dnsserver.sh"), "stop", dnsdir])
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(rt.FAILED))
    return 1 if rt.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
