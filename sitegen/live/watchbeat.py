"""OUT/watch.json: whether a `sitegen --watch` keeps OUT up to date, for the stale banner.

A watching sitegen writes no page while nothing changes, so a page's age says
nothing about whether it is still watched. Its heartbeat thread rewrites this
tiny file every HEARTBEAT_S instead (one small atomic write a minute: nothing for
an idle machine), and says when it stopped; the pages' script (app.js) reads it
and says the dashboard is stale when the beat is a few beats old, or stopped.
A one-off build says no watch is expected, unless a live watch's beat is there.
Its format is in docs/sitegen.md.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time

from runwrap.store.jsonio import dumps
from runwrap.timefmt import iso, parse_iso
from sitegen import logs
from sitegen.publish.scratch import Scratch

HEARTBEAT_S = 60.0
STALE_BEATS = 3  # app.js's rule too: a watch that missed this many beats is taken for dead
WATCH_JSON = "watch.json"

log = logs.getLogger(__name__)


def _write(out: str, scratch: Scratch, beat: dict) -> None:
    try:
        scratch.write(os.path.join(out, WATCH_JSON), (dumps(beat) + "\n").encode())
    except OSError as e:  # OUT full or gone: the banner will say the dashboard is stale
        log.debug("cannot write %s: %s", WATCH_JSON, e)


def _beat(stopped: bool) -> dict:
    now = iso(time.time())
    beat: dict[str, object] = {"watching": True, "alive_at": now, "every_s": HEARTBEAT_S}
    beat["pid"] = os.getpid()
    if stopped:
        beat["stopped_at"] = now
    return beat


def start(out: str, scratch: Scratch, stop: threading.Event) -> threading.Thread:
    """Beat until `stop` is set or the process exits, then say so in the file."""

    def beat() -> None:
        while True:
            _write(out, scratch, _beat(stopped=False))
            if stop.wait(HEARTBEAT_S):
                break
        _write(out, scratch, _beat(stopped=True))

    thread = threading.Thread(target=beat, name="sitegen-heartbeat", daemon=True)
    thread.start()

    def finish() -> None:  # at exit, however the watch ended: the file says it stopped
        stop.set()
        thread.join(5.0)

    atexit.register(finish)
    return thread


def built_once(out: str, scratch: Scratch) -> None:
    """After a one-off build: no watch is expected, unless one is beating now."""
    try:
        with open(os.path.join(out, WATCH_JSON), "rb") as f:
            old = json.loads(f.read(4096))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and old.get("watching") and not old.get("stopped_at"):
        alive = parse_iso(old.get("alive_at"))
        if alive is not None and time.time() - alive < STALE_BEATS * HEARTBEAT_S:
            return  # a live watch's beat: its own to keep
    _write(out, scratch, {"watching": False, "built_at": iso(time.time())})
