"""The feedback file: `[key]value` lines a job writes to report progress (DESIGN section 4).

Compatible with taskwatcher's format. The last value of a key wins; `[key]`
alone removes it; `[]` clears every key so far; anything else is ignored.
The reader is incremental: each poll parses only what was appended.
"""

from __future__ import annotations

import os

MAX_VALUE = 4096  # longer values are cut: the manifest is rewritten every second
MAX_KEYS = 200
MAX_LINE = 64 * 1024  # a longer line is junk: skipped without being held in memory
_CHUNK = 1024 * 1024

_KEY_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_KEY_REST = _KEY_START | frozenset("0123456789-")


def _is_key(key: str) -> bool:
    return bool(key) and key[0] in _KEY_START and all(c in _KEY_REST for c in key)


def apply_line(values: dict[str, str], line: str) -> None:
    """Apply one line (without its newline) to `values`, in place."""
    if not line.startswith("["):
        return  # comments, blank lines and anything else
    close = line.find("]")
    if close < 0:
        return
    key = line[1:close]
    value = line[close + 1 :].rstrip("\r")
    if not key:
        values.clear()
    elif not _is_key(key):
        return
    elif not value:
        values.pop(key, None)
    elif key in values or len(values) < MAX_KEYS:
        values[key] = value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "\u2026"


def parse_text(text: str) -> dict[str, str]:
    """All the values a whole feedback text leaves (a partial last line included)."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        apply_line(values, line)
    return values


def parse_bytes(data: bytes) -> dict[str, str]:
    """parse_text() for raw bytes: invalid UTF-8 is replaced, never fatal."""
    return parse_text(data.decode("utf-8", "replace"))


class FeedbackReader:
    """Follows one feedback file: new complete lines are parsed as they are appended.

    Starts over when the file shrinks or is replaced; a partial last line
    waits until its newline arrives.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, str] = {}
        self.mtime_ns: int | None = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0
        self._pending = b""
        self._skipping = False

    def poll(self) -> bool:
        """Read what was appended; True if the file was written since the last poll."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False  # not written yet, or removed: keep the last values
        try:
            st = os.fstat(fd)
            written = st.st_mtime_ns != self.mtime_ns or (st.st_dev, st.st_ino) != self._identity
            if (st.st_dev, st.st_ino) != self._identity or st.st_size < self._offset:
                self._restart((st.st_dev, st.st_ino))
            if st.st_size > self._offset:
                os.lseek(fd, self._offset, os.SEEK_SET)
                while True:
                    chunk = os.read(fd, _CHUNK)
                    if not chunk:
                        break
                    self._offset += len(chunk)
                    self._feed(chunk)
            self.mtime_ns = st.st_mtime_ns
            return written
        finally:
            os.close(fd)

    def _restart(self, identity: tuple[int, int]) -> None:
        self._identity = identity
        self._offset = 0
        self._pending = b""
        self._skipping = False
        self.values = {}

    def _feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        for raw in lines:
            if self._skipping:
                self._skipping = False  # the end of an overlong line
                continue
            if len(raw) <= MAX_LINE:
                apply_line(self.values, raw.decode("utf-8", "replace"))
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            self._skipping = True
