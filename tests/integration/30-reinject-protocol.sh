#!/bin/bash
# 30-reinject-protocol.sh - reinject protocol tests: pipelining, several messages per session, DSN and XFORWARD passthrough, parameters filtered by downstream's EHLO (no DSN: dropped; no SMTPUTF8/8BITMIME: 451 at MAIL, nothing relayed), dot-stuffing both ways, per-recipient replies relayed, bad input (scripted client and downstream in 30-reinject-test.py; ports 20700-20799).
# Debian's python3 (python3-dkim), not one first on PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" "$(dirname "$0")/30-reinject-test.py" protocol
