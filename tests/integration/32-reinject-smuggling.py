#!/usr/bin/env python3
"""32-reinject-smuggling.py - the SMTP smuggling matrix (RFC 5321 §4.1.1.4:
only CRLF "." CRLF ends DATA).

Every sequence of up to MAX tokens from {CR, LF, CRLF, ".", NUL} is put
between a body line and a pipelined smuggled transaction:

    body<SEQ>MAIL FROM:<smuggled-N@...>CRLF RCPT ... DATA ... CRLF.CRLF QUIT

sent after the 354 of a transaction from legit-N.  A reference splitter
(first CRLF.CRLF after the DATA command's CRLF) says whether the bytes
define one transaction or two.  Asserted for each sequence:
  - downstream sees exactly the transactions the client got a 250 for at
    the end of DATA (matched by sender), each once;
  - when the reference finds no end inside SEQ (everything but a real
    CRLF.CRLF), downstream never sees the smuggled sender, and the legit
    message carries the smuggled command text as content;
  - NUL never reaches downstream.

Usage:
  32-reinject-smuggling.py alone PORT_BASE
      reinject alone (scripted client and downstream): bare_newline_action
      normalize and refuse, nul_byte_action strip and refuse
  32-reinject-smuggling.py postfix SMTPD_PORT SINK_PORT LABEL FIRST
      through a running Postfix (after-queue or proxy, set up by the .sh);
      this process is the final downstream on SINK_PORT; cases are numbered
      from FIRST
Environment: MAILAUTH_BUILD, SMUGGLE_MAX (longest sequence, default 4 alone,
3 through Postfix).  Exit 0 all passed, 1 a failure.
"""
import importlib.util
import itertools
import os
import re
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("reinject_test",
                                              os.path.join(HERE, "30-reinject-test.py"))
rt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rt)

