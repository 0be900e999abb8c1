"""A full build's tasks spread over forked worker processes, which die with the build.

Forked, the workers share the parent's state as it was (its Site, theme and
cache), so a task is named and its result sent back, nothing else. The
parent's SIGTERM handler only sets a flag: workers take the default action
back, so terminate() stops them, and the kernel kills them should the build
die (SIGKILL, the OOM killer), so that none goes on writing into OUT unseen
while the next build runs.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Callable, Iterator

MAX_WORKERS = 8
WORKER_GC_THRESHOLD = 5000  # a worker's young collections (_worker_init)
_STOP_POLL = 0.2  # how often the parent looks for a stop while the workers build
_PR_SET_PDEATHSIG = 1

Progress = Callable[[int, int], None]  # (pages done, pages in all) of a full build

_build: Callable[[str], object] | None = None  # what a worker does with a task
_parent = 0  # the pid of the build that forks the workers


def in_workers(
    tasks: list[str], build: Callable[[str], object], check_stop: Callable[[], None]
) -> Iterator[tuple[str, object]]:
    """(task, build(task)) for each task, built in forked workers, as each one ends.

    `check_stop()` is called as each result comes in, and while waiting for
    one; whatever it raises ends the build, and the workers with it.
    """
    import multiprocessing  # a full build's only: 4 ms of every update after one run

    global _build, _parent
    _build, _parent = build, os.getpid()
    # What exists now (the Site, its templates) lives as long as the build: the cyclic
    # collector need not scan it again for every few thousand objects the pages make,
    # and the workers' copies of it stay shared with the parent's.
    ours = gc.get_freeze_count() == 0  # else the caller froze some itself: left frozen
    gc.freeze()
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(min(os.cpu_count() or 1, MAX_WORKERS), initializer=_worker_init)
    try:
        results = pool.imap_unordered(_run, tasks)
        for _ in tasks:
            while True:  # a stop is seen within _STOP_POLL, not when a (long) task ends
                check_stop()
                try:
                    task, result = results.next(_STOP_POLL)
                    break
                except multiprocessing.TimeoutError:
                    continue
            check_stop()
            yield task, result
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _build = None
        # What was frozen for the build is the caller's again: a process that goes on
        # (--watch, a script calling main()) would otherwise never free a cycle among it.
        if ours:
            gc.unfreeze()


def _run(task: str) -> tuple[str, object]:
    """One task, in a worker process."""
    assert _build is not None
    return task, _build(task)


def _worker_init() -> None:
    # The parent's SIGTERM handler only sets a flag; a worker must die on terminate().
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker makes thousands of pages' short-lived objects and then ends: at Python's
    # default (a young collection every 700 net allocations) the cyclic collector took
    # about 3% of a full build's CPU, scanning objects that die a moment later anyway.
    # The peak RSS stays the same (collections are fewer, not gone).
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])
    _die_with_parent()


def _die_with_parent() -> None:
    """Have the kernel kill this worker if the build dies (Linux's PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            return
    except (OSError, AttributeError):
        return  # not Linux: an orphaned worker stops after its task (its pipe is closed)
    if os.getppid() != _parent:
        os._exit(1)  # the build died before the request took effect


class Counter:
    """Reports progress every so often during a full build."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.done = 0
        self.total = total

    def tick(self, n: int = 1) -> None:
        """Count n more pages."""
        before = self.done
        self.done += n
        if self.done // 200 != before // 200 or self.done == self.total:
            self.progress(self.done, self.total)
