"""Readers against hostile or broken files under ROOT: never a crash, never a hang, never a leak.

A job runs inside its run directory and may replace anything there (its
manifest, its logs) or beside it; a stray file may land in ROOT/tasks. Every
reader must skip what is not a real task or run, survive what it cannot read
with at most one warning line, and never follow a symlink or block on a FIFO.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from subprocess import PIPE

import pytest

from runwrap.store.owner import owner_identity

from helpers.polling import wait_for
from helpers.runs import RUNWRAP, Root, assert_one_line_error

READERS = [
    ["ls"],
    ["ls", "--json"],
    ["show", "t"],
    ["show", "t", "--json"],
    ["history", "t"],
    ["history", "t", "--json"],
    ["tail", "t"],
    ["tail", "-f", "t"],
    ["feedback", "t"],
    ["kill", "t", "--signal", "0"],
]
JOB = 'echo out; echo err >&2; echo "[progress]40" >> "$RUNWRAP_FEEDBACK"; echo a > art.txt'


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with one finished run of task t, made once and copied by each test."""
    base = tmp_path_factory.mktemp("template")
    (base / "cwd").mkdir()
    made = Root(base / "root", base / "cwd")
    assert made.run("-n", "t", "--", "sh", "-c", JOB).returncode == 0
    return made.path


@pytest.fixture
def troot(root: Root, template: Path) -> Root:
    shutil.copytree(template, root.path, symlinks=True)
    return root


def survives(result: subprocess.CompletedProcess, args: list[str]) -> None:
    """Exit 0, 1 ('not found / not running') or 2 (a task that cannot be read), no
    traceback, at most one line on stderr."""
    assert result.returncode in (0, 1, 2), (args, result)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result
    # tail -f ends with its closing line ("run ended: success after 3 ms"), on stderr.
    closing = args[:2] == ["tail", "-f"]
    lines = [
        ln for ln in result.stderr.splitlines() if not (closing and ln.startswith("run ended"))
    ]
    assert len(lines) <= 1, result.stderr
    if result.returncode == 0 and "--json" in args:
        json.loads(result.stdout)
    if result.returncode == 0 and args[0] in ("ls", "show", "history") and "--json" not in args:
        assert "\x1b" not in result.stdout  # a job's text never reaches the terminal raw
    if result.returncode != 0:
        assert result.stderr.startswith("runwrap: ")


def read(root: Root, *args: str) -> subprocess.CompletedProcess:
    # A FIFO that blocked a reader would hang it: the timeout fails the test instead.
    return root.run(*args, timeout=20)


def read_all(root: Root, readers: list[list[str]]) -> list[tuple[list[str], object]]:
    """Run every reader at once (the matrix stays fast); each must end within 20s."""
    procs = [
        (
            args,
            subprocess.Popen(
                [RUNWRAP, *args], env=root.env, cwd=root.cwd, stdout=PIPE, stderr=PIPE
            ),
        )
        for args in readers
    ]
    results = []
    for args, proc in procs:
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"runwrap {' '.join(args)} blocked") from None
        try:  # what runwrap prints is UTF-8, whatever bytes it read
            text = out.decode("utf-8"), err.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"runwrap {' '.join(args)} printed bad UTF-8: {e}") from None
        results.append((args, subprocess.CompletedProcess(proc.args, proc.returncode, *text)))
    return results


# ---- 3. what is in ROOT/tasks and runs/ that is not a task or a run ---------


def _stray_file(tasks: Path) -> None:
    (tasks / "stray").write_text("not a task\n")


def _symlink_to_task(tasks: Path) -> None:
    (tasks / "link").symlink_to("t")


def _dangling_symlink(tasks: Path) -> None:
    (tasks / "dangling").symlink_to("nowhere")


def _symlink_to_etc(tasks: Path) -> None:
    (tasks / "etc").symlink_to("/etc")


def _not_utf8_dir(tasks: Path) -> None:
    os.makedirs(os.path.join(bytes(tasks), b"caf\xe9", b"runs"))


