#!/bin/bash
# 30-reinject-protocol.sh - reinject protocol tests: pipelining, several messages per session, DSN and XFORWARD passthrough, dot-stuffing both ways, per-recipient replies relayed, bad input (scripted client and downstream in 30-reinject-test.py; ports 20700-20719).
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
exec python3 "$(dirname "$0")/30-reinject-test.py" protocol
