#!/bin/sh
# Hangs: meant to be stopped by runwrap --timeout (or --heartbeat-timeout).
echo "waiting for a lock that never comes..."
echo "[info]waiting for the database" >> "${RUNWRAP_FEEDBACK:-/dev/null}"
while :; do sleep 1; done
