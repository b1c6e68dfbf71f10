#!/bin/bash
# 35-metrics.sh - the Prometheus endpoint of policyd and reinject, scraped with curl and parsed with python3-prometheus-client; the Grafana dashboard's metrics (35-metrics.py; ports 21400-21419).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
exec "$PY" "$(dirname "$0")/35-metrics.py"
