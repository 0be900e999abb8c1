"""One execution of a task, start to finish (DESIGN section 2).

guard -> run directory -> manifest (running) -> job -> supervise ->
final manifest -> task state -> notices -> retention -> exit status.
"""

from __future__ import annotations

import os
import pwd
import select
import sys
import time

from runwrap import lock, sig
from runwrap.child import SpawnError, spawn
from runwrap.errors import ExitCode, RunwrapError
from runwrap.manifest import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCESS,
    mark_lost,
    new_manifest,
    read_manifest,
    scan_artifacts,
    write_manifest,
)
from runwrap.monitor import Monitor
from runwrap.outcome import Outcome, from_ending, from_spawn_error, signalled
from runwrap.outputcap import CappedLog
from runwrap.paths import (
    FEEDBACK,
    STDERR,
    STDOUT,
    create_run_dir,
    ensure_task_dirs,
    list_run_ids,
    run_dir,
)
from runwrap.procs import hostname, owner_alive, owner_identity
from runwrap.retention import apply_retention
from runwrap.state import next_seq, read_state, update_state
from runwrap.supervise import supervise
from runwrap.timefmt import iso
from runwrap.units import format_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.options import RunOptions

_RESERVE = ".runwrap-reserve"
_RESERVE_BYTES = 256 * 1024  # room for the final manifest and state when the disk fills up


class RunResult:
    """What the CLI needs from a run: the exit status and the final manifest."""

    __slots__ = ("exit_code", "manifest")

    def __init__(self, exit_code: int, manifest: dict) -> None:
        self.exit_code = exit_code
        self.manifest = manifest


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def finalize_lost_runs(
    root: str, task: str, task_path: str, opts: RunOptions | None = None
) -> list[str]:
    """Record as lost the runs whose runwrap died after the last finished run.

    With `opts`, the task's notifiers hear about them like about any failed run.
    """
    last = read_state(task_path).get("last_run_id") or ""
    lost = []
    for run_id in list_run_ids(root, task):
        if run_id <= last:
            continue
        path = run_dir(root, task, run_id)
        manifest = read_manifest(path)
        if manifest is None or manifest.get("status") != RUNNING:
            continue
        if owner_alive(manifest.get("owner")) is False:
            final = mark_lost(manifest, manifest.get("heartbeat_at") or manifest.get("started_at"))
            write_manifest(path, final)
            _record_in_state(opts, task_path, path, final)
            lost.append(run_id)
    return lost


def _job_argv(command: list[str], run_path: str, feedback: str, cwd: str) -> list[str]:
    argv = [a.replace("{run_dir}", run_path).replace("{feedback}", feedback) for a in command]
    program = argv[0]
    # The job runs in its run directory: a relative program path means the caller's cwd.
    if "/" in program and not os.path.isabs(program):
        argv[0] = os.path.join(cwd, program)
    return argv