TOKENS = [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n"), ("DOT", b"."), ("NUL", b"\0")]
FAILED = []


def ok(cond, msg):
    if not cond:
        print("not ok - " + msg, flush=True)
        FAILED.append(msg)
    return cond


def sequences(maxlen):
    for n in range(1, maxlen + 1):
        for seq in itertools.product(TOKENS, repeat=n):
            yield "+".join(t[0] for t in seq), b"".join(t[1] for t in seq)


def data_bytes(n, seq):
    return (b"From: legit-%d@example.org\r\nSubject: legit %d\r\n\r\nbody" % (n, n) + seq +
            b"MAIL FROM:<smuggled-%d@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
            b"DATA\r\nSubject: smuggled %d\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n" % (n, n))


def reference_end(data):
    """offset in data just after the first CRLF.CRLF (the DATA command's
    CRLF counts as the first CRLF), per RFC 5321 §4.1.1.4"""
    i = (b"\r\n" + data).find(b"\r\n.\r\n")
    return None if i < 0 else i + 3


def read_replies(c):
    """every reply up to 221 or EOF: [(code, first line)]"""
    out = []
    while True:
        try:
            code, lines = c.reply()
        except OSError:
            return out
        if code == 0:
            return out
        out.append((code, lines[0]))
        if code == 221:
            return out


def accepted(replies):
    """queue ids ("queued as X") of 2xx replies that answer an end of data,
    i.e. follow a 354; and the codes of those final replies"""
    ids, finals = [], []
    for prev, cur in zip(replies, replies[1:]):
        if prev[0] == 354:
            finals.append(cur[0])
            if cur[0] // 100 == 2:
                ids.append(cur[1])
    return ids, finals


def run_case(port, n, seq, helo="client.example"):
    c = rt.Client(port, timeout=20)
    try:
        c.reply()
        c.cmd("EHLO " + helo)
        c.send("MAIL FROM:<legit-%d@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" % n)
        pre = [c.reply() for _ in range(3)]
        if pre[-1][0] != 354:
            return None, [(x[0], x[1][0]) for x in pre]
        data = data_bytes(n, seq)
        c.send(data)
        return data, [(354, pre[-1][1][0])] + read_replies(c)
    finally:
        c.close()


def has_bare(seq):
    return b"\r" in seq.replace(b"\r\n", b"") or b"\n" in seq.replace(b"\r\n", b"")


def check_case(name, n, seq, data, replies, delivered, refuse):
    """delivered: the sink's transactions for case n; refuse(seq): whether the
    message with seq inside is to be refused (550)"""
    if data is None:
        return ok(False, "%s: no 354: %s" % (name, replies))
    ids, finals = accepted(replies)
    senders = [re.search(r"<([^>]*)>", t["mail"]).group(1) for t in delivered]
    end = reference_end(data)
    split = end is not None and end <= data.index(b"MAIL FROM:<smuggled")
    good = ok(len(delivered) == len(ids),
              "%s: downstream got %d transactions, client was accepted for %d: %s %s"
              % (name, len(delivered), len(ids), senders, replies))
    if not split:
        good &= ok("smuggled-%d@example.org" % n not in senders,
                   "%s: smuggled transaction reached downstream: %s" % (name, senders))
        good &= ok(finals[:1] != [] and len(finals) == 1,
                   "%s: one end of DATA expected, replies %s" % (name, replies))
        if delivered:
            good &= ok(b"MAIL FROM:<smuggled-%d@example.org>" % n in delivered[0]["data"],
                       "%s: smuggled commands not in the legit message as content" % name)
        if refuse(seq):
            good &= ok(finals == [550], "%s: refuse mode: want 550, got %s" % (name, finals))
        elif finals:
            good &= ok(finals[0] // 100 == 2, "%s: want 250, got %s" % (name, replies))
    for t in delivered:
        good &= ok(b"\0" not in t["raw"], "%s: NUL relayed downstream" % name)
    return good


def settle(sink, count, secs):
    end = time.time() + secs
    while time.time() < end:
        with sink.lock:
            if len(sink.messages) >= count:
                return True
        time.sleep(0.1)
    return False


def by_case(messages):
    out = {}
    for t in messages:
        m = re.search(r"<(?:legit|smuggled)-(\d+)@", t["mail"])
        if m:
            out.setdefault(int(m.group(1)), []).append(t)
    return out


def matrix(port, sink, label, maxlen, refuse, wait, first=0):
    """run every sequence through port; wait: downstream is asynchronous;
    first: number of the first case (senders stay apart between runs)"""
    t0 = time.time()
    cases = []
    base = len(sink.messages)
    want = 0
    for n, (name, seq) in enumerate(sequences(maxlen), first):
        data, replies = run_case(port, n, seq)
        cases.append((name, n, seq, data, replies))
        want += len(accepted(replies)[0])
    if wait:
        settle(sink, base + want, 60)
        time.sleep(1)	# anything extra (a smuggled copy) would come now
    got = by_case(sink.messages[base:])
    bad = sum(not check_case("%s %s" % (label, name), n, seq, data, replies,
                             got.get(n, []), refuse)
              for name, n, seq, data, replies in cases)
    print("%s - %s: %d sequences, %d transactions accepted, %d failed (%.1fs)"
          % ("ok" if not bad else "not ok", label, len(cases), want, bad, time.time() - t0),
          flush=True)


def alone(base):
    tmp = tempfile.mkdtemp(prefix="ma-smuggle-")
    maxlen = int(os.environ.get("SMUGGLE_MAX", "4"))
    sink = rt.Sink(base + 2)
    rt.Reinject.ensure_user()
    for i, (label, extra, refuse) in enumerate((
            ("normalize", "bare_newline_action = normalize\ndmarc_enable = no\n",
             lambda seq: False),
            ("refuse", "bare_newline_action = refuse\ndmarc_enable = no\n", has_bare),
            ("nul refuse", "nul_byte_action = refuse\ndmarc_enable = no\n",
             lambda seq: b"\0" in seq))):
        d = os.path.join(tmp, label.replace(" ", "-"))
        os.makedirs(d)
        r = rt.Reinject(d, base + 4 + 2 * i, base + 2, extra)
        r.start()
        try:
            matrix(base + 4 + 2 * i, sink, "reinject alone, " + label, maxlen, refuse, False)
            ok(r.alive(), "reinject (%s) still running" % label)
        finally:
            r.stop()
        log = r.logtext()
        ok(not re.search(r"Sanitizer|runtime error|panic", log),
           "%s: no sanitizer report or panic: %s" % (label, log[-2000:]))
    sink.close()


def through_postfix(smtpd, sinkport, label, first):
    maxlen = int(os.environ.get("SMUGGLE_MAX", "3"))
    sink = rt.Sink(sinkport)
    try:
        matrix(smtpd, sink, label, maxlen, lambda seq: False, True, first)
    finally:
        sink.close()


def main():
    if sys.argv[1] == "alone":
        if not os.access(rt.REINJECT, os.X_OK):
            print("SKIP: %s not built" % rt.REINJECT)
            return 77
        alone(int(sys.argv[2]))
    else:
        through_postfix(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
