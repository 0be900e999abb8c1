"""The files under ROOT: read and published without ever leaving ROOT.

Every path below ROOT is walked one component at a time with O_NOFOLLOW, so a
symlink planted in a run directory (say to /etc/shadow), or in place of a
task's runs/ directory, is never followed. Every file is opened O_NONBLOCK (a
FIFO must not hang a build) and used only if fstat says it is a regular file.
Files are published into OUT as hard links (no copying of gigabytes; the
inode checked is the inode published), or copied where OUT is on another
filesystem or the job's file is not readable by everyone (a job under
`umask 077` writes its logs 0600: a link would be refused to the web server).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat

from runwrap.store import logtail
from runwrap.store.jsonio import Unreadable, read_json_at
from runwrap.store.layout import MANIFEST, NOTIFICATIONS, RUNS, runs_dir
from runwrap.store.lookup import open_below
from runwrap.store.manifest import judge_run, manifest_problem
from sitegen import logs
from sitegen.publish.names import shown
from sitegen.publish.scratch import Scratch, unlink
from sitegen.read.sigs import sig_at

log = logs.getLogger(__name__)

TAIL_BYTES = 64 * 1024
REPORT_MAX = 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = _FLAGS | os.O_DIRECTORY


def safe_rel(name: object) -> str | None:
    """`name` if it is a relative path of plain components that can name a file, else None."""
    if not isinstance(name, str) or not name or "\0" in name or len(name) > 4096:
        return None
    try:
        os.fsencode(name)  # a lone surrogate no file name can hold (JSON allows any)
    except UnicodeEncodeError:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return name


def clean_text(raw: bytes) -> str:
    """Bytes from a job as displayable text: UTF-8 (lossy), no terminal escapes or controls."""
    text = raw.decode("utf-8", "replace")
    return _CONTROL.sub("", _ANSI.sub("", text))


class RunsDir:
    """A task's runs/ directory, reached from ROOT without following any symlink below ROOT."""

    def __init__(self, root: str, task: str) -> None:
        self.path = runs_dir(root, task)
        try:  # the store's walk: no link followed from ROOT/tasks down
            self.fd: int | None = open_below(root, (task, RUNS))
        except (OSError, Unreadable):
            self.fd = None

    def __enter__(self) -> RunsDir:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def run(self, run_id: str, mode: str = "link", scratch: Scratch | None = None) -> RunFiles:
        """One run's directory, opened without following a symlink."""
        dfd = None
        if self.fd is not None:
            try:
                dfd = os.open(run_id, _DIR, dir_fd=self.fd)
            except (OSError, UnicodeEncodeError):
                dfd = None
        return RunFiles(dfd, os.path.join(self.path, run_id), mode, scratch)

    def sig(self, run_id: str) -> list[int] | None:
        """What says a run changed: its manifest's mtime, size, inode and type, the sizes of
        its logs and of its notifications.json."""
        with self.run(run_id) as rf:
            return rf.sig()

    def manifest(self, run_id: str) -> dict | None:
        """A run's manifest, or None when it is missing or unreadable (no warning: see load)."""
        with self.run(run_id) as rf:
            try:
                return rf.manifest()
            except Unreadable:
                return None


