#!/usr/bin/env python3
"""Runs a while and reports progress through the feedback file (a heartbeat each write)."""

import os
import sys
import time

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25
feedback = os.environ["RUNWRAP_FEEDBACK"]

for i in range(steps + 1):
    with open(feedback, "a") as f:
        f.write(f"[progress]{i * 100 // steps}\n[info]step {i} of {steps}\n")
    print(f"step {i}", flush=True)
    time.sleep(pause)

with open(feedback, "a") as f:
    f.write("[]\n[result]processed 1,024 records\n")
print("done")
