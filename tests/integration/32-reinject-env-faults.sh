#!/bin/bash
# 32-reinject-env-faults.sh - reinject with a full spool filesystem and a DNS
# server that never answers (32-reinject-env-faults.py).  As root the script
# runs in a private mount namespace, where it mounts a small tmpfs as the
# spool; otherwise the spool case is skipped with a message.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
script=$(dirname "$0")/32-reinject-env-faults.py
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	exec unshare -m --propagation private "$PY" "$script"
fi
exec "$PY" "$script"
