"""The feedback file: `[key]value` lines a job writes to report progress (DESIGN section 4).

Compatible with taskwatcher's format. The last value of a key wins; `[key]`
alone removes it; `[]` clears every key so far; anything else is ignored.
The reader is incremental: each poll parses only what was appended.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_VALUE = 4096  # longer values are cut: the manifest is rewritten every second
MAX_KEYS = 200
MAX_LINE = 64 * 1024  # a longer line is junk: skipped without being held in memory
_CHUNK = 1024 * 1024


def _is_key(key: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_-]*, checked with C-level string methods (this runs per line)."""
    return key.isascii() and key[0] != "-" and key.replace("-", "_").isidentifier()


def apply_lines(values: dict[str, str], lines: list[str]) -> None:
    """Apply lines (without their newlines) to `values`, in place.

    Read from the last line back: the last value of a key wins, so each key
    is decided once, and a `[]` ends the work (nothing before it counts).
    A job that appends thousands of lines a minute costs little to follow.
    """
    decided: dict[str, str] = {}
    cleared = False
    for line in reversed(lines):
        if not line.startswith("[") or len(line) > MAX_LINE:
            continue  # comments, blank lines, junk and overlong lines
        close = line.find("]")
        if close < 0:
            continue
        key = line[1:close]
        if key in decided:
            continue
        if not key:
            cleared = True
            break
        if _is_key(key):
            decided[key] = line[close + 1 :].rstrip("\r")
    if cleared:
        values.clear()
    for key, value in reversed(decided.items()):
        if not value:
            values.pop(key, None)
        elif key in values or len(values) < MAX_KEYS:
            values[key] = value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "\u2026"


def parse_text(text: str) -> dict[str, str]:
    """All the values a whole feedback text leaves (a partial last line included)."""
    values: dict[str, str] = {}
    apply_lines(values, text.split("\n"))
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
        self._signature: tuple[int, ...] | None = None
        self._offset = 0
        self._pending = b""
        self._skipping = False

    def poll(self) -> bool:
        """Read what was appended; True if the file was written since the last poll."""
        try:
            # A job-made symlink is never followed, a FIFO never blocks us.
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return False  # not written yet, removed, or a link: keep the last values
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return False
            # Written: anything a write changes, compared with the last poll (never
            # the mtime with the wall clock's now, which steps).
            signature = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_dev, st.st_ino)
            written = signature != self._signature
            self._signature = signature
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
        end = data.rfind(b"\n")
        if end < 0:
            self._pending = data
        else:
            self._pending = data[end + 1 :]
            lines = data[:end].decode("utf-8", "replace").split("\n")
            if self._skipping:
                lines = lines[1:]  # the end of an overlong line
                self._skipping = False
            apply_lines(self.values, lines)
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            self._skipping = True


def _taskwatcher_lines(text: str) -> list[str]:
    """Lines as taskwatcher sees them: indentation and spaces around keys and values gone."""
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        close = line.find("]")
        if line.startswith("[") and close > 0:
            line = f"[{line[1:close].strip()}]{line[close + 1 :].strip()}"
        lines.append(line)
    return lines


# A raw line this long is junk (it holds more than MAX_LINE after any sane
# indentation): skipped as it streams by, never held.
_RAW_LINE = MAX_LINE + 4096


def read_like_taskwatcher(read: Callable[[int], bytes]) -> dict[str, str]:
    """A feedback file read as taskwatcher's parse reads it, for `runwrap parse`.

    Indentation and spaces around keys and values are ignored (taskwatcher
    strips each line); everything else is the format above. The file is
    streamed, in chunks from `read(size)`, in bounded memory: a line longer
    than MAX_LINE (and its indentation) is skipped without being held, as
    the run's own reader does (a 1 GB line cost 4 GB read whole).
    """
    values: dict[str, str] = {}
    pending = b""
    skipping = False  # inside an overlong line: drop up to its newline
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        data = pending + chunk
        end = data.rfind(b"\n")
        if end < 0:
            pending = data
        else:
            pending = data[end + 1 :]
            lines = _taskwatcher_lines(data[:end].decode("utf-8", "replace"))
            if skipping:
                lines = lines[1:]
                skipping = False
            apply_lines(values, lines)
        if len(pending) > _RAW_LINE:
            pending = b""
            skipping = True
    if not skipping:  # the last line, without its newline
        apply_lines(values, _taskwatcher_lines(pending.decode("utf-8", "replace")))
    return values
