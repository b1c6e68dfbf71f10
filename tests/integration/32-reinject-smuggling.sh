#!/bin/bash
# 32-reinject-smuggling.sh - the SMTP smuggling matrix (32-reinject-smuggling.py):
# every sequence of bare CR, bare LF, CR LF, "." and NUL around the end of
# data, followed by a pipelined smuggled transaction, through reinject alone
# (bare_newline_action normalize and refuse, nul_byte_action refuse).
# Downstream must see exactly the
# transactions the client got 250 for; only CRLF "." CRLF ends DATA.
# Ports: 21300-21309 (reinject alone).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
HERE=$(dirname "$0")

"$PY" "$HERE/32-reinject-smuggling.py" alone 21300
