"""--max-output: a log keeps its start and its last MiB, whatever the job writes.

The job writes straight into the file, so it is never blocked or slowed.
While it runs, the middle of an oversized log is released with
fallocate(PUNCH_HOLE) (the file stays the same length but stops using disk);
when it ends, the file is compacted to head + marker line + tail.
"""

import os

TAIL = 1024 * 1024
_BLOCK = 4096
_PUNCH_HOLE_KEEP_SIZE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE

_fallocate = None


def _split(limit: int) -> tuple[int, int]:
    """(head, tail) byte counts kept for a limit."""
    tail = min(TAIL, limit // 2)
    return limit - tail, tail


def _punch(fd: int, offset: int, length: int) -> bool:
    global _fallocate
    if _fallocate is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.fallocate
        func.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
        _fallocate = func
    return _fallocate(fd, _PUNCH_HOLE_KEEP_SIZE, offset, length) == 0


class CappedLog:
    """One log file under a size limit (None: no limit)."""

    def __init__(self, path: str, limit: int | None) -> None:
        self.path = path
        self.limit = limit
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        self._punched_to = 0

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def check(self) -> None:
        """While the job runs: free the disk space of the part that will be dropped."""
        if self.limit is None:
            return
        size = self.size()
        head, tail = _split(self.limit)
        start = max(self._punched_to, -(-head // _BLOCK) * _BLOCK)
        end = (size - tail) // _BLOCK * _BLOCK
        if end - start >= 16 * _BLOCK:
            try:
                if _punch(self.fd, start, end - start):
                    self._punched_to = end
            except (OSError, AttributeError):
                pass  # no fallocate here: the compaction at the end still applies

    def finish(self) -> tuple[int, int]:
        """Compact an oversized log; return (final size, bytes dropped).

        Works on the file runwrap opened, through its descriptor: the job may
        have replaced the path with a symlink, which must never be followed.
        """
        size = self.size()
        if self.limit is None or size <= self.limit:
            os.close(self.fd)
            self.fd = -1
            return size, 0
        # The same open file, readable and without O_APPEND (pwrite must land where asked).
        fd = os.open(f"/proc/self/fd/{self.fd}", os.O_RDWR | os.O_CLOEXEC)
        os.close(self.fd)
        self.fd = -1
        try:
            size = os.fstat(fd).st_size
            from runwrap.units import count  # only past --max-output: not on start-up

            head, tail = _split(self.limit)
            dropped = size - head - tail
            last = os.pread(fd, tail, size - tail)
            marker = (
                f"\n[runwrap: {count(dropped, 'byte')} of output dropped here"
                f" (--max-output {self.limit})]\n"
            ).encode()
            os.pwrite(fd, marker + last, head)
            end = head + len(marker) + len(last)
            os.ftruncate(fd, end)
            return end, dropped
        finally:
            os.close(fd)
