"""One execution of a task, start to finish (DESIGN section 2).

guard -> orphans of dead runs -> run directory with its manifest (running)
-> job -> supervise -> final manifest -> task state -> notices -> retention
-> exit status.

Whatever runwrap fails to record (a full disk, a read-only state file), the
job's own exit status still reaches the caller, with one warning line per
thing not written; a run left unfinished is finalized by the next run.
"""

import os
import pwd
import time

from runwrap.errors import ExitCode
from runwrap.redact import for_config
from runwrap.run import contain, lock, sig
from runwrap.run.attempts import run_attempts
from runwrap.run.child import SpawnError, spawn
from runwrap.run.heartbeat import Heartbeat
from runwrap.run.outcome import Outcome, from_ending
from runwrap.run.outputcap import CappedLog
from runwrap.run.record import builtin_console, record_run
from runwrap.run.reserve import reserve_space, write_final
from runwrap.run.supervise import supervise
from runwrap.say import warn
from runwrap.settings import WAIT
from runwrap.store.jsonio import read_json
from runwrap.store.layout import (
    FEEDBACK,
    LOCK,
    OPEN,
    RETIRED,
    STATE,
    STDERR,
    STDOUT,
    UnwritableRoot,
    create_run_dir,
    ensure_task_dirs,
    list_dir,
    task_dir,
    task_runs_dir,
)
from runwrap.store.manifest import (
    FAILED,
    KILLED,
    SKIPPED,
    SUCCESS,
    new_manifest,
    scan_artifacts,
    write_manifest,
)
from runwrap.store.openruns import claim_open, clear_open
from runwrap.store.owner import hostname, owner_identity
from runwrap.store.retention import apply_retention
from runwrap.store.state import next_seq
from runwrap.timefmt import iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.settings import RunOptions


class RunResult:
    """What the CLI needs from a run: the exit status and the final manifest.

    What runwrap could not record or clean up went to say.warn() as it happened.
    """

    __slots__ = ("exit_code", "manifest")

    def __init__(self, exit_code: int, manifest: dict) -> None:
        self.exit_code = exit_code
        self.manifest = manifest


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _job_argv(command: list[str], run_path: str, feedback: str, cwd: str) -> list[str]:
    argv = [a.replace("{run_dir}", run_path).replace("{feedback}", feedback) for a in command]
    program = argv[0]
    # The job runs in its run directory: a relative program path means the caller's cwd.
    if "/" in program and not os.path.isabs(program):
        argv[0] = os.path.join(cwd, program)
    return argv


def _schedule(opts: "RunOptions", environ: dict[str, str]) -> dict | None:
    """The schedule this run records, zone decided (store/schedule.py); before the task's
    folder exists, so that a refused schedule (exit 125) leaves nothing behind."""
    if opts.schedule is None:
        return None
    from runwrap.store.schedule import record

    state = read_json(os.path.join(task_dir(opts.root, opts.name), STATE))
    recorded = state.get("schedule") if isinstance(state, dict) else None
    return record(opts.schedule, opts.timezone, opts.grace, environ, recorded)


def _mute_windows(
    opts: "RunOptions", environ: dict[str, str], schedule: dict | None
) -> list | None:
    """The recurring mute windows this run records (store/silences.py), in the task's zone
    (its schedule's, else the one a schedule would have); None without any."""
    value = opts.task_config.get("mute_windows")
    where = f"tasks.{opts.name} "
    if value is None:
        defaults = opts.config_data.get("defaults")
        value = defaults.get("mute_windows") if isinstance(defaults, dict) else None
        where = "defaults "
    if value is None:
        return None
    from runwrap.store import zones
    from runwrap.store.silences import parse_windows

    windows = parse_windows(value, where)
    if schedule is not None:
        zone = schedule.get("timezone")
    else:
        zone = zones.resolve(zones.source(opts.timezone, environ))[0]
    return [{**w, "timezone": zone} for w in windows] or None


def _failed_to(what: str, error: OSError) -> str:
    return f"{what}: {error.strerror or error}"


