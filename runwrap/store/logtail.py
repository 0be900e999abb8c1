"""A log's last bytes: read in one pread of just their size, and shared between readers.

A failed run's stderr is read by its page, by what changed (runwrap/store/whatchanged.py)
and by the search index (runwrap/store/findtext.py), each wanting its own number of last
bytes. One read of the most any of them wants serves all three (`Tail.last`), and a
failing streak compares each run with the same last success: `Tails` keeps the last log
it read, so that success is read once.
"""

from __future__ import annotations

import os
from typing import NamedTuple

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Tail(NamedTuple):
    size: int  # the log's size when it was read
    start: int  # where `data` begins in it
    data: bytes

    def last(self, limit: int) -> Tail | None:
        """What a read of the last `limit` bytes would have given; None when that is more
        than was read."""
        start = max(0, self.size - limit)
        if start < self.start:
            return None
        if start == self.start and len(self.data) <= limit:
            return self
        return Tail(self.size, start, self.data[start - self.start :][:limit])


def read_fd(fd: int, limit: int) -> Tail:
    """The last `limit` bytes of the open file `fd` (OSError if it cannot be read)."""
    size = os.fstat(fd).st_size
    start = max(0, size - limit)
    # Just the bytes there are: a buffer of `limit` (256 KiB) for a log of a few lines
    # is allocated and freed by mmap, a page fault a page, each time.
    return Tail(size, start, os.pread(fd, min(limit, size - start), start))


def read_path(path: str, limit: int) -> Tail | None:
    """The last `limit` bytes of the log at `path` (never following a link in its last
    name, never blocking on a FIFO); None when it cannot be read."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return None
    try:
        return read_fd(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def last_of(tail: Tail | None, path: str, limit: int) -> Tail | None:
    """`tail`'s last `limit` bytes if it holds them, else the log at `path` read now."""
    found = tail.last(limit) if tail is not None else None
    return found if found is not None else read_path(path, limit)


class Tails:
    """Logs read in one build; the last one is kept, for the next run that asks for it."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._tail: Tail | None = None

    def put(self, path: str, tail: Tail) -> None:
        """Keep `tail`, the log at `path` as read already."""
        self._path, self._tail = path, tail

    def get(self, path: str, limit: int) -> Tail | None:
        if path != self._path or self._tail is None or self._tail.last(limit) is None:
            self._path, self._tail = path, read_path(path, limit)
        return self._tail.last(limit) if self._tail is not None else None
