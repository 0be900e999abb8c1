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


def open_in(base: str, rel: str) -> int | None:
    """A read fd for regular file `rel` under `base`, following no symlink; None otherwise."""
    if safe_rel(rel) is None:
        return None
    parts = rel.split("/")
    try:
        dfd = os.open(base, _FLAGS | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            nfd = os.open(part, _FLAGS | os.O_DIRECTORY, dir_fd=dfd)
            os.close(dfd)
            dfd = nfd
        # O_NONBLOCK: a FIFO planted by the job must not hang the build.
        fd = os.open(parts[-1], _FLAGS | os.O_NONBLOCK, dir_fd=dfd)
    except OSError:
        return None
    finally:
        os.close(dfd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def file_size(base: str, rel: str) -> int | None:
    """Size of a regular file under `base` (no symlinks), or None."""
    fd = open_in(base, rel)
    if fd is None:
        return None
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def clean_text(raw: bytes) -> str:
    """Bytes from a job as displayable text: UTF-8 (lossy), no terminal escapes or controls."""
    text = raw.decode("utf-8", "replace")
    return _CONTROL.sub("", _ANSI.sub("", text))


def read_tail(base: str, rel: str, limit: int = TAIL_BYTES) -> tuple[str, int, bool] | None:
    """(text, full size, truncated) of the last `limit` bytes of a file, or None."""
    fd = open_in(base, rel)
    if fd is None:
        return None
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        raw = os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)
    if start:
        # Start at a line boundary rather than in the middle of a character.
        cut = raw.find(b"\n")
        raw = raw[cut + 1 :] if 0 <= cut < 4096 else raw
    return clean_text(raw), size, start > 0


def read_small(base: str, rel: str, limit: int = REPORT_MAX) -> str | None:
    """The text of a small file (report.md); None if missing, unsafe or too large."""
    fd = open_in(base, rel)
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size > limit:
            return None
        return clean_text(os.read(fd, limit))
    except OSError:
        return None
    finally:
        os.close(fd)


def publish(base: str, rel: str, dest: str, mode: str = "link") -> bool:
    """Make `dest` hold file `rel` of `base`: a hard link, else a copy; False if unsafe."""
    fd = open_in(base, rel)
    if fd is None:
        return False
    try:
        src = os.fstat(fd)
        try:
            have = os.lstat(dest)
        except FileNotFoundError:
            have = None
        if have is not None and have.st_ino == src.st_ino and have.st_dev == src.st_dev:
            return True
        if have is not None and mode == "copy" and _same_copy(have, src):
            return True
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if mode == "link" and _link(base, rel, dest, src):
            return True
        _copy(fd, dest)
        return True
    except OSError as e:
        log.warning("cannot publish %s/%s: %s", base, rel, e.strerror)
        return False
    finally:
        os.close(fd)


def _same_copy(have: os.stat_result, src: os.stat_result) -> bool:
    return (
        stat.S_ISREG(have.st_mode)
        and have.st_size == src.st_size
        and (have.st_mtime_ns == src.st_mtime_ns)
    )


def _link(base: str, rel: str, dest: str, src: os.stat_result) -> bool:
    tmp = f"{dest}.{os.getpid()}.lnk"
    try:
        # follow_symlinks=False links the name itself; the check below makes
        # sure it is still the regular file we opened (no swap in between).
        os.link(os.path.join(base, rel), tmp, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            return False
        raise
    st = os.lstat(tmp)
    if not stat.S_ISREG(st.st_mode) or st.st_ino != src.st_ino:
        os.unlink(tmp)
        return False
    os.replace(tmp, dest)
    return True


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