def _dash_dir(tasks: Path) -> None:
    (tasks / "-dash" / "runs").mkdir(parents=True)


def _fifo(tasks: Path) -> None:
    os.mkfifo(tasks / "fifo")


def _unreadable_dir(tasks: Path) -> None:
    (tasks / "locked" / "runs").mkdir(parents=True)
    (tasks / "locked").chmod(0)


STRAYS = [
    _stray_file,
    _symlink_to_task,
    _dangling_symlink,
    _symlink_to_etc,
    _not_utf8_dir,
    _dash_dir,
    _fifo,
    _unreadable_dir,
]


@pytest.mark.parametrize("make", STRAYS, ids=lambda f: f.__name__.strip("_"))
def test_readers_skip_what_is_not_a_task(troot: Root, make) -> None:
    tasks = troot.path / "tasks"
    make(tasks)
    try:
        results = read_all(troot, READERS)
    finally:
        for p in tasks.iterdir():
            if not p.is_symlink():
                p.chmod(0o755)
    for args, result in results:
        survives(result, args)
        if args[0] in ("ls", "show", "history", "tail", "feedback"):
            assert result.returncode == 0, result
        if args == ["ls"]:
            listed = [line.split()[0] for line in result.stdout.splitlines()[1:] if line]
            # A task directory we may not read is still a task: listed, its runs unknown.
            # (ok before never: the one order of every list, runwrap.store.query.SHOWN_ORDER)
            assert listed == (["t", "locked"] if make is _unreadable_dir else ["t"])


@pytest.mark.parametrize("name", ["link", "etc", "dangling", "stray", "fifo"])
def test_a_symlink_or_file_in_tasks_cannot_be_named(troot: Root, name: str) -> None:
    tasks = troot.path / "tasks"
    for make in [*STRAYS[:4], _fifo]:
        make(tasks)
    for args in (["show", name], ["history", name], ["tail", name], ["kill", name]):
        assert_one_line_error(read(troot, *args), code=1)


