"""runwrap tail: a run's output, and -f to follow it until the run ends."""

from __future__ import annotations

import os
import sys
import time

from runwrap.commands.display import cell, duration
from runwrap.errors import ExitCode, NotFoundError, StateError
from runwrap.store.layout import RUNS, STDERR, STDOUT
from runwrap.store.lookup import (
    Unreadable,
    load_run,
    open_regular,
)
from runwrap.store.manifest import RUNNING, SKIPPED, SUCCESS
from runwrap.store.query import find_run
from runwrap.visible import Stream, visible


def _open_log(root: str, task: str, run_id: str, name: str) -> int | None:
    """The log, opened without following a link or blocking; None while it does not exist.

    A job can replace its log with a symlink (to /etc/shadow...): that is one
    line saying the log is not a regular file, never the target's content.
    """
    try:
        return open_regular(root, task, RUNS, run_id, name)
    except FileNotFoundError:
        return None
    except Unreadable as e:
        raise StateError(f"{name} of run {run_id} not shown: {e}") from None


def _last_lines(fd: int, count: int) -> tuple[bytes, int]:
    """The last `count` lines of an open file, and the offset where it ends."""
    end = os.lseek(fd, 0, os.SEEK_END)
    start = max(0, end - max(count, 1) * 1024)
    data = os.pread(fd, end - start, start)
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]
    tail = lines[-(count + 1) :] if count else [b""]
    return b"\n".join(tail), end


def _read_from(fd: int, offset: int) -> tuple[bytes, int]:
    """What the file holds after `offset` (from 0 if it shrank: compacted by --max-output)."""
    end = os.fstat(fd).st_size
    if end < offset:
        offset = 0
    chunks = []
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks), offset


def log_tail(root: str, task: str, run_id: str, name: str, count: int) -> str:
    """The last `count` lines of a run's log as text ("" when there is none to show)."""
    try:
        fd = _open_log(root, task, run_id, name)
    except StateError:
        return ""
    if fd is None:
        return ""
    try:
        return visible(_last_lines(fd, count)[0].decode("utf-8", "replace"))
    finally:
        os.close(fd)


def _stream(root: str, task: str, run_id: str, stream: str | None) -> str:
    """The log to show: the one asked for; else stdout, or stderr for a run that went wrong.

    A run that went wrong with nothing on stderr (a timeout of a quiet job) shows
    its stdout, as its page and its notice do. Said on stderr when chosen for the
    reader, so that stdout stays the log alone.
    """
    if stream is not None:
        return STDERR if stream == "stderr" else STDOUT
    status = load_run(root, task, run_id).get("status")
    if status in (RUNNING, SUCCESS, SKIPPED):
        return STDOUT
    what = f"the {cell(status, 20)} run {run_id}"
    if _is_empty(root, task, run_id, STDERR):
        print(f"runwrap: {STDOUT} of {what}: its {STDERR} is empty", file=sys.stderr)
        return STDOUT
    print(f"runwrap: {STDERR} of {what} (--stdout for the other)", file=sys.stderr)
    return STDERR


def _is_empty(root: str, task: str, run_id: str, name: str) -> bool:
    """Whether a log holds nothing (or is missing); one that cannot be read is not empty."""
    try:
        fd = _open_log(root, task, run_id, name)
    except StateError:
        return False  # shown as the one-line error when tail opens it
    if fd is None:
        return True
    try:
        return os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def _closing_line(root: str, task: str, run_id: str) -> str:
    """'run ended: success after 2 min 36 s', for the end of tail -f."""
    manifest = load_run(root, task, run_id)
    status = cell(manifest.get("status"), 20)
    took = duration(manifest.get("duration_s"))
    return f"run ended: {status}" + (f" after {took}" if took != "-" else "")


def cmd_tail(root: str, ref: str, follow: bool, stream: str | None, lines: int) -> int:
    """Print the end of a run's output; with follow, keep printing until the run ends.

    The output is a job's: its control characters are shown, never sent raw
    to the terminal (runwrap/visible.py). With follow, one closing line on
    stderr says how the run ended.
    """
    task, run_id = find_run(root, ref)
    name = _stream(root, task, run_id, stream)
    out = sys.stdout.buffer
    text = Stream()
    fd = _open_log(root, task, run_id, name)
    if fd is None:
        data, offset = b"", 0
        if load_run(root, task, run_id)["status"] != RUNNING:
            raise NotFoundError(f"run {run_id} has no {name}")
    else:
        try:
            data, offset = _last_lines(fd, lines)
        finally:
            os.close(fd)
    out.write(text.feed(data, final=not follow).encode("utf-8", "backslashreplace"))
    out.flush()
    while follow:
        running = load_run(root, task, run_id)["status"] == RUNNING
        # Opened again each time: a log may appear late; a swapped one is caught here.
        fd = _open_log(root, task, run_id, name)
        chunk = b""
        if fd is not None:
            try:
                chunk, offset = _read_from(fd, offset)
            finally:
                os.close(fd)
        if chunk:
            out.write(text.feed(chunk).encode("utf-8", "backslashreplace"))
            out.flush()
        elif not running:
            out.write(text.feed(b"", final=True).encode("utf-8", "backslashreplace"))
            out.flush()
            print(_closing_line(root, task, run_id), file=sys.stderr)
            break
        else:
            time.sleep(0.2)
    return ExitCode.OK
