"""The consistency oracle: after every step of a random history, every surface tells one story.

A seeded, replayable sequence of events runs on a real ROOT through the real
runwrap: successes and failures, a job slower than its period with skipped
ticks, timeouts, heartbeat timeouts, operator kills and kills from elsewhere,
runwrap SIGKILLed, retries, retention, mutes, acks, retired tasks, a scheduled task whose cron stopped (a run dated in the
past) and recovered. After each step every surface is read and parsed:
`ls --json`, `show --json`, `history --json`, `check`, and what sitegen built
(status.json, the dashboard's rows and totals, each task page, the metrics,
the feeds). They must agree on each task's state, since, last run, running
and lost runs, lateness and the counts.

The readers run in this process (the same code as the installed commands;
starting a dozen processes a step would make the suite minutes longer).
A failure prints its seed: ORACLE_SEED=<seed> replays it, ORACLE_STEPS sets
the length (`make faults` runs it long through FAULTS_SCALE).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
from pathlib import Path

import pytest

from runwrap import cli as runwrap_cli
from runwrap.store.layout import run_ids_in
from sitegen import cli as sitegen_cli

from helpers.clock import needs_libfaketime, shifted
from helpers.polling import wait_for
from helpers.runs import RUNWRAP

TASKS = ("quick", "sched", "slow", "kept")
SCALE = int(os.environ.get("FAULTS_SCALE", "1"))
STEPS = int(os.environ.get("ORACLE_STEPS", str(120 * SCALE)))
SCHEDULE = ("--schedule", "* * * * *", "--grace", "20s")
UNSHARE = ["unshare", "--uts", "--pid", "--mount", "--fork", "--mount-proc"]
_NAMESPACES: list[bool] = []


def _namespaces() -> bool:
    """Whether pods can be made here (namespaces: root); the "pod" event is skipped if not."""
    if not _NAMESPACES:
        probe = subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=30)
        _NAMESPACES.append(probe.returncode == 0)
    return _NAMESPACES[0]


def _call(main, argv: list[str]) -> tuple[int, str]:
    """Run a command's entry point here, with its stdout (text or bytes) captured."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    out.flush()
    return code, raw.getvalue().decode("utf-8")