def test_a_run_id_is_found_only_in_real_task_directories(troot: Root) -> None:
    run_id = troot.run_ids("t")[-1]
    (troot.path / "tasks" / "link").symlink_to("t")
    result = read(troot, "show", run_id, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["task"] == "t"
    assert result.stderr == ""


def _newer_run_id(root: Root) -> str:
    return "29991231T235959.999Z-ffff"


def _runs_entry_file(runs: Path, root: Root) -> None:
    (runs / _newer_run_id(root)).write_text("{}")


def _runs_entry_symlink_to_a_run(runs: Path, root: Root) -> None:
    (runs / _newer_run_id(root)).symlink_to(root.run_ids("t")[-1])


def _runs_entry_symlink_to_etc(runs: Path, root: Root) -> None:
    (runs / _newer_run_id(root)).symlink_to("/etc")


def _runs_entry_fifo(runs: Path, root: Root) -> None:
    os.mkfifo(runs / _newer_run_id(root))


def _runs_entry_junk(runs: Path, root: Root) -> None:
    (runs / "junk").mkdir()
    (runs / ".removing-x").mkdir()


@pytest.mark.parametrize(
    "make",
    [
        _runs_entry_file,
        _runs_entry_symlink_to_a_run,
        _runs_entry_symlink_to_etc,
        _runs_entry_fifo,
        _runs_entry_junk,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_readers_skip_what_is_not_a_run(troot: Root, make) -> None:
    real = troot.run_ids("t")[-1]
    make(troot.task_dir("t") / "runs", troot)
    for args, result in read_all(troot, READERS):
        survives(result, args)
        if args[0] in ("ls", "show", "history", "tail", "feedback"):
            assert result.returncode == 0, result
        if args == ["history", "t", "--json"]:
            assert [m["run_id"] for m in json.loads(result.stdout)] == [real]
        if args == ["show", "t", "--json"]:
            assert json.loads(result.stdout)["run_id"] == real
        if args == ["tail", "t"]:
            assert result.stdout == "out\n"


@pytest.mark.parametrize("target", ["elsewhere", "/etc"])
def test_a_symlinked_runs_directory_is_not_followed(troot: Root, target: str) -> None:
    runs = troot.task_dir("t") / "runs"
    if target == "elsewhere":
        shutil.move(runs, troot.path / "elsewhere")
        runs.symlink_to(troot.path / "elsewhere")
    else:
        shutil.rmtree(runs)
        runs.symlink_to(target)
    for args in READERS:
        result = read(troot, *args)
        survives(result, args)
        assert "out" not in result.stdout.split(), (args, result.stdout)
    # Its runs cannot be read: "unreadable" (exit 2), never "no runs yet" (tests/runwrap/
    # test_one_story.py has every surface).
    assert read(troot, "show", "t").returncode == 2


def test_a_symlinked_task_directory_is_not_followed(troot: Root, tmp_path: Path) -> None:
    task = troot.task_dir("t")
    shutil.move(task, tmp_path / "moved")
    task.symlink_to(tmp_path / "moved")
    listing = read(troot, "ls", "--json")
    assert listing.returncode == 0 and json.loads(listing.stdout) == []
    assert len(listing.stderr.splitlines()) == 1  # one warning naming what was skipped
    for args in READERS[2:]:
        result = read(troot, *args)
        assert result.returncode == 1, (args, result)
        survives(result, args)


def test_many_unreadable_things_make_one_warning_line(troot: Root) -> None:
    tasks = troot.path / "tasks"
    for make in STRAYS[:5]:
        make(tasks)
    runs = troot.task_dir("t") / "runs"
    for i in range(5):
        (runs / f"2999123{i}T000000.000Z-ffff").mkdir()
        os.mkfifo(runs / f"2999123{i}T000000.000Z-ffff" / "manifest.json")
    for args in (["ls"], ["history", "t"]):
        result = read(troot, *args)
        assert result.returncode == 0
        assert len(result.stderr.splitlines()) == 1 and "warning" in result.stderr, result.stderr


# ---- 5. wrong-typed, cut-off and non-regular manifest.json and state.json ----

WRONG_TYPES = {
    "schema": "one",
    "task": 5,
    "run_id": {"x": 1},
    "status": 5,
    "started_at": 7,
    "ended_at": [],
    "duration_s": "x",
    "exit_code": [],
    "signal": {},
    "labels": [],
    "feedback": None,
    "command": "str",
    "artifacts": {},
    "attempts": "x",
    "owner": "me",
    "pid": "x",
    "pgid": "x",
    "reason": 9,
    "stdout_bytes": "big",
    "stderr_bytes": -1,
    "output_truncated": 3,
    "notifications": 1,
    "heartbeat_at": True,
}
WRONG_ITEMS = {
    "labels": {"k": [1, 2], "2": None},
    "feedback": {"progress": [], "info": {"a": 1}},
    "command": [1, None, {"a": "b"}, "\x1b[2J"],
    "artifacts": [5, "x", None, {"name": 3, "size": "big"}, {"size": 1e400}],
    "attempts": [5, None, {"attempt": [], "status": {}, "reason": 5}],
    "exit_code": 10**40,
}
EXTREME = {
    "status": "success",
    "started_at": "2026-01-01T00:00:00.1e400Z",
    "ended_at": "9999-12-31T23:59:59.999Z",
    "heartbeat_at": "0001-01-01T00:00:00.000Z",
    "duration_s": float("nan"),
    "timeout_s": float("inf"),
    "heartbeat_timeout_s": -1e308,
    "stdout_bytes": 10**400,
    "stderr_bytes": float("-inf"),
}
ESCAPES = {
    "status": "failed\x1b[31m",
    "reason": "\x1b]0;pwned\x07\x1b[2J\r\ninjected line\u202e",
    "labels": {"\x1b[1mk": "\x1b[1mv\udcff"},
    "feedback": {"info": "\x1b[2Jhi"},
    "signal": "SIG\x1b[5m",
    "run_id": "\x1b[2J",
}


def _merge(values: dict, running: bool = False) -> object:
    def change(m: dict) -> dict:
        m = {**m, **values}
        if running:
            m["status"] = "running"
        return m

    return change


def _bytes(data: bytes):
    return lambda path: path.write_bytes(data)


def _not_a_file(kind: str):
    def make(path: Path) -> None:
        path.unlink()
        if kind == "dir":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "symlink":
            secret = path.parent.parent / "secret.json"
            secret.write_text('{"status": "success", "reason": "SECRET"}')
            path.symlink_to(secret)

    return make


def _cut(count: int):
    return lambda path: path.write_bytes(path.read_bytes()[:count])


def _nested(depth: int):
    def make(path: Path) -> None:
        m = json.loads(path.read_text())
        text = json.dumps(m)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
        path.write_text(text)

    return make


FILE_CASES = {
    "wrong-types": _merge(WRONG_TYPES),
    "wrong-types-running": _merge(WRONG_TYPES, running=True),
    "wrong-items": _merge(WRONG_ITEMS),
    "wrong-items-running": _merge(WRONG_ITEMS, running=True),
    "extreme-numbers": _merge(EXTREME),
    "escapes": _merge(ESCAPES),
    "escapes-running": _merge(ESCAPES, running=True),
    "cut-off": _cut(40),
    "empty": _bytes(b""),
    "list": _bytes(b"[1, 2]"),  # stands for every JSON value that is not an object
    "not-utf8": _bytes(b'{"status": "success", "reason": "\xff\xfe", "task": "t\xc3"}'),
    "nul-bytes": _bytes(b'{"status": "succ\x00ess"}\x00\x00'),
    "deeply-nested": _nested(900),
    "too-deep": _nested(100_000),
    "dir": _not_a_file("dir"),
    "fifo": _not_a_file("fifo"),
    "symlink": _not_a_file("symlink"),
}


def mark_open(run_dir: Path, owner: dict) -> None:
    """Mark a run unfinished, as runwrap does when a run starts: readers find running runs so."""
    opened = run_dir.parent.parent / "open"
    opened.mkdir(exist_ok=True)
    (opened / run_dir.name).write_text(json.dumps({"owner": owner}))


def _corrupt(path: Path, case: str, live_owner: dict) -> None:
    make = FILE_CASES[case]
    if make.__name__ == "change":
        value = make(json.loads(path.read_text()))
        if value.get("status") == "running":
            value["owner"] = live_owner  # still running: its runwrap (a sleep here) is alive
            if path.name == "manifest.json":
                mark_open(path.parent, live_owner)
        path.write_text(json.dumps(value))
    else:
        make(path)


@pytest.fixture
def sleeper():
    """A harmless live process to stand as a running run's owner (kill may signal it)."""
    proc = subprocess.Popen(["sleep", "60"])
    wait_for(lambda: owner_identity(proc.pid)["start"] is not None, what="sleep started")
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_readers_survive_a_hostile_manifest(troot: Root, sleeper, case: str) -> None:
    _corrupt(troot.run_dir("t") / "manifest.json", case, owner_identity(sleeper.pid))
    # A run that is still running is followed by tail -f until it ends: not here.
    readers = [a for a in READERS if not (case.endswith("-running") and a[:2] == ["tail", "-f"])]
    for args, result in read_all(troot, readers):
        survives(result, args)
        assert "SECRET" not in result.stdout + result.stderr
        if args[0] in ("ls", "history"):
            assert result.returncode == 0, result


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_readers_survive_a_hostile_state_file(troot: Root, sleeper, case: str) -> None:
    state = {
        "status": 5,
        "since": [],
        "last_started_at": {},
        "last_duration_s": "x",
        "last_run_id": 5,
        "consecutive_failures": "x",
        "last_status": None,
    }
    path = troot.task_dir("t") / "state.json"
    if case.startswith("wrong-types"):
        path.write_text(json.dumps(state))
    else:
        _corrupt(path, case, owner_identity(sleeper.pid))
    readers = [["ls"], ["ls", "--json"]]  # the only readers of state.json
    for args, result in read_all(troot, readers):
        survives(result, args)
        assert result.returncode == 0, result
        assert "SECRET" not in result.stdout + result.stderr
        if args == ["ls"]:
            assert result.stdout.splitlines()[1].split()[0] == "t"


def test_a_running_run_with_a_bogus_process_group_is_never_signalled(troot: Root, sleeper) -> None:
    path = troot.run_dir("t") / "manifest.json"
    m = json.loads(path.read_text())
    m.update(status="running", owner=owner_identity(sleeper.pid))
    mark_open(path.parent, m["owner"])
    # -1 would be every process we may signal; 0 our own group. Signal 0 only probes.
    for pgid in (1, True, 0, -5, 2**70, os.getpgrp()):
        m["pgid"] = pgid
        path.write_text(json.dumps(m))
        # Not the run's runwrap (no child carries the run's tag): refused, whatever the pgid.
        assert_one_line_error(read(troot, "kill", "t", "--signal", "0"), "not signalled", code=1)
    assert sleeper.poll() is None


def test_json_output_is_valid_utf8_json_whatever_the_manifest_holds(troot: Root) -> None:
    path = troot.run_dir("t") / "manifest.json"
    m = json.loads(path.read_text())
    path.write_bytes(
        json.dumps({**m, "duration_s": float("nan")})[:-1].encode()
        + b', "reason": "bad \xff byte"}'
    )
    out = subprocess.run(
        [RUNWRAP, "show", "t", "--json"], env=troot.env, capture_output=True, timeout=20
    )
    assert out.returncode == 0, out
    shown = json.loads(out.stdout.decode("utf-8"))  # strict UTF-8: no raw surrogates
    assert shown["duration_s"] is None  # NaN is not JSON: scripts (jq) would choke
    assert shown["reason"].startswith("bad ")


# ---- 6. tail never prints what a symlinked log points to --------------------


@pytest.mark.parametrize("log", ["stdout.log", "stderr.log"])
@pytest.mark.parametrize("kind", ["symlink", "fifo", "dir"])
def test_tail_refuses_a_log_that_is_not_a_regular_file(
    troot: Root, tmp_path: Path, log: str, kind: str
) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("root:SECRET:19000::::::\n")
    path = troot.run_dir("t") / log
    path.unlink()
    if kind == "symlink":
        path.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    extra = ["--stderr"] if log == "stderr.log" else []
    for follow in ([], ["-f"]):
        result = read(troot, "tail", *follow, *extra, "t")
        assert_one_line_error(result, log, "not a regular file", code=1)
        assert "SECRET" not in result.stdout + result.stderr


def test_tail_f_stops_when_the_log_is_swapped_for_a_symlink(troot: Root, tmp_path: Path) -> None:
    secret = tmp_path / "shadow"
    secret.write_text("SECRET\n")
    go, release = tmp_path / "go", tmp_path / "release"
    job = (
        f"echo first; while [ ! -e {go} ]; do sleep 0.02; done; "
        f"rm stdout.log; ln -s {secret} stdout.log; "
        f"while [ ! -e {release} ]; do sleep 0.02; done"
    )
    proc = troot.start("-n", "swap", "--", "sh", "-c", job)
    try:
        wait_for(lambda: troot.run_ids("swap"), what="the run")
        log = troot.run_dir("swap") / "stdout.log"
        wait_for(lambda: log.exists() and log.read_bytes() == b"first\n", what="first line")
        follower = troot.start("tail", "-f", "swap")
        assert follower.stdout.readline() == "first\n"
        go.touch()
        out, err = follower.communicate(timeout=20)
        result = subprocess.CompletedProcess(follower.args, follower.returncode, out, err)
        assert_one_line_error(result, "not a regular file", code=1)
        assert "SECRET" not in out + err
    finally:
        release.touch()
        proc.wait(timeout=30)
