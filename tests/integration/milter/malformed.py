#!/usr/bin/python3
"""malformed.py - malformed milter packets close the connection cleanly.

miltertest cannot send broken packets, so this client speaks the wire format
itself (4-byte length, command byte, data).  For each case: negotiate as
Postfix does, send the bad packet, and expect the milter to close the
connection (EOF, no reply); afterwards a fresh connection must still work.
Usage: malformed.py SOCKET_PATH PACKET_SIZE_LIMIT
"""
import socket
import struct
import sys

path, limit = sys.argv[1], int(sys.argv[2])


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(packet(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF)))
    head = recv_exact(s, 5)
    n = struct.unpack(">I", head[:4])[0]
    if head[4:5] != b"O":
        raise SystemExit("negotiation: reply %r" % head)
    recv_exact(s, n - 1)
    return s


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            raise SystemExit("connection closed during a reply")
        out += b
    return out


def expect_closed(name, raw):
    s = connect()
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    except socket.timeout:
        raise SystemExit("not ok - %s: connection left open" % name)
    if got:
        raise SystemExit("not ok - %s: got a reply %r instead of EOF" % (name, got))
    s.close()
    print("ok - %s closes the connection" % name)


cases = [
    ("length 0", b"\0\0\0\0"),
    ("length over milter_packet_size_limit",
     struct.pack(">I", limit + 1) + b"B"),
    ("length 2^32-1", b"\xff\xff\xff\xff"),
    ("unknown command", packet(b"Z", b"x")),
    ("CONNECT with an unknown family", packet(b"C", b"h\0X\0\0a\0")),
    ("HEADER without NUL", packet(b"L", b"Subject\0no end")),
    ("macro over milter_macro_size_limit",
     packet(b"D", b"M{auth_authen}\0" + b"a" * 70000 + b"\0")),
]
for name, raw in cases:
    expect_closed(name, raw)

# a command before the negotiation
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
s.sendall(packet(b"H", b"client.example\0"))
if s.recv(100) != b"":
    raise SystemExit("not ok - HELO before OPTNEG answered")
print("ok - a command before negotiation closes the connection")

# still serving: a whole message on a new connection
s = connect()
s.sendall(packet(b"C", b"client.example\x004\x04\xd2198.51.100.7\0") +
          packet(b"M", b"<bob@example.org>\0") +
          packet(b"L", b"From\0 bob@example.org\0") + packet(b"N") +
          packet(b"B", b"hi\r\n") + packet(b"E"))
replies = []
while True:
    head = recv_exact(s, 5)
    n = struct.unpack(">I", head[:4])[0]
    body = recv_exact(s, n - 1)
    replies.append(head[4:5])
    if head[4:5] in (b"c", b"a", b"t", b"r", b"y", b"d"):
        break
if replies[-1] != b"c" or b"i" not in replies:
    raise SystemExit("not ok - message after the bad packets: replies %r" % replies)
s.sendall(packet(b"Q"))
print("ok - the milter still serves new connections")
