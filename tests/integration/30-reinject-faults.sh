#!/bin/bash
# 30-reinject-faults.sh - reinject fault tests: downstream 451/552 relayed, downstream answers DATA with 250, 5xx, 4xx or nothing, downstream resets mid-message, downstream stalled or down, client stalls, spool directory unwritable (scripted client and downstream in 30-reinject-test.py; ports 20700-20799).
# Debian's python3 (python3-dkim), not one first on PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" "$(dirname "$0")/30-reinject-test.py" faults