class _Run:
    """One execution's fixed facts, shared by its steps."""

    __slots__ = (
        "clock",
        "inbox",
        "opts",
        "run_id",
        "run_path",
        "schedule",
        "seq",
        "started",
        "task_path",
        "windows",
    )

    def __init__(
        self,
        opts: "RunOptions",
        task_path: str,
        inbox: sig.SignalInbox,
        schedule: dict | None,
        windows: list | None = None,
    ) -> None:
        self.opts = opts
        self.schedule = schedule
        self.windows = windows
        self.task_path = task_path
        self.inbox = inbox
        self.seq = next_seq(task_path)
        self.started = time.time()  # after any wait for the lock: when the job really starts
        self.clock = time.monotonic()  # the duration's start: the wall clock may step
        self.run_id = self.run_path = ""

    def create(self, manifest: dict, final: bool) -> dict:
        """Give the run its directory, born with `manifest` in it (OSError on a full disk).

        The run is marked open first (openruns.py), even when born `final`
        (skipped): until its state is recorded, no retention may remove it.
        """

        owner = manifest["owner"] or owner_identity(lease=self.opts.lease)

        def claim(run_id: str) -> bool:
            return claim_open(self.task_path, run_id, owner)

        def fill(run_id: str, path: str) -> None:
            manifest["run_id"] = run_id
            # Not fsynced while running: a crash of runwrap still leaves a whole
            # file (the rename is atomic), and the final record, which is, follows.
            write_manifest(path, manifest, durable=final)

        self.run_id, self.run_path = create_run_dir(
            task_runs_dir(self.task_path), self.started, claim, fill
        )
        if os.path.lexists(os.path.join(self.task_path, RETIRED)):
            # A retired task that runs again is back from now (store/retired.py): ROOT/tasks'
            # date tells readers that compare its signature (sitegen) that the list changed.
            try:
                os.utime(os.path.dirname(self.task_path))
            except OSError:
                pass
        return manifest

    def base_manifest(self) -> dict:
        opts = self.opts
        # Secrets in the command line or labels never reach a record (runwrap/redact.py).
        redactor = for_config(opts.config_data)
        manifest = new_manifest(
            task=opts.name,
            seq=self.seq,
            host=hostname(),
            user=_user(),
            command=redactor.argv(list(opts.command)),
            started_at=iso(self.started),
            timeout_s=opts.timeout,
            heartbeat_timeout_s=opts.heartbeat_timeout,
            expect_duration_s=list(opts.expect_duration) if opts.expect_duration else None,
            labels=redactor.values(dict(opts.labels)),
            schedule=self.schedule,
        )
        if self.windows:
            manifest["mute_windows"] = self.windows
        return manifest


def execute(opts: "RunOptions", environ: dict[str, str] | None = None) -> "RunResult":
    """Run the task once under `opts`; never raises for the job's own failures."""
    environ = dict(os.environ if environ is None else environ)
    if opts.notify and not builtin_console(opts):
        # A bad notifier definition stops here, before the job runs (exit 125).
        from runwrap.notify import prepare

        prepare(opts, environ)
    schedule = _schedule(opts, environ)
    windows = _mute_windows(opts, environ, schedule)
    try:
        task_path = ensure_task_dirs(opts.root, opts.name)
    except UnwritableRoot as e:
        task_path = ""
        unwritable = str(e)
    inbox = sig.SignalInbox().install()
    try:
        if not task_path:
            # The job always runs: a ROOT that cannot take the task only loses the record.
            hint = "(--root or $RUNWRAP_ROOT chooses another ROOT)"
            return _run_unrecorded(
                opts, inbox, environ, f"{unwritable}; running it unrecorded {hint}"
            )
        guard = lock.acquire(
            os.path.join(task_path, LOCK),
            opts.overlap,
            opts.wait_timeout,
            interrupted=lambda: bool(inbox.received),
            kind=opts.lock,
            lease=opts.lease,
        )
        try:
            if list_dir(os.path.join(task_path, OPEN)):  # runs a dead runwrap left open
                from runwrap.run.recover import finalize_orphans

                finalize_orphans(task_path, opts, opts.kill_grace)
            try:
                run = _Run(opts, task_path, inbox, schedule, windows)
            except OSError as e:  # its seq (state lock) another user's: the job runs all the same
                if guard is None:  # unless another run holds the task: skipped, unrecorded
                    warn(_failed_to(f"cannot record a skipped run of {opts.name}", e))
                    return RunResult(ExitCode.OK, {})
                what = (
                    f"cannot record this run of {opts.name}, running it unrecorded (output below)"
                )
                return _run_unrecorded(opts, inbox, environ, _failed_to(what, e))
            if guard is None:
                return _record_skipped(run)
            return _run_job(run, environ, guard)
        finally:
            if guard is not None:
                guard.release()
    finally:
        inbox.uninstall()


