#!/bin/bash
# 32-prefork-faults.sh - fault suite of the pre-forking master: a worker of reinject and of policyd killed after 0, 1 and 2 reloads is replaced, logged, and new connections are served (32-prefork-faults.py; ports 20950-20959).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" "$(dirname "$0")/32-prefork-faults.py"