class World:
    """A ROOT, an OUT, the runwrap processes still going, and a random source."""

    def __init__(self, tmp: Path, rng: random.Random) -> None:
        self.root, self.out, self.tmp, self.rng = tmp / "root", tmp / "site", tmp, rng
        self.root.mkdir()  # a first step that runs nothing ("release" with none) reads it
        self.env = {
            **os.environ,
            "RUNWRAP_ROOT": str(self.root),
            "RUNWRAP_CONFIG": "/dev/null",
            "XDG_CACHE_HOME": str(tmp / "cache"),
        }
        self.slow: tuple[subprocess.Popen, Path] | None = None
        self.log: list[str] = []

    # -- events ---------------------------------------------------------------

    def run(self, task: str, *args: str, env: dict | None = None) -> int:
        cmd = [RUNWRAP, "-n", task, *args]
        done = subprocess.run(cmd, env=env or self.env, capture_output=True, timeout=60)
        assert b"Traceback" not in done.stderr, done.stderr
        return done.returncode

    def start(self, task: str, *args: str) -> subprocess.Popen:
        # Its own run, not an older one still `running` on disk (lost, not finalized yet).
        before = set(run_ids_in(str(self.root / "tasks" / task / "runs")))
        proc = subprocess.Popen(
            [RUNWRAP, "-n", task, *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self._running_pid(task, before) or proc.poll() is not None, what="the job")
        return proc

    def _lost(self, task: str, run_id: str) -> bool:
        _code, text = _call(runwrap_cli.main, ["--root", str(self.root), "ls", "--json"])
        return any(v["task"] == task and run_id in v["lost"] for v in json.loads(text))

    def _running_pid(self, task: str, older: set[str]) -> int | None:
        runs = self.root / "tasks" / task / "runs"
        for run_id in reversed(run_ids_in(str(runs))):
            if run_id in older:
                continue
            try:
                m = json.loads((runs / run_id / "manifest.json").read_text())
            except (OSError, ValueError):
                continue
            if m.get("status") == "running" and m.get("pid"):
                return m["pid"]
        return None

    def step(self) -> str:
        rng = self.rng
        kind = rng.choice(
            ["ok", "ok", "fail", "fail", "timeout", "heartbeat", "retry", "kill", "sigkill",
             "slow", "tick", "release", "keep", "past", "sched", "pod", "fast", "term", "mute",
             "ack", "retire"]
        )  # fmt: skip
        task = rng.choice(("quick", "kept"))
        if kind == "ok":
            self.run(task, "--", "true")
        elif kind == "fail":
            self.run(task, "--", "sh", "-c", "echo boom >&2; exit 3")
        elif kind == "fast":  # a success far below its bounds: flagged fast (issue 22)
            self.run(task, "--expect-duration", "1h..", "--", "true")
        elif kind == "timeout":
            self.run(task, "--timeout", "0.2s", "--", "sleep", "5")
        elif kind == "heartbeat":
            self.run(task, "--heartbeat-timeout", "0.3s", "--", "sleep", "5")
        elif kind == "retry":
            self.run(task, "--retries", "1", "--retry-delay", "0.05s", "--", "sh", "-c", "exit 2")
        elif kind == "kill":  # an operator's kill: the task's health stays what it was
            proc = self.start(task, "--", "sleep", "30")
            why = ("--reason", "oracle") if rng.random() < 0.5 else ()
            subprocess.run(
                [RUNWRAP, "kill", task, *why], env=self.env, capture_output=True, timeout=60
            )
            proc.wait(timeout=30)
        elif kind == "term":  # a TERM from elsewhere (a shutdown): a failure as before
            proc = self.start(task, "--", "sleep", "30")
            proc.terminate()
            proc.wait(timeout=30)
        elif kind in ("mute", "ack", "retire"):
            # What operators say: refused at times (ack of a task that is not failing,
            # retire of one that runs, unmute of what is not muted), never a traceback.
            words = {
                "mute": rng.choice(
                    (
                        ["mute", task, "--for", "1h", "--reason", "oracle"],
                        ["mute", "--all", "--for", "1h", "--reason", "all of them"],
                        ["unmute", task],
                        ["unmute", "--all"],
                    )
                ),
                "ack": ["ack", task, "--reason", "known"],
                "retire": ["retire", task, *(["--delete-runs"] if rng.random() < 0.3 else [])],
            }[kind]
            done = subprocess.run([RUNWRAP, *words], env=self.env, capture_output=True, timeout=60)
            assert b"Traceback" not in done.stderr, done.stderr
        elif kind == "sigkill":
            # runwrap dies before its watcher is forked: the run is lost until the next one.
            proc = self.start(task, "--", "sleep", "30")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        elif kind == "pod" and _namespaces():
            # A pod (another hostname and PID space) dies whole mid-run: its run is judged
            # by its lease, and read once it lapsed (lost on every surface, not finalized).
            pod = subprocess.Popen(
                [*UNSHARE, "sh", "-c", f"hostname pod; {RUNWRAP} -n {task} --lease 1s -- sleep 30"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            opened = self.root / "tasks" / task / "open"

            def marked() -> set[str]:  # runs, not claims (<run_id>~<taker>) of lost ones
                names = os.listdir(opened) if opened.exists() else []
                return {name for name in names if "~" not in name}

            before = marked()
            run_id = wait_for(lambda: marked() - before, what="pod").pop()
            # Its manifest too (the marker comes first): a run, not a birth.
            manifest = self.root / "tasks" / task / "runs" / run_id / "manifest.json"
            wait_for(manifest.exists, what="the pod's run")
            children = Path(f"/proc/{pod.pid}/task/{pod.pid}/children").read_text().split()
            os.kill(int(children[0]), signal.SIGKILL)  # its PID 1: the whole pod goes
            pod.wait(timeout=30)
            wait_for(lambda: self._lost(task, run_id), what="the pod's run lost")
        elif kind == "slow" and self.slow is None:
            gate = self.tmp / f"gate-{len(self.log)}"
            code = rng.choice((0, 4))
            script = f"while [ ! -e {gate} ]; do sleep 0.02; done; exit {code}"
            self.slow = (self.start("slow", *SCHEDULE, "--", "sh", "-c", script), gate)
        elif kind == "tick":
            self.run("slow", *SCHEDULE, "--", "true")  # skipped while the slow one runs
        elif kind == "release" and self.slow is not None:
            proc, gate = self.slow
            gate.touch()
            proc.wait(timeout=30)
            self.slow = None
        elif kind == "keep":
            self.run("kept", "--keep", "2", "--", "sh", "-c", rng.choice(("true", "exit 1")))
        elif kind == "past":
            # A run dated 10 minutes back (its cron stopped since): late now, in seq order newest.
            past = [RUNWRAP, "-n", "sched", *SCHEDULE, "--", "true"]
            subprocess.run(past, env=shifted(self.env, "-600s"), capture_output=True, timeout=60)
        elif kind == "sched":
            self.run("sched", *SCHEDULE, "--", "sh", "-c", rng.choice(("true", "exit 5")))
        self.log.append(f"{kind}:{task}")
        return kind

    def finish(self) -> None:
        if self.slow is not None:
            self.slow[1].touch()
            self.slow[0].wait(timeout=30)
        for task in TASKS:  # finalizes what a SIGKILLed runwrap left, stops its leftovers
            self.run(task, "--", "true")

    # -- the surfaces -----------------------------------------------------------

    def late_now(self) -> dict:
        _code, text = _call(runwrap_cli.main, ["--root", str(self.root), "ls", "--json"])
        return {v["task"]: v["late"] for v in json.loads(text)}

    def read(self) -> dict:
        """Every surface, parsed."""
        root = str(self.root)
        code, text = _call(runwrap_cli.main, ["--root", root, "ls", "--json"])
        assert code == 0
        ls = {v["task"]: v for v in json.loads(text)}
        shown, history = {}, {}
        for task in ls:
            code, text = _call(runwrap_cli.main, ["--root", root, "show", "--json", task])
            shown[task] = json.loads(text) if code == 0 else None
            code, text = _call(runwrap_cli.main, ["--root", root, "history", "--json", task])
            assert code == 0
            history[task] = json.loads(text)
        code, text = _call(runwrap_cli.main, ["--root", root, "check", "--notify", "none"])
        late_lines = {line.split(":")[0] for line in text.splitlines() if "late since" in line}
        check = (code, late_lines)
        code, _ = _call(sitegen_cli.main, ["--root", root, "--out", str(self.out), "-q"])
        assert code == 0
        status = json.loads((self.out / "status.json").read_text())
        return {
            "ls": ls,
            "show": shown,
            "history": history,
            "check": check,
            "status": status,
            "dashboard": (self.out / "index.html").read_text(),
            "pages": {t: _text(self.out / "tasks" / t / "index.html") for t in ls},
            "feeds": {t: _text(self.out / "tasks" / t / "feed.atom") for t in ls},
            "metrics": _text(self.out / "metrics"),
            "dirs": sorted(os.listdir(self.root / "tasks"))
            if (self.root / "tasks").exists()
            else [],
        }


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


_ROW = re.compile(
    r'<tr class="task state-(?P<shown>\w+)" data-task="(?P<task>[^"]+)" data-state="(?P<state>\w+)"'
    r' data-running="(?P<running>1?)" data-late="(?P<late>1?)"'
)
_H1 = re.compile(r'<h1><span class="status s-(\w+)"')
_ENTRY = re.compile(
    r"<entry>.*?<title>(?P<title>[^<]*)</title>.*?<updated>(?P<at>[^<]*)</updated>", re.S
)


def _metric(text: str, family: str, task: str, extra: str = "") -> float | None:
    m = re.search(rf'^runwrap_task_{family}{{task="{re.escape(task)}"{extra}}} (\S+)$', text, re.M)
    return None if m is None else float(m.group(1))


def _key(run: dict) -> tuple[int, str]:
    seq = run.get("seq")
    return (seq if isinstance(seq, int) else 0, run["run_id"])


def assert_one_story(s: dict) -> None:
    """Every surface agrees with `ls --json` (itself the store's read model) on every task."""
    ls, status = s["ls"], s["status"]
    assert set(status["tasks"]) == set(ls)
    rows = {m["task"]: m for m in _ROW.finditer(s["dashboard"])}
    assert set(rows) == set(ls)
    for task, v in ls.items():
        t = status["tasks"][task]
        what = f"task {task}: ls {v} status.json {t}"
        # The bucket, the word lists show, since, the last run, running and lost, late.
        assert (t["state"], t["shown"], t["since"]) == (v["state"], v["shown"], v["since"]), what
        assert v["state"] in ("failing", "unreadable", "ok", "never"), what
        assert t["last_status"] == v["status"], what
        last = v["last_run"]
        assert (t["last_run"] or {}).get("run_id") == (last or {}).get("run_id"), what
        assert t["running"] == v["running"] and t["lost"] == v["lost"], what
        assert t["late"] == v["late"], what
        # The last run's duration verdict (slow, fast or none), one for every surface.
        flag = v["duration"]["flag"]
        assert t["duration"]["flag"] == flag == (t["last_run"] or {}).get("duration_flag"), what
        shown_run = s["show"][task] or {}
        if flag is not None and shown_run.get("run_id") == (last or {}).get("run_id"):
            assert (shown_run.get("duration_check") or {}).get("flag") == flag, what
        # What operators said: the silence, the ack, an operator's kill of the last run.
        assert (t["muted"], t["ack"]) == (v["muted"], v["ack"]), what
        assert (t["last_run"] or {}).get("stopped_by") == (
            (last or {}).get("stopped_by") or {}
        ).get("by"), what
        assert ("muted until" in s["pages"][task]) == bool(v["muted"]), what
        if v["ack"] is not None:
            assert v["state"] == "failing" and v["ack"]["failing_since"] == v["failing_since"]
        if v["state"] != "failing":
            assert v["failing_since"] is None and v["consecutive_failures"] == 0, what
        if v["state"] == "never":  # no run told its health: none, or operators' kills only
            assert v["since"] is None and (last is None or last["stopped_by"]), what
        # A skipped tick is never the last run.
        assert last is None or last["status"] != "skipped", what
        # The dashboard's row and the task page.
        row = rows[task]
        assert (row["shown"], row["state"]) == (v["shown"], v["shown"]), what
        assert (row["running"] == "1") == bool(v["running"]), what
        assert (row["late"] == "1") == v["late"], what
        h1 = _H1.search(s["pages"][task])
        assert h1 is not None and h1.group(1) == v["shown"], what
        # history: every run known; running and lost as ls says; the last run as recorded.
        runs = {h["run_id"]: h for h in s["history"][task]}
        # ... newest first in the order the runs began (seq), whatever the clock said.
        keys = [_key(h) for h in s["history"][task]]
        assert keys == sorted(keys, reverse=True), what
        assert {i for i, h in runs.items() if h["status"] == "running"} == set(v["running"]), what
        assert set(v["lost"]) <= {i for i, h in runs.items() if h["status"] == "lost"}, what
        if last is not None:
            assert runs[last["run_id"]]["status"] == last["status"], what
        # show TASK: the latest real run by seq (running, lost or the last finished).
        candidates = [runs[i] for i in [*v["running"], *v["lost"]]]
        if last is not None:
            candidates.append(runs[last["run_id"]])
        if candidates:
            expected = max(candidates, key=_key)
            assert s["show"][task]["run_id"] == expected["run_id"], what
            assert s["show"][task]["status"] == expected["status"], what
        # check and the metrics.
        assert (task in s["check"][1]) == v["late"], what
        metrics = s["metrics"]
        if v["state"] == "unreadable":  # nothing else is said of it, no zero that looks healthy
            assert _metric(metrics, "unreadable", task) == 1, what
            assert _metric(metrics, "consecutive_failures", task) is None, what
            continue
        assert _metric(metrics, "consecutive_failures", task) == v["consecutive_failures"], what
        assert _metric(metrics, "running", task) == len(v["running"]), what
        if v["lateness"] is not None:
            assert _metric(metrics, "late", task) == float(v["late"]), what
        if last is not None:
            assert _metric(metrics, "last_run_status", task, f',status="{last["status"]}"') == 1
        for name in ("slow", "fast"):
            one = _metric(metrics, "last_run_duration_flag", task, f',flag="{name}"')
            assert one == float(flag == name), what
        # The feed has the change that began the task's current health (its entries are
        # dated by wall clock: a run dated in the past is not the newest there).
        # (Unless retention removed the run it began with: the feed has only what is kept.)
        entries = [e for e in _ENTRY.finditer(s["feeds"][task]) if ": late (" not in e["title"]]
        kept = {h.get("started_at") for h in runs.values()}
        if entries and v["since"] in kept:
            assert v["since"] in {e["at"] for e in entries}, what
    # A retired task is on no surface (it has a directory, not a row, a page or a metric).
    for task in set(s["dirs"]) - set(ls):
        assert _metric(s["metrics"], "running", task) is None, task
        assert task not in s["check"][1] and f'data-task="{task}"' not in s["dashboard"], task
    # The counts: buckets partition the tasks; running and late are counted beside them.
    totals = status["totals"]
    buckets = ("failing", "unreadable", "ok", "never")
    assert sum(totals[b] for b in buckets) == totals["tasks"] == len(ls)
    for bucket in buckets:
        assert totals[bucket] == sum(v["state"] == bucket for v in ls.values())
    assert totals["running"] == sum(bool(v["running"]) for v in ls.values())
    assert totals["late"] == sum(v["late"] for v in ls.values())
    for name in ("failing", "ok", "running"):
        m = re.search(rf'class="n-{name}">(\d+)<', s["dashboard"])
        assert m is not None and int(m.group(1)) == totals[name], name
    if any(v["state"] == "unreadable" for v in ls.values()):
        assert s["check"][0] == 2  # ExitCode.UNREADABLE, whatever else holds
    else:
        assert s["check"][0] == (1 if any(v["late"] for v in ls.values()) else 0)


def _late(s: dict) -> dict:
    return {t: v["late"] for t, v in s["ls"].items()}


@needs_libfaketime
@pytest.mark.timeout(1200)
def test_every_surface_tells_one_story_after_every_step(tmp_path: Path) -> None:
    seed = int(os.environ.get("ORACLE_SEED", str(random.randrange(1 << 30))))
    world = World(tmp_path, random.Random(seed))
    kinds: set[str] = set()
    try:
        for number in range(STEPS):
            kinds.add(world.step())
            for _attempt in range(3):
                # Lateness moves with the clock: a read across the moment a task turns
                # late is read again (without a new run nothing turns it back).
                before = world.read()
                if _late(before) == world.late_now():
                    break
            try:
                assert_one_story(before)
            except AssertionError as e:
                raise AssertionError(
                    f"ORACLE_SEED={seed}, step {number} ({world.log[-5:]}): {e}"
                ) from None
        world.finish()
        assert_one_story(world.read())
    finally:
        if world.slow is not None:
            world.slow[1].touch()
    # The history was varied: the events that make the cases above happened.
    assert {"fail", "ok", "kill", "sigkill"} <= kinds or STEPS < 60, (seed, kinds)