def _reserve_space(run_path: str) -> None:
    try:
        fd = os.open(
            os.path.join(run_path, _RESERVE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            os.posix_fallocate(fd, 0, _RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError:
        pass  # best effort: without it a full disk may still stop the final write


def _release_reserve(run_path: str) -> None:
    try:
        os.unlink(os.path.join(run_path, _RESERVE))
    except OSError:
        pass


def _write_final(run_path: str, manifest: dict) -> None:
    """Write the final manifest; on a full disk, give back the reserve and try again."""
    try:
        write_manifest(run_path, manifest)
    except OSError:
        _release_reserve(run_path)
        write_manifest(run_path, manifest)
    _release_reserve(run_path)


def _interruptible_sleep(inbox: sig.SignalInbox, seconds: float) -> int | None:
    """Sleep, unless a signal arrives first; return that signal."""
    deadline = time.monotonic() + seconds
    while True:
        got = inbox.take()
        if got:
            return got[0]
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        select.select([inbox.read_fd], [], [], left)
        inbox.drain()


class _Run:
    """One execution's fixed facts, shared by its steps."""

    __slots__ = ("inbox", "opts", "root", "run_id", "run_path", "seq", "started", "task_path")

    def __init__(self, opts: RunOptions, task_path: str, inbox: sig.SignalInbox) -> None:
        self.opts = opts
        self.root = opts.root
        self.task_path = task_path
        self.inbox = inbox
        self.seq = next_seq(task_path)
        self.started = time.time()  # after any wait for the lock: when the job really starts
        self.run_id, self.run_path = create_run_dir(opts.root, opts.name, self.started)

    def base_manifest(self) -> dict:
        opts = self.opts
        return new_manifest(
            task=opts.name,
            run_id=self.run_id,
            seq=self.seq,
            host=hostname(),
            user=_user(),
            command=list(opts.command),
            started_at=iso(self.started),
            timeout_s=opts.timeout,
            heartbeat_timeout_s=opts.heartbeat_timeout,
            labels=dict(opts.labels),
        )


def execute(opts: RunOptions, environ: dict[str, str] | None = None) -> RunResult:
    """Run the task once under `opts`; never raises for the job's own failures."""
    environ = dict(os.environ if environ is None else environ)
    if opts.notify:
        # A bad notifier definition stops here, before the job runs (exit 125).
        from runwrap.notify import prepare

        prepare(opts, environ)
    task_path = ensure_task_dirs(opts.root, opts.name)
    inbox = sig.SignalInbox().install()
    try:
        guard = lock.acquire(
            os.path.join(task_path, "lock"),
            opts.overlap,
            opts.wait_timeout,
            interrupted=lambda: bool(inbox.received),
        )
        try:
            finalize_lost_runs(opts.root, opts.name, task_path, opts)
            run = _Run(opts, task_path, inbox)
            if guard is None:
                return _record_skipped(run)
            return _run_job(run, environ)
        finally:
            if guard is not None:
                guard.release()
    finally:
        inbox.uninstall()


def _record_skipped(run: _Run) -> RunResult:
    opts = run.opts
    manifest = run.base_manifest()
    interrupted = run.inbox.take()
    manifest.update(status=SKIPPED, ended_at=iso(time.time()), duration_s=0.0)
    if interrupted:
        manifest["reason"] = (
            f"runwrap received {sig.name(interrupted[0])} while waiting for the lock"
        )
    elif opts.overlap == lock.WAIT:
        waited = format_duration(opts.wait_timeout)
        manifest["reason"] = f"still running after waiting {waited} for the lock"
    else:
        manifest["reason"] = "the previous run of this task was still running"
    write_manifest(run.run_path, manifest)
    _after_run(run, manifest)
    code = ExitCode.SIGNAL_BASE + interrupted[0] if interrupted else ExitCode.OK
    return RunResult(code, manifest)


def _run_job(run: _Run, environ: dict[str, str]) -> RunResult:
    opts, run_path = run.opts, run.run_path
    feedback = os.path.join(run_path, FEEDBACK)
    manifest = run.base_manifest()
    manifest["owner"] = owner_identity()
    try:
        # Not fsynced: a crash of runwrap still leaves a whole file (the rename is
        # atomic), and the final record, which is, follows.
        write_manifest(run_path, manifest, durable=False)
    except OSError as e:
        raise RunwrapError(f"cannot write the run's manifest in {run_path}: {e.strerror}") from None
    _reserve_space(run_path)
    if opts.notify:
        from runwrap.notify import run_started

        run_started(opts, run_path, manifest)
    environ.update(
        RUNWRAP_TASK=opts.name,
        RUNWRAP_RUN_ID=run.run_id,
        RUNWRAP_RUN_DIR=run_path,
        RUNWRAP_ROOT=run.root,
        RUNWRAP_FEEDBACK=feedback,
    )
    cwd = os.getcwd()
    argv = _job_argv(opts.command, run_path, feedback, cwd)
    os.chdir(run_path)
    try:
        logs = (
            CappedLog(os.path.join(run_path, STDOUT), opts.max_output),
            CappedLog(os.path.join(run_path, STDERR), opts.max_output),
        )
        monitor = Monitor(opts, run_path, manifest, logs)
        outcome, attempts = _attempts(run, argv, environ, logs, monitor)
        manifest, outcome = _final_manifest(run, monitor, logs, outcome, attempts)
        _write_final(run_path, manifest)
    finally:
        os.chdir(cwd)
    _after_run(run, manifest)
    return RunResult(outcome.exit_status, manifest)


def _attempts(
    run: _Run,
    argv: list[str],
    environ: dict[str, str],
    logs: tuple[CappedLog, CappedLog],
    monitor: Monitor,
) -> tuple[Outcome, list[dict]]:
    """Run the job, and again after a failure while --retries allows; the last outcome."""
    opts = run.opts
    stdout, stderr = logs
    attempts: list[dict] = []
    delay = opts.retry_delay
    while True:
        attempt_start = time.time()
        environ["RUNWRAP_ATTEMPT"] = str(len(attempts) + 1)
        try:
            pid = spawn(argv, environ, stdout.fd, stderr.fd)
        except SpawnError as e:
            outcome = from_spawn_error(e)
            os.write(stderr.fd, f"runwrap: {e.reason}\n".encode("utf-8", "replace"))
        else:
            monitor.started(pid)
            ending = supervise(
                pid,
                run.inbox,
                opts.timeout,
                opts.kill_grace,
                tick=monitor.tick,
                tick_interval=monitor.interval,
            )
            outcome = from_ending(ending)
        attempts.append(outcome.as_attempt(len(attempts) + 1, iso(attempt_start), iso(time.time())))
        if not outcome.retryable or len(attempts) > opts.retries:
            return outcome, attempts
        wait = format_duration(delay)
        note = f"\n[runwrap: attempt {len(attempts)} {outcome.status}; retrying in {wait}]\n"
        os.write(stderr.fd, note.encode())
        received = _interruptible_sleep(run.inbox, delay)
        if received is not None:
            return signalled(received, "between retries"), attempts
        delay *= 2


def _final_manifest(
    run: _Run,
    monitor: Monitor,
    logs: tuple[CappedLog, CappedLog],
    outcome: Outcome,
    attempts: list[dict],
) -> tuple[dict, Outcome]:
    """The run's last record (outcome, logs' sizes, artifacts), and the outcome in force.

    --fail-on-stderr is judged here, once the logs are closed.
    """
    ended = time.time()
    manifest = monitor.final_manifest()
    (stdout_bytes, stdout_dropped), (stderr_bytes, stderr_dropped) = (log.finish() for log in logs)
    if outcome.status == SUCCESS and run.opts.fail_on_stderr and stderr_bytes > 0:
        reason = f"wrote {stderr_bytes} bytes to stderr (--fail-on-stderr)"
        outcome = Outcome(FAILED, 1, outcome.exit_code, None, reason)
    manifest.update(
        status=outcome.status,
        exit_code=outcome.exit_code,
        signal=outcome.signal,
        ended_at=iso(ended),
        duration_s=round(ended - run.started, 3),
        pid=None,
        pgid=None,
        liveness=None,
        stdout_bytes=stdout_bytes,
        stderr_bytes=stderr_bytes,
        output_truncated=(
            {"stdout": stdout_dropped, "stderr": stderr_dropped}
            if stdout_dropped or stderr_dropped
            else None
        ),
        artifacts=scan_artifacts(run.run_path),
        attempts=attempts if len(attempts) > 1 else [],
        reason=outcome.reason,
    )
    return manifest, outcome


def _after_run(run: _Run, manifest: dict) -> None:
    """Task state and notices, then retention; problems here never change the run's outcome."""
    opts = run.opts
    new = _record_in_state(opts, run.task_path, run.run_path, manifest)
    protected = {
        manifest["run_id"],
        new.get("last_success_id") or "",
        new.get("last_failure_id") or "",
    }
    try:
        apply_retention(run.root, opts.name, protected, opts.keep, opts.keep_days, opts.keep_size)
    except OSError as e:
        print(f"runwrap: retention failed for task {opts.name}: {e}", file=sys.stderr)


def _record_in_state(
    opts: RunOptions | None, task_path: str, run_path: str, manifest: dict
) -> dict:
    """Apply a finished run to the task state, telling the task's notifiers; the new state."""
    if opts is not None and opts.notify:
        from runwrap.notify import after_run

        return after_run(opts, task_path, run_path, manifest)[1]
    return update_state(task_path, manifest)[1]
