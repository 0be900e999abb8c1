"""A task cache's log (OUT/.sitegen/tasks/<task>.log): what changed since its base, appended.

An update after one run changes one run's record and a page digest or two;
writing the task's whole cache again (every run, packed) made each update
linear in the task's history. Instead the update appends a chunk holding
what it changed, and the base (tasks/<task>.pack) is written again only now
and then (compacted: cache.py says when), or whenever a task is built whole.

Each chunk is a header and its payload (marshal's dump of plain data):

    b"SGCK", the Python version (two bytes: whose marshal wrote it), the payload's
    length (four bytes, big-endian), SHA-1 of (the base's token, the task, the payload)

The digest binds a chunk to its base and its task: a chunk cut short (sitegen
killed mid-append), changed, appended to another task's log or left from
before a compaction does not read back, and the caller rebuilds the task
rather than trust what it holds. The digest is a seal against damage, not a
secret (as packed.py's): what a chunk holds is still checked, record by
record, by the caller.
"""

from __future__ import annotations

import errno
import hashlib
import marshal
import os
import stat
import struct
import sys

from runwrap.store.jsonio import Unreadable

MAGIC = b"SGCK"
_HEAD = struct.Struct(">4sBBI20s")
_PYTHON = sys.version_info[:2]


def _digest(token: str, task: str, payload: bytes) -> bytes:
    h = hashlib.sha1(token.encode("ascii", "replace"))
    h.update(b"\0" + task.encode("utf-8", "surrogateescape") + b"\0")
    h.update(payload)
    return h.digest()


def encode(token: str, task: str, value: object) -> bytes:
    """One chunk's bytes: `value` (plain data), sealed for the base `token` of `task`."""
    payload = marshal.dumps(value)
    head = _HEAD.pack(MAGIC, *_PYTHON, len(payload), _digest(token, task, payload))
    return head + payload


def decode(raw: bytes, token: str, task: str) -> list[object]:
    """Every chunk's value in `raw` (a whole log), oldest first; Unreadable for a log that
    is not, to its last byte, chunks sealed for this base and task."""
    values = []
    at, end = 0, len(raw)
    while at < end:
        if end - at < _HEAD.size:
            raise Unreadable("a chunk is cut off")
        magic, major, minor, size, digest = _HEAD.unpack_from(raw, at)
        if magic != MAGIC:
            raise Unreadable("not a chunk sitegen wrote")
        if (major, minor) != _PYTHON:
            raise Unreadable("written by another Python")
        at += _HEAD.size
        if size > end - at:
            raise Unreadable("a chunk is cut off")
        payload = raw[at : at + size]
        if _digest(token, task, payload) != digest:
            raise Unreadable("a chunk's digest does not match (changed, or not this task's)")
        try:
            values.append(marshal.loads(payload))
        except (ValueError, EOFError, TypeError):
            raise Unreadable("a chunk is not what sitegen packed") from None
        at += size
    return values


def append(path: str, chunk: bytes) -> None:
    """Add a chunk at the end of the log at `path` (made if missing). One write of the
    whole chunk: a sitegen killed part-way leaves a chunk that does not read back.
    OSError for anything but a regular file there: a FIFO is not waited on for a reader."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    fd = os.open(path, flags, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
