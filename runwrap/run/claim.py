"""The overlap guard where the storage's locks never leave the client: a claim file.

`tasks/<task>/lock.claim` names the run that holds the task. It appears
whole or not at all (written under a name of its own, then link()ed into
place: link() fails on a name that exists, on NFS too, where O_EXCL was
not always kept), and it is held by the run's lease: its holder renews its
mtime every third of the lease, and once it is older than the lease plus
its grace (store/owner.py) anyone may break it. Judged by the lease only,
on every host: a runwrap killed on this host leaves its watcher stopping
the job, which releases the claim when it is done (watcher.py).

Breaking a claim moves it aside under the breaker's own name, then checks
that what moved is the claim judged stale: a claim made meanwhile by
someone else is put back. Releasing does the same, so a holder whose claim
was broken never removes its successor's.
"""

from __future__ import annotations

import os
import time

from runwrap.run.lock import TaskLock
from runwrap.store.hosts import lease_lapsed
from runwrap.store.jsonio import dumps, read_json
from runwrap.store.owner import DEFAULT_LEASE_S, owner_identity, taker_token

CLAIM_SUFFIX = ".claim"


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class ClaimLock(TaskLock):
    """The claim file of the task whose lock file is `path`, held until release()."""

    def __init__(self, path: str, lease: float | None) -> None:
        self.path = path + CLAIM_SUFFIX
        self.kind = "claim"
        self.fd = -1  # nothing open: the claim is a name
        self.lease = lease or DEFAULT_LEASE_S
        self.held: tuple[int, int] | None = None
        self.unguarded = False  # the claim could not be written (full or read-only ROOT)
        self._renewed = 0.0

    def try_acquire(self) -> bool:
        for _ in range(3):
            if self._create():
                return True
            if not self._break_stale():
                return False
        return False

    def _create(self) -> bool:
        """Make the claim ours if nobody holds it; True when it is (or cannot be written)."""
        data = dumps({"owner": owner_identity(lease=self.lease)}).encode()
        spare = f"{self.path}.{os.getpid()}.{os.urandom(4).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(spare, flags, 0o644)
        except OSError:
            self.unguarded = True  # as a lock file that cannot be made: the job still runs
            return True
        try:
            os.write(fd, data)
            mine = os.fstat(fd)
        except OSError:
            os.close(fd)
            os.unlink(spare)
            self.unguarded = True
            return True
        os.close(fd)
        try:
            os.link(spare, self.path)
            made = True
        except FileExistsError:
            made = False
        except OSError:
            # NFS may report a link that was made as failed (a retransmission):
            # the spare's link count says what happened.
            try:
                made = os.lstat(spare).st_nlink == 2
            except OSError:
                made = False
        try:
            os.unlink(spare)
        except OSError:
            pass
        if made:
            self.held = _identity(mine)
            self._renewed = time.monotonic()
        return made

    def _break_stale(self) -> bool:
        """Remove the claim if its lease lapsed; True if there may be room now."""
        try:
            before = os.lstat(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        value = read_json(self.path)
        owner = value.get("owner") if isinstance(value, dict) else None
        if not isinstance(owner, dict) or "lease" not in owner:
            owner = {"lease": DEFAULT_LEASE_S}  # not a claim runwrap wrote: the default lease
        directory = os.path.dirname(self.path)
        if not lease_lapsed(owner, before.st_mtime, directory):
            return False
        return self._move_aside(_identity(before))

    def _move_aside(self, expected: tuple[int, int]) -> bool:
        """Remove the claim if it is still `expected`; put back one made meanwhile."""
        aside = f"{self.path}~{taker_token()}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return True  # someone else removed it first
        except OSError:
            return False
        try:
            moved = _identity(os.lstat(aside))
        except OSError:
            return False
        if moved != expected:
            try:
                os.link(aside, self.path)  # its holder's again; unless another came meanwhile
            except OSError:
                pass
        try:
            os.unlink(aside)
        except OSError:
            pass
        return moved == expected

    def keep(self) -> None:
        """Renew the claim's lease (one utime a third of the lease), while it is ours."""
        now = time.monotonic()
        if self.held is None or now - self._renewed < self.lease / 3:
            return
        self._renewed = now
        try:
            if _identity(os.lstat(self.path)) == self.held:
                os.utime(self.path)
        except OSError:
            pass

    def release(self) -> None:
        if self.held is None:
            return
        try:
            ours = _identity(os.lstat(self.path)) == self.held
        except OSError:
            ours = False
        if ours:  # else broken meanwhile (our lease lapsed): the claim there is another's
            self._move_aside(self.held)
        self.held = None
