"""The files a job wrote: read and published without ever leaving its run directory.

Every path is walked one component at a time with O_NOFOLLOW, so a symlink
planted in a run directory (say to /etc/shadow) is never followed. Files are
published into OUT as hard links (no copying of gigabytes; the inode checked
is the inode published), or copied where OUT is on another filesystem.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat

log = logging.getLogger(__name__)

TAIL_BYTES = 64 * 1024
REPORT_MAX = 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def safe_rel(name: object) -> str | None:
    """`name` if it is a relative path of plain components, else None."""
    if not isinstance(name, str) or not name or "\0" in name or len(name) > 4096:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return name


def clean_text(raw: bytes) -> str:
    """Bytes from a job as displayable text: UTF-8 (lossy), no terminal escapes or controls."""
    text = raw.decode("utf-8", "replace")
    return _CONTROL.sub("", _ANSI.sub("", text))


class RunFiles:
    """One run directory, opened once; every file in it is reached without following a symlink."""

    def __init__(self, path: str, mode: str = "link") -> None:
        self.path = path
        self.mode = mode
        try:
            self.dfd: int | None = os.open(path, _FLAGS | os.O_DIRECTORY)
        except OSError:
            self.dfd = None

    def __enter__(self) -> RunFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.dfd is not None:
            os.close(self.dfd)
            self.dfd = None

    def _open(self, rel: str) -> tuple[int, int, str] | None:
        """(parent dir fd, file fd, last name) of a regular file; the caller closes both."""
        if self.dfd is None or safe_rel(rel) is None:
            return None
        parts = rel.split("/")
        dfd = os.dup(self.dfd)
        try:
            for part in parts[:-1]:
                nfd = os.open(part, _FLAGS | os.O_DIRECTORY, dir_fd=dfd)
                os.close(dfd)
                dfd = nfd
            # O_NONBLOCK: a FIFO planted by the job must not hang the build.
            fd = os.open(parts[-1], _FLAGS | os.O_NONBLOCK, dir_fd=dfd)
        except OSError:
            os.close(dfd)
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            os.close(dfd)
            return None
        return dfd, fd, parts[-1]

    def size(self, rel: str) -> int | None:
        """Size of a regular file in the run (no symlinks), or None."""
        opened = self._open(rel)
        if opened is None:
            return None
        dfd, fd, _ = opened
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)
            os.close(dfd)

    def read_small(self, rel: str, limit: int = REPORT_MAX) -> str | None:
        """The text of a small file (report.md); None if missing, unsafe or too large."""
        opened = self._open(rel)
        if opened is None:
            return None
        dfd, fd, _ = opened
        try:
            if os.fstat(fd).st_size > limit:
                return None
            return clean_text(os.read(fd, limit))
        except OSError:
            return None
        finally:
            os.close(fd)
            os.close(dfd)

    def tail_and_publish(
        self, rel: str, dest: str | None, limit: int = TAIL_BYTES
    ) -> tuple[str, int, bool, bool] | None:
        """(text, size, truncated, published): a log's last `limit` bytes, linked into OUT."""
        opened = self._open(rel)
        if opened is None:
            return None
        dfd, fd, name = opened
        try:
            st = os.fstat(fd)
            start = max(0, st.st_size - limit)
            raw = os.pread(fd, limit, start)
            published = dest is not None and self._publish(dfd, fd, name, st, dest)
        except OSError:
            return None
        finally:
            os.close(fd)
            os.close(dfd)
        if start:
            # Start at a line boundary rather than in the middle of a character.
            cut = raw.find(b"\n")
            raw = raw[cut + 1 :] if 0 <= cut < 4096 else raw
        return clean_text(raw), st.st_size, start > 0, published

    def publish(self, rel: str, dest: str) -> bool:
        """Make `dest` hold file `rel`: a hard link, else a copy; False if unsafe."""
        opened = self._open(rel)
        if opened is None:
            return False
        dfd, fd, name = opened
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            return self._publish(dfd, fd, name, os.fstat(fd), dest)
        except OSError as e:
            log.warning("cannot publish %s/%s: %s", self.path, rel, e.strerror)
            return False
        finally:
            os.close(fd)
            os.close(dfd)

    def _publish(self, dfd: int, fd: int, name: str, src: os.stat_result, dest: str) -> bool:
        try:
            have = os.lstat(dest)
        except FileNotFoundError:
            have = None
        if have is not None:
            if have.st_ino == src.st_ino and have.st_dev == src.st_dev:
                return True
            if self.mode == "copy" and _same_copy(have, src):
                return True
        if self.mode == "link" and _link(dfd, name, dest, src, replace=have is not None):
            return True
        _copy(fd, dest)
        return True


def _same_copy(have: os.stat_result, src: os.stat_result) -> bool:
    return (
        stat.S_ISREG(have.st_mode)
        and have.st_size == src.st_size
        and (have.st_mtime_ns == src.st_mtime_ns)
    )


def _link(dfd: int, name: str, dest: str, src: os.stat_result, replace: bool) -> bool:
    target = f"{dest}.{os.getpid()}.lnk" if replace else dest
    if replace:
        unlink(target)  # left behind by a build that crashed right here
    try:
        # follow_symlinks=False links the name itself; the check below makes
        # sure it is still the regular file we opened (no swap in between).
        os.link(name, target, src_dir_fd=dfd, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            return False
        raise
    st = os.lstat(target)
    if not stat.S_ISREG(st.st_mode) or st.st_ino != src.st_ino:
        os.unlink(target)
        return False
    if replace:
        os.replace(target, dest)
    return True


def unlink(path: str) -> None:
    """Remove a file that may already be gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _copy(fd: int, dest: str) -> None:
    tmp = f"{dest}.{os.getpid()}.tmp"
    os.lseek(fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(fd), "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1024 * 1024)
    st = os.fstat(fd)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, dest)


def is_real_dir(path: str) -> bool:
    """A directory that is not a symlink."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
