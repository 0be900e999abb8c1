#!/bin/sh
# Succeeds: a few lines on stdout, one on stderr.
echo "hello from $(hostname) at $(date -u +%H:%M:%S)"
echo "task=$RUNWRAP_TASK run=$RUNWRAP_RUN_ID"
echo "a warning that does not fail the run" >&2
