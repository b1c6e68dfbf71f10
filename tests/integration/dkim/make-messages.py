#!/usr/bin/python3
"""make-messages.py DIR BIG_MIB - the interop test messages, CRLF line ends.

basic, empty-body, no-final-crlf, trailing-blank-lines, folded-repeated (folded
fields, repeated Received and X-Tag, odd whitespace), 8bit (UTF-8 header and
body), long-lines and, when BIG_MIB > 0, big (a body of BIG_MIB MiB).
"""
import os
import sys

HEAD = (b"Received: from a.example.net by mx.example.com; Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        b"From: Alice <alice@example.com>\r\n"
        b"To: Bob <bob@example.org>\r\n"
        b"Subject: interop %s\r\n"
        b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <%s@example.com>\r\n"
        b"MIME-Version: 1.0\r\n")


def head(name, extra=b""):
    n = name.encode()
    return HEAD % (n, n) + extra


def messages(big_mib):
    text = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    yield "basic", head("basic") + text + b"Hello Bob,\r\n\r\nsee you.\r\n"
    yield "empty-body", head("empty-body") + text
    yield "no-final-crlf", head("no-final-crlf") + text + b"line one\r\nlast line"
    yield "trailing-blank-lines", (head("trailing-blank-lines") + text +
                                   b"body  with   spaces \t\r\n\r\n \r\n\r\n\r\n")
    yield "folded-repeated", (
        b"Received: from b.example.net\r\n\tby a.example.net; Wed, 25 Nov 2026 09:59:00 +0000\r\n"
        b"Received: from c.example.net by b.example.net; Wed, 25 Nov 2026 09:58:00 +0000\r\n"
        b"Resent-Date: Wed, 25 Nov 2026 09:57:00 +0000\r\n"
        b"Resent-From: list@example.com\r\n"
        b"Resent-Date:   Wed, 25 Nov 2026 09:56:00 +0000  \r\n"
        b"Resent-From: owner@example.com\r\n"
        b"From: Alice <alice@example.com>\r\n"
        b"To: Bob <bob@example.org>,\r\n  Carol <carol@example.org>\r\n"
        b"Subject:  folded-repeated\r\n  across\r\n\t three lines  \r\n"
        b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <folded-repeated@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"X-Tag:   first\r\n"
        b"X-Tag: second  \r\n"
        b"Content-Type: text/plain;\r\n charset=us-ascii\r\n\r\n"
        b"  leading and trailing  \r\n\ttab line\t\r\n")
    yield "8bit", (head("8bit", "X-Name: Zoë Åström\r\n".encode()) +
                   b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: 8bit\r\n\r\n" +
                   "Grüße, ça va? 日本語 \u00a0nbsp\r\n".encode() + bytes(range(0x80, 0x100)) +
                   b"\r\n")
    yield "long-lines", (head("long-lines") + text + (b"x" * 990 + b"\r\n") * 3)
    if big_mib > 0:
        line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ  0123456789\r\n"
        body = line * (big_mib * 1024 * 1024 // len(line) + 1)
        yield "big", head("big") + text + body


def main():
    out, big = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    for name, data in messages(big):
        with open(os.path.join(out, name + ".eml"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
