"""Control subcommands: the form without `--` (ls, show, history, feedback, parse, kill, tail).

Each prints aligned columns for people (times relative and absolute) or,
with --json, JSON for scripts. Not on the run path: argparse and json are fine here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from runwrap import __version__, sig
from runwrap.cli import COMMON_OPTIONS, SUBCOMMANDS
from runwrap.configfile import find_config_file, load_config_file, resolve_root
from runwrap.display import age, cell, clean, duration, number, print_json, size, table, when
from runwrap.errors import ExitCode, NotFoundError, RunwrapError, StateError
from runwrap.feedback import parse_bytes
from runwrap.lookup import (
    Unreadable,
    find_run,
    load_run,
    open_regular,
    read_fd,
    read_run,
    skipped_warning,
    task_runs,
)
from runwrap.manifest import RUNNING, STATUSES, effective_status
from runwrap.options import RUN_HELP
from runwrap.overview import overview
from runwrap.paths import FEEDBACK, STDERR, STDOUT, run_dir
from runwrap.procs import hostname, owner_alive

MAX_FEEDBACK = 64 * 1024 * 1024  # beyond this, the manifest's copy of the values is shown


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and 125, like every runwrap error
        print(f"runwrap: {message}; see runwrap --help", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the control form; the run form's options are in its description."""
    parser = _Parser(
        prog="runwrap",
        usage="runwrap [OPTIONS] -- COMMAND [ARG...]\n       runwrap SUBCOMMAND [...]",
        description=RUN_HELP.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runwrap {__version__}")
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)

    def add(name: str, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--root", help="where runs are kept (also $RUNWRAP_ROOT)")
        p.add_argument("--config", help="YAML config file (also $RUNWRAP_CONFIG)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="JSON output for scripts")
        return p

    add("ls", "every task: last status and since when, and every running run")
    add("show", "one run in full (a task's latest run)").add_argument("ref", metavar="TASK|RUN_ID")
    p = add("history", "a task's past runs, newest first")
    p.add_argument("ref", metavar="TASK")
    p.add_argument("--limit", type=_count, default=20, help="at most N runs (default 20; 0: all)")
    p.add_argument("--status", choices=STATUSES, help="only runs with this status")
    add("feedback", "a run's feedback values as JSON", json_flag=False).add_argument(
        "ref", metavar="TASK|RUN_ID"
    )
    add("parse", "a feedback file's values as JSON", json_flag=False).add_argument("file")
    p = add("kill", "stop a running run (all running runs of a task)")
    p.add_argument("ref", metavar="TASK|RUN_ID")
    p.add_argument("--signal", "-s", default="TERM", help="signal to send (default TERM)")
    p = add("tail", "a run's output; -f follows it until the run ends", json_flag=False)
    p.add_argument("ref", metavar="TASK|RUN_ID")
    p.add_argument("-f", "--follow", action="store_true", help="follow until the run ends")
    p.add_argument("--stderr", action="store_true", help="stderr.log instead of stdout.log")
    p.add_argument("-n", "--lines", type=_count, default=20, help="last N lines first (default 20)")
    return parser


def control_main(argv: list[str]) -> int:
    """Run a control subcommand; return the exit status."""
    parser = build_parser()
    if not argv:
        parser.print_help()
        return ExitCode.OK
    argv = _subcommand_first(argv, parser)
    args = parser.parse_args(argv)
    if args.subcommand == "parse":
        return cmd_parse(args.file)
    config = load_config_file(find_config_file(args.config))
    root = resolve_root(args.root, config)
    handlers = {
        "ls": lambda: cmd_ls(root, args.json),
        "show": lambda: cmd_show(root, args.ref, args.json),
        "history": lambda: cmd_history(root, args.ref, args.limit, args.status, args.json),
        "feedback": lambda: cmd_feedback(root, args.ref),
        "kill": lambda: cmd_kill(root, args.ref, args.signal, args.json),
        "tail": lambda: cmd_tail(root, args.ref, args.follow, args.stderr, args.lines),
    }
    status = handlers[args.subcommand]()
    warning = skipped_warning()  # what could not be read: one line, after the output
    if warning:
        print(f"runwrap: {warning}", file=sys.stderr)
    return status


def _count(text: str) -> int:
    """A whole number >= 0 for --limit and --lines."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def _leading_common_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split off the --root/--config words before the subcommand: (them, the rest)."""
    i = 0
    while i < len(argv) and argv[i].partition("=")[0] in COMMON_OPTIONS:
        if "=" in argv[i]:
            i += 1
        elif i + 1 < len(argv):
            i += 2
        else:
            raise RunwrapError(f"option {argv[i]} needs a value; see runwrap --help")
    return argv[:i], argv[i:]


def _subcommand_first(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """argv with the subcommand first (--root/--config given before it moved after it).

    Anything else before the subcommand is one line that says where it goes.
    """
    common, rest = _leading_common_options(argv)
    if not rest:
        raise RunwrapError(
            f"missing subcommand after {' '.join(common)}: runwrap --root DIR ls, ...; "
            "to run a command: runwrap [OPTIONS] -- COMMAND [ARG...]"
        )
    first = rest[0]
    if first in SUBCOMMANDS:
        return [first, *common, *rest[1:]]
    if first in ("-h", "--help", "--version"):
        return rest
    later = next((word for word in rest[1:] if word in SUBCOMMANDS), None)
    if first.startswith("-") and later:
        option = first.partition("=")[0]
        if option in _options_of(parser, later):
            raise RunwrapError(
                f"option {option} goes after the subcommand: runwrap {later} {option} ... "
                "(only --root and --config may come before it)"
            )
        raise RunwrapError(
            f"option {option} cannot come before the subcommand {later!r} "
            f"(only --root and --config can); see runwrap {later} --help"
        )
    if first.startswith("-"):
        raise RunwrapError("put '--' before the command: runwrap [OPTIONS] -- COMMAND [ARG...]")
    given = " ".join(common) or "[OPTIONS]"
    raise RunwrapError(
        f"unknown subcommand {first!r}; to run a command, put '--' before it: "
        f"runwrap {given} -- {first} ..."
    )


def _options_of(parser: argparse.ArgumentParser, subcommand: str) -> set[str]:
    """The option strings a subcommand accepts (--json, -n, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices[subcommand]
            return {opt for a in sub._actions for opt in a.option_strings}
    return set()


# ---- subcommands ------------------------------------------------------------


def cmd_ls(root: str, as_json: bool) -> int:
    """Every task with its last status, and every running run."""
    tasks = overview(root)
    if as_json:
        print_json(tasks)
        return ExitCode.OK
    if not tasks:
        print(f"no tasks under {root}")
        return ExitCode.OK
    now = time.time()
    rows = [["TASK", "STATUS", "SINCE", "LAST RUN", "DURATION", "RUNNING"]]
    running: list[dict] = []
    for item in tasks:
        state = item["state"]
        status = state.get("status") or state.get("last_status")
        running.extend(item["running"])
        rows.append(
            [
                clean(item["task"], 64),
                "lost" if item["lost"] else cell(status, 20),
                when(state.get("since"), now),
                when(state.get("last_started_at"), now),
                duration(state.get("last_duration_s")),
                str(len(item["running"])) if item["running"] else "-",
            ]
        )
    print(table(rows))
    if running:
        print()
        print(table([_RUNNING_HEADER] + [_running_row(m, now) for m in running]))
    return ExitCode.OK


_RUNNING_HEADER = ["RUNNING", "RUN ID", "PID", "AGE", "LIVENESS", "HEARTBEAT", "PROGRESS", "INFO"]


def _running_row(m: dict, now: float) -> list[str]:
    """One running run in ls: every field coerced (a job may have written any of them)."""
    feedback = _mapping(m.get("feedback"))
    progress = feedback.get("progress")
    heartbeat = age(m.get("heartbeat_at"), now)
    return [
        cell(m.get("task"), 64),
        cell(m.get("run_id"), 32),
        cell(m.get("pid") or None, 12),
        age(m.get("started_at"), now),
        cell(m.get("liveness") or None, 12),
        "-" if heartbeat == "-" else f"{heartbeat} ago",
        "-" if progress is None else f"{clean(progress, 8)}%",
        cell(feedback.get("info")),
    ]


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list:
    return value if isinstance(value, list) else []


_SHOWN = (
    "task",
    "run_id",
    "status",
    "reason",
    "command",
    "host",
    "user",
    "started_at",
    "ended_at",
    "duration_s",
    "exit_code",
    "signal",
    "pid",
    "liveness",
    "heartbeat_at",
    "timeout_s",
    "heartbeat_timeout_s",
    "stdout_bytes",
    "stderr_bytes",
)


def _human(key: str, value: object, now: float) -> str:
    """One field of `show`, readable, whatever its JSON type."""
    if value is None:
        return "-"
    if key.endswith("_at"):
        return when(value, now)
    if key.endswith("_s") and number(value) is not None:
        return duration(value)
    if key.endswith("_bytes") and number(value) is not None:
        return size(value)
    if key == "command" and isinstance(value, list):
        import shlex

        return clean(shlex.join(clean(v, 1000) for v in value), 200)
    return clean(value, 200)


def cmd_show(root: str, ref: str, as_json: bool) -> int:
    """One run in full."""
    task, run_id = find_run(root, ref)
    m = load_run(root, task, run_id)
    if as_json:
        print_json(m)
        return ExitCode.OK
    now = time.time()
    rows = [[f"{key}:", _human(key, m.get(key), now)] for key in _SHOWN if key in m]
    rows.append(["run dir:", clean(run_dir(root, task, run_id), 4096)])
    print(table(rows))
    for key in ("labels", "feedback"):
        values = _mapping(m.get(key))
        if values:
            print(f"\n{key}:")
            print(table([[f"  {clean(k)}", clean(v, 200)] for k, v in values.items()]))
    artifacts = _items(m.get("artifacts"))
    if artifacts:
        print("\nartifacts:")
        print(table([_artifact_row(a) for a in artifacts]))
    attempts = _items(m.get("attempts"))
    if attempts:
        print("\nattempts:")
        for a in attempts:
            a = _mapping(a)
            reason = clean(a.get("reason") or "", 200)
            print(f"  {cell(a.get('attempt'), 8)}: {cell(a.get('status'), 20)} {reason}".rstrip())
    return ExitCode.OK


def _artifact_row(artifact: object) -> list[str]:
    a = _mapping(artifact)
    shown = "symlink" if a.get("symlink") is True else size(a.get("size"))
    return [f"  {cell(a.get('name'), 200)}", shown]


def cmd_history(root: str, ref: str, limit: int, status: str | None, as_json: bool) -> int:
    """A task's runs, newest first (runs without a readable manifest are skipped)."""
    task, run_ids = task_runs(root, ref)
    found: list[tuple[str, dict]] = []
    for run_id in reversed(run_ids):
        manifest = read_run(root, task, run_id)
        if manifest is None:
            continue
        manifest["status"] = effective_status(manifest)
        if status and manifest["status"] != status:
            continue
        found.append((run_id, manifest))
        if limit and len(found) >= limit:
            break
    if as_json:
        print_json([m for _, m in found])
        return ExitCode.OK
    if not found:
        print(f"no runs of {task}" + (f" with status {status}" if status else ""))
        return ExitCode.OK
    now = time.time()
    rows = [["RUN ID", "STATUS", "STARTED", "DURATION", "EXIT", "REASON"]]
    for run_id, m in found:
        rows.append(
            [
                run_id,  # the directory's name: what `show` takes (a manifest could say otherwise)
                cell(m["status"], 20),
                when(m.get("started_at"), now),
                duration(m.get("duration_s")),
                cell(m.get("signal") or m.get("exit_code"), 12),
                clean(m.get("reason") or "", 60),
            ]
        )
    print(table(rows))
    return ExitCode.OK


def cmd_feedback(root: str, ref: str) -> int:
    """The feedback values of a run: live from the file while it runs, else from the manifest."""
    task, run_id = find_run(root, ref)
    manifest = load_run(root, task, run_id)
    values = _mapping(manifest.get("feedback"))
    if manifest["status"] == RUNNING:
        live = _live_feedback(root, task, run_id)
        values = values if live is None else live
    print_json(values)
    return ExitCode.OK


def _live_feedback(root: str, task: str, run_id: str) -> dict | None:
    """The values in the run's feedback file, or None if it is missing or not a regular file."""
    try:
        fd = open_regular(root, task, "runs", run_id, FEEDBACK)
    except (FileNotFoundError, Unreadable):
        return None  # the manifest's copy (kept current by runwrap) stands in
    try:
        return parse_bytes(read_fd(fd, MAX_FEEDBACK, FEEDBACK))
    except (OSError, Unreadable):
        return None
    finally:
        os.close(fd)


def cmd_parse(path: str) -> int:
    """A feedback file's values (taskwatcher's parse)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RunwrapError(f"cannot read feedback file {path}: {e.strerror}") from None
    print_json(parse_bytes(data))
    return ExitCode.OK


def _running(root: str, ref: str) -> list[tuple[str, dict]]:
    """(run id, manifest) of every run of `ref` that is running now."""
    task, run_ids = task_runs(root, ref)
    found = []
    for run_id in run_ids:
        manifest = read_run(root, task, run_id)
        if manifest and manifest.get("status") == RUNNING:
            manifest["status"] = effective_status(manifest)
            if manifest["status"] == RUNNING:
                found.append((run_id, manifest))
    return found


def _process_id(value: object) -> int | None:
    """A pid or pgid from a manifest that is safe to signal: never 0, 1, ours, nor a bool.

    The manifest lies in a directory the job can write: kill(-1) would reach
    every process we may signal, kill(0) our own group.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 < value < 2**31:
        return None
    return None if value in (os.getpid(), os.getpgrp()) else value


def cmd_kill(root: str, ref: str, signal_name: str, as_json: bool) -> int:
    """Stop running runs: the signal goes to their runwrap, which stops the group and records it."""
    try:
        signum = sig.number(signal_name)
    except ValueError:
        raise RunwrapError(f"unknown signal {signal_name!r}; use TERM, INT, HUP, KILL...") from None
    runs = _running(root, ref)
    if not runs:
        raise StateError(f"{ref} is not running")
    killed = []
    for run_id, m in runs:
        owner = _mapping(m.get("owner"))
        if owner.get("host") != hostname():
            raise StateError(f"run {run_id} runs on {cell(owner.get('host'))}; kill it there")
        # runwrap passes TERM, INT and HUP on to the whole group and records the run as
        # killed; any other signal goes to the group directly (runwrap sees the job die).
        if signum in sig.FORWARDED:
            target = _process_id(owner.get("pid"))
        else:
            group = _process_id(m.get("pgid"))
            if group is None:
                raise StateError(
                    f"run {run_id} records no usable process group ({cell(m.get('pgid'), 24)}); "
                    f"send TERM instead: runwrap kill {run_id}"
                )
            target = -group
        if not target or owner_alive(owner) is False:
            continue
        try:
            os.kill(target, signum)
        except ProcessLookupError:
            continue
        except PermissionError:
            raise StateError(
                f"not allowed to signal run {run_id} (owned by another user)"
            ) from None
        killed.append(run_id)
    if not killed:
        raise StateError(f"{ref} is not running")
    if as_json:
        print_json({"signal": sig.name(signum), "runs": killed})
    else:
        for run_id in killed:
            print(f"sent {sig.name(signum)} to run {run_id}")
    return ExitCode.OK


def _open_log(root: str, task: str, run_id: str, name: str) -> int | None:
    """The log, opened without following a link or blocking; None while it does not exist.

    A job can replace its log with a symlink (to /etc/shadow...): that is one
    line saying the log is not a regular file, never the target's content.
    """
    try:
        return open_regular(root, task, "runs", run_id, name)
    except FileNotFoundError:
        return None
    except Unreadable as e:
        raise StateError(f"{name} of run {run_id} not shown: {e}") from None


def _last_lines(fd: int, count: int) -> tuple[bytes, int]:
    """The last `count` lines of an open file, and the offset where it ends."""
    end = os.lseek(fd, 0, os.SEEK_END)
    start = max(0, end - max(count, 1) * 1024)
    data = os.pread(fd, end - start, start)
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]
    tail = lines[-(count + 1) :] if count else [b""]
    return b"\n".join(tail), end


def _read_from(fd: int, offset: int) -> tuple[bytes, int]:
    """What the file holds after `offset` (from 0 if it shrank: compacted by --max-output)."""
    end = os.fstat(fd).st_size
    if end < offset:
        offset = 0
    chunks = []
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks), offset


def cmd_tail(root: str, ref: str, follow: bool, stderr: bool, lines: int) -> int:
    """Print the end of a run's output; with follow, keep printing until the run ends."""
    task, run_id = find_run(root, ref)
    name = STDERR if stderr else STDOUT
    out = sys.stdout.buffer
    fd = _open_log(root, task, run_id, name)
    if fd is None:
        data, offset = b"", 0
        if load_run(root, task, run_id)["status"] != RUNNING:
            raise NotFoundError(f"run {run_id} has no {name}")
    else:
        try:
            data, offset = _last_lines(fd, lines)
        finally:
            os.close(fd)
    out.write(data)
    out.flush()
    while follow:
        running = load_run(root, task, run_id)["status"] == RUNNING
        # Opened again each time: a log may appear late; a swapped one is caught here.
        fd = _open_log(root, task, run_id, name)
        chunk = b""
        if fd is not None:
            try:
                chunk, offset = _read_from(fd, offset)
            finally:
                os.close(fd)
        if chunk:
            out.write(chunk)
            out.flush()
        elif not running:
            break
        else:
            time.sleep(0.2)
    return ExitCode.OK
