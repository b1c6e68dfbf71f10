#!/usr/bin/python3
"""limit.py - milter_connection_limit: with the limit (1) reached, a further
connection is closed at once, before any negotiation; once the first closes,
connections are served again.  Usage: limit.py SOCKET_PATH"""
import socket
import struct
import sys
import time

path = sys.argv[1]


def negotiated():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    head = s.recv(5)
    if head[4:5] != b"O":
        return None
    return s


first = negotiated()
if first is None:
    raise SystemExit("not ok - first connection not negotiated")
second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
second.settimeout(10)
second.connect(path)
try:
    second.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
except BrokenPipeError:
    pass
try:
    got = second.recv(5)
except ConnectionResetError:
    got = b""
if got:
    raise SystemExit("not ok - connection over milter_connection_limit answered")
print("ok - a connection over milter_connection_limit is closed at once")
first.close()
for _ in range(50):
    time.sleep(0.1)
    s = negotiated()
    if s:
        s.close()
        print("ok - served again once the first connection closed")
        break
else:
    raise SystemExit("not ok - not served again after the first closed")