class RunFiles:
    """One run directory, opened once; every file in it is reached without following a symlink."""

    def __init__(
        self, dfd: int | None, path: str, mode: str = "link", scratch: Scratch | None = None
    ) -> None:
        self.dfd = dfd
        self.path = path
        self.mode = mode
        self.scratch = scratch
        self.tails: dict[str, logtail.Tail] = {}  # logs read with tail_and_publish(keep=)

    def __enter__(self) -> RunFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.dfd is not None:
            os.close(self.dfd)
            self.dfd = None

    def sig(self) -> list[int] | None:
        """See stamp.sig_at; None while there is no manifest at all."""
        return None if self.dfd is None else sig_at(self.dfd)

    def manifest(self) -> dict | None:
        """The run's manifest; None if it has none (yet); Unreadable if it cannot be used."""
        if self.dfd is None:
            return None
        value = read_json_at(MANIFEST, self.dfd)
        if value is None:
            return None
        run_id = os.path.basename(self.path)
        problem = manifest_problem(run_id, value)
        if problem is not None:
            raise Unreadable(problem)
        # Judged as every reader judges it (a lost owner, a lease): runs/<run_id> of a task.
        return judge_run(value, os.path.dirname(os.path.dirname(self.path)), run_id)  # type: ignore[arg-type]

    def notifications(self) -> list | None:
        """The delivery attempts runwrap recorded beside the manifest; None if none or unusable."""
        if self.dfd is None:
            return None
        try:
            value = read_json_at(NOTIFICATIONS, self.dfd, limit=REPORT_MAX)
        except Unreadable:
            return None
        return value if type(value) is list else None

    def _open(self, rel: str) -> tuple[int, int, str, os.stat_result] | None:
        """(parent dir fd, file fd, last name, its stat) of a regular file; the caller
        closes both with _close (the parent is the run's own fd for a name in it)."""
        if self.dfd is None or safe_rel(rel) is None:
            return None
        parts = rel.split("/")
        dfd = self.dfd
        try:
            for part in parts[:-1]:
                nfd = os.open(part, _FLAGS | os.O_DIRECTORY, dir_fd=dfd)
                self._close(dfd)
                dfd = nfd
            # O_NONBLOCK: a FIFO planted by the job must not hang the build.
            fd = os.open(parts[-1], _FLAGS | os.O_NONBLOCK, dir_fd=dfd)
        except OSError:
            self._close(dfd)
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            self._close(dfd, fd)
            return None
        return dfd, fd, parts[-1], st

    def _close(self, dfd: int, fd: int | None = None) -> None:
        if fd is not None:
            os.close(fd)
        if dfd != self.dfd:
            os.close(dfd)

    def read_small(self, rel: str, limit: int = REPORT_MAX) -> str | None:
        """The text of a small file (report.md); None if missing, unsafe or too large."""
        opened = self._open(rel)
        if opened is None:
            return None
        dfd, fd, _, st = opened
        try:
            if st.st_size > limit:
                return None
            return clean_text(os.read(fd, limit))
        except OSError:
            return None
        finally:
            self._close(dfd, fd)

    def tail_and_publish(
        self,
        rel: str,
        dest: str | None,
        limit: int = TAIL_BYTES,
        new: bool = False,
        keep: int = 0,
    ) -> tuple[str, int, bool, bool] | None:
        """(text, size, truncated, published): a log's last `limit` bytes, linked into OUT
        (`new`: dest's directory was just made, so nothing is there yet). `keep`: read
        its last `keep` bytes (more than `limit`) and keep them in `self.tails[rel]`, for
        the others that read the log (a failed run's stderr: what changed, the search index)."""
        opened = self._open(rel)
        if opened is None:
            return None
        dfd, fd, name, st = opened
        try:
            # Inline, not logtail.read_fd: every log of every run comes here.
            size = st.st_size
            first = max(0, size - max(limit, keep))
            data = os.pread(fd, size - first, first)  # just the bytes there are
            if keep:
                self.tails[rel] = logtail.Tail(size, first, data)
            start = max(0, size - limit)
            raw = data[start - first :] if start > first else data
            published = dest is not None and self._publish(dfd, fd, name, st, dest, new)
        except OSError:
            return None
        finally:
            self._close(dfd, fd)
        if start:
            # Start at a line boundary rather than in the middle of a character.
            cut = raw.find(b"\n")
            raw = raw[cut + 1 :] if 0 <= cut < 4096 else raw
        return clean_text(raw), size, start > 0, published

    def publish(self, rel: str, dest: str) -> bool:
        """Make `dest` hold file `rel`: a hard link, else a copy; False if unsafe."""
        opened = self._open(rel)
        if opened is None:
            return False
        dfd, fd, name, st = opened
        try:
            return self._publish(dfd, fd, name, st, dest)
        except OSError as e:
            log.warning("cannot publish %s: %s", shown(os.path.join(self.path, rel)), e.strerror)
            return False
        finally:
            self._close(dfd, fd)

    def _publish(
        self, dfd: int, fd: int, name: str, src: os.stat_result, dest: str, new: bool = False
    ) -> bool:
        try:
            have = None if new else os.lstat(dest)
        except FileNotFoundError:
            have = None
        # A link shares the job's file mode: one written under `umask 077` (0600) or 027
        # (0640) would be refused to the web server. Such a file is copied instead, with
        # the mode of sitegen's own pages (docs/deploy.md).
        link = self.mode == "link" and bool(src.st_mode & stat.S_IROTH)
        if have is not None:
            if link and have.st_ino == src.st_ino and have.st_dev == src.st_dev:
                return True
            if not link and have.st_ino != src.st_ino and _same_copy(have, src):
                return True
        if link and self._link(dfd, name, dest, src, replace=have is not None):
            return True
        self._copy(fd, dest)
        return True

    def _link(self, dfd: int, name: str, dest: str, src: os.stat_result, replace: bool) -> bool:
        assert self.scratch is not None, "publishing needs a scratch area"
        # A new name is linked in place; an old one is replaced by renaming a link
        # made beside it over it (never half done).
        target = self.scratch.path(dest) if replace else dest
        try:
            # follow_symlinks=False links the name itself; the check below makes
            # sure it is still the regular file we opened (no swap in between).
            try:
                os.link(name, target, src_dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(target), exist_ok=True)
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
            self.scratch.place(target, dest)
        return True

    def _copy(self, fd: int, dest: str) -> None:
        assert self.scratch is not None, "publishing needs a scratch area"
        out, tmp = self.scratch.create(dest)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            with os.fdopen(os.dup(fd), "rb") as src, os.fdopen(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            st = os.fstat(fd)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            unlink(tmp)
            raise
        self.scratch.place(tmp, dest)


def _same_copy(have: os.stat_result, src: os.stat_result) -> bool:
    return (
        stat.S_ISREG(have.st_mode)
        and have.st_size == src.st_size
        and (have.st_mtime_ns == src.st_mtime_ns)
    )