def _record_skipped(run: "_Run") -> "RunResult":
    opts = run.opts
    manifest = run.base_manifest()
    interrupted = run.inbox.take()
    manifest.update(status=SKIPPED, ended_at=iso(time.time()), duration_s=0.0)
    if interrupted:
        manifest["reason"] = (
            f"runwrap received {sig.name(interrupted[0])} while waiting for the lock"
        )
    elif opts.overlap == WAIT:
        from runwrap.units import format_duration  # a skip's reason: not on start-up

        waited = format_duration(opts.wait_timeout)
        manifest["reason"] = f"still running after waiting {waited} for the lock"
    else:
        manifest["reason"] = "the previous run of this task was still running"
    code = ExitCode.SIGNAL_BASE + interrupted[0] if interrupted else ExitCode.OK
    try:
        run.create(manifest, final=True)
    except OSError as e:
        warn(_failed_to(f"cannot record a skipped run of {opts.name}", e))
        return RunResult(code, manifest)
    _after_run(run, manifest)
    return RunResult(code, manifest)


def _run_job(run: "_Run", environ: dict[str, str], guard: lock.TaskLock) -> "RunResult":
    opts = run.opts
    manifest = run.base_manifest()
    manifest["owner"] = owner_identity(lease=opts.lease)
    contain.become_subreaper()
    try:
        run.create(manifest, final=False)
    except OSError as e:
        what = f"cannot record this run of {opts.name}, running it unrecorded (output below)"
        return _run_unrecorded(opts, run.inbox, environ, _failed_to(what, e))
    run_path = run.run_path
    feedback = os.path.join(run_path, FEEDBACK)
    reserve_space(run_path)
    if opts.notify and not builtin_console(opts):
        from runwrap.notify import run_started

        run_started(opts, run_path, manifest)
    environ.update(
        RUNWRAP_TASK=opts.name,
        RUNWRAP_RUN_ID=run.run_id,
        RUNWRAP_RUN_DIR=run_path,
        RUNWRAP_ROOT=opts.root,
        RUNWRAP_FEEDBACK=feedback,
    )
    cwd = os.getcwd()
    argv = _job_argv(opts.command, run_path, feedback, cwd)
    watcher = None

    def start_watcher() -> int | None:
        nonlocal watcher
        from runwrap.run.watcher import Watcher  # a job that ends within a second needs none

        watcher = Watcher()
        return watcher.start(opts, run.task_path, run.run_id, guard)

    os.chdir(run_path)
    try:
        logs = (
            CappedLog(os.path.join(run_path, STDOUT), opts.max_output),
            CappedLog(os.path.join(run_path, STDERR), opts.max_output),
        )
        heartbeat = Heartbeat(opts, run_path, manifest, logs, guard)
        outcome, attempts, leftovers = run_attempts(
            opts,
            run.inbox,
            argv,
            environ,
            logs,
            heartbeat,
            start_watcher,
        )
        manifest, outcome = _final_manifest(run, heartbeat, logs, outcome, attempts)
        manifest["leftovers"] = leftovers or None
        final = False
        if heartbeat.lease_lost:
            # Another runwrap recorded the run as lost (and told it): one record, one notice.
            warn(f"run {run.run_id} was taken over as lost (its lease had lapsed); not recorded")
        else:
            try:
                write_final(run_path, manifest)
                final = True
            except OSError as e:
                warn(_failed_to(f"cannot write the final record of run {run.run_id}", e))
    finally:
        os.chdir(cwd)
    if final:
        _after_run(run, manifest)
    if watcher is not None:
        watcher.stop()
    return RunResult(outcome.exit_status, manifest)


def _run_unrecorded(
    opts: "RunOptions", inbox: sig.SignalInbox, environ: dict[str, str], warning: str
) -> "RunResult":
    """No room for a record: run the job all the same, its output on runwrap's own.

    Cron then mails that output as it would without runwrap, and the job's
    exit status still reaches the caller; `warning` is the one line saying why.
    """
    argv = _job_argv(opts.command, "", "", os.getcwd())
    environ.update(RUNWRAP_TASK=opts.name)
    warn(warning)
    contain.become_subreaper()  # contained all the same: its whole tree ends with it
    try:
        pid = spawn(argv, environ, 1, 2)
    except SpawnError as e:
        warn(e.reason)
        return RunResult(e.exit_code, {})
    ending = supervise(pid, inbox, opts.timeout, opts.kill_grace)
    return RunResult(from_ending(ending).exit_status, {})


def _final_manifest(
    run: "_Run",
    heartbeat: Heartbeat,
    logs: tuple[CappedLog, CappedLog],
    outcome: Outcome,
    attempts: list[dict],
) -> tuple[dict, Outcome]:
    """The run's last record (outcome, logs' sizes, artifacts), and the outcome in force.

    --fail-on-stderr is judged here, once the logs are closed.
    """
    ended = time.time()
    duration = time.monotonic() - run.clock
    manifest = heartbeat.final_manifest()
    (stdout_bytes, stdout_dropped), (stderr_bytes, stderr_dropped) = (log.finish() for log in logs)
    if outcome.status == SUCCESS and run.opts.fail_on_stderr and stderr_bytes > 0:
        from runwrap.units import count  # only for --fail-on-stderr's failure

        reason = f"wrote {count(stderr_bytes, 'byte')} to stderr (--fail-on-stderr)"
        outcome = Outcome(FAILED, 1, outcome.exit_code, None, reason)
    manifest.update(
        status=outcome.status,
        exit_code=outcome.exit_code,
        signal=outcome.signal,
        ended_at=iso(ended),
        duration_s=round(duration, 3),
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
    if outcome.status == SUCCESS:
        manifest["duration_check"] = duration_check(run.task_path, manifest)
    if outcome.status == KILLED:
        # `runwrap kill --reason` left a note outside the run directory before it
        # signalled: an operator's kill, never a failure (store/notes.py, fold.py).
        from runwrap.store.notes import take_kill_note

        note = take_kill_note(run.task_path, run.run_id)
        if note is not None:
            manifest["stopped_by"] = note
            said = f": {note['reason']}" if note["reason"] else ""
            # A kill that found no job running (runwrap waiting to retry) says so.
            when = f" {outcome.stopped_when}" if outcome.stopped_when else ""
            manifest["reason"] = f"killed by {note['by']}{when}{said}"
    return manifest, outcome


def duration_check(task_path: str, manifest: dict) -> dict | None:
    """The verdict on a successful run's duration (store/durations.py), against the
    baseline state.json keeps: one small file, never the task's manifests."""
    from runwrap.store.durations import job_duration, judge

    state = read_json(os.path.join(task_path, STATE))
    window = state.get("durations") if isinstance(state, dict) else None
    return judge(window, job_duration(manifest), manifest.get("expect_duration_s"))


def _after_run(run: "_Run", manifest: dict) -> None:
    """Task state and notices, then retention; problems here never change the run's outcome."""
    opts = run.opts
    try:
        new = record_run(opts, run.task_path, run.run_path, manifest)
    except OSError as e:
        # The open marker stays: the next run records this one again.
        warn(_failed_to(f"cannot update the state of task {opts.name}", e))
        return
    clear_open(run.task_path, manifest["run_id"])
    if opts.metrics_dir:  # the Prometheus textfile: imported only when asked for
        from runwrap.store.prometheus import after_run as write_metrics

        write_metrics(opts.metrics_dir, opts.root, opts.name)
    protected = {
        manifest["run_id"],
        new.get("last_success_id") or "",
        new.get("last_failure_id") or "",
    }
    try:
        apply_retention(opts.root, opts.name, protected, opts.keep, opts.keep_days, opts.keep_size)
    except OSError as e:
        warn(_failed_to(f"retention failed for task {opts.name}", e))
