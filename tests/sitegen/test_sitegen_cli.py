"""The sitegen command over roots written by the real runwrap."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from pathlib import Path
from urllib.parse import unquote

from markupsafe import escape

from runwrap.errors import ExitCode
from runwrap.notify.message import context, run_url
from sitegen.cli import parser

from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.sites import (
    ENV,
    crawl,
    make_root,
    real_root,
    runwrap,
    sitegen,
    snapshot,
    start_runwrap,
)


# The fixtures (run_root, out, ...) come from one plugin module, for every sitegen test.
def test_builds_a_site_from_real_runwrap_runs_where_every_link_resolves(run_root, out):
    real_root(run_root)
    result = sitegen("--root", str(run_root), "--out", str(out), "--title", "Ops")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # cron mails any output: a one-shot build is quiet
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["backup"]["state"] == "ok"
    assert status["tasks"]["report"]["state"] == "failing"
    assert status["tasks"]["slow job"]["last_status"] == "timeout"
    reached, broken = crawl(out)
    assert broken == []
    assert any(p.name == "data.csv" for p in reached)
    dashboard = (out / "index.html").read_text()
    assert "Ops" in dashboard and "slow%20job" in dashboard
    backup = status["tasks"]["backup"]["last_run"]["url"]
    run_page = (out / backup).read_text()
    assert "<h1>Report</h1>" in run_page and "again" in run_page


def test_a_second_build_after_a_new_run_equals_a_full_build(run_root, out, tmp_path):
    real_root(run_root)
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    runwrap(run_root, "report", "echo fixed")
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(run_root), "--out", str(fresh), "--full").returncode == 0
    assert snapshot(out) == snapshot(fresh)
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["report"]["state"] == "ok"


def test_state_and_since_are_those_of_runwrap_state_json(run_root, out, tmp_path):
    runs = run_root / "tasks" / "job" / "runs"

    def agree() -> dict:
        assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
        state = json.loads((runs.parent / "state.json").read_text())
        shown = json.loads((out / "status.json").read_text())["tasks"]["job"]
        assert shown["state"] == ("ok" if state["status"] == "success" else "failing")
        assert (shown["last_status"], shown["since"]) == (state["status"], state["since"])
        return state

    runwrap(run_root, "job", "true")
    agree()
    runwrap(run_root, "job", "exit 1")
    failing_since = agree()["since"]
    runwrap(run_root, "job", "sleep 5", "--timeout", "0.3s")
    assert agree()["since"] == failing_since  # a failure then a timeout: one failing period
    # Runs that overlap count in the order they began (seq), whatever order they end in:
    # the one started last decides, even when the one started first ends after it.
    release = tmp_path / "release"
    slow = start_runwrap(
        run_root,
        "job",
        f"while [ ! -e {release} ]; do sleep 0.02; done; exit 3",
        "--overlap",
        "allow",
    )
    try:
        wait_for(
            lambda: len([r for r in runs.iterdir() if r.name[0] != "."]) == 4, what="the slow run"
        )
        assert runwrap(run_root, "job", "true", "--overlap", "allow").returncode == 0
        assert agree()["status"] == "success"
    finally:
        release.touch()
        slow.wait(timeout=30)
    assert slow.returncode == 3
    assert agree()["status"] == "success"


def test_the_run_page_shows_what_the_notifiers_were_told(run_root, out, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("notifiers:\n  pager:\n    type: command\n    command: 'exit 3'\n")
    result = runwrap(run_root, "job", "exit 1", "--config", str(config), "--notify", "pager")
    assert result.returncode == 1, result.stderr
    run = next((run_root / "tasks" / "job" / "runs").iterdir())
    assert json.loads((run / "notifications.json").read_text())[0]["notifier"] == "pager"
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    html = (out / "tasks" / "job" / "runs" / run.name / "index.html").read_text()
    assert "<h2>Notifications</h2>" in html and "pager" in html and "failure" in html


def test_a_notices_link_is_the_runs_page_in_the_site(run_root, out):
    runwrap(run_root, "db backup", "true")
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    last = json.loads((out / "status.json").read_text())["tasks"]["db backup"]["last_run"]
    link = run_url("https://jobs.example/dash/", "db backup", last["run_id"])
    rel = link.removeprefix("https://jobs.example/dash/")
    assert rel + "index.html" == last["url"]
    assert (out / unquote(rel) / "index.html").is_file()


def _fails_with_one_line(result, *words: str) -> None:
    assert result.returncode == ExitCode.USAGE == 125  # bad input: runwrap's code, shared
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sitegen: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_a_missing_root_is_one_clear_line(tmp_path):
    result = sitegen("--root", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    _fails_with_one_line(result, "does not exist")


def test_an_unwritable_out_is_one_clear_line(run_root, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = sitegen("--root", str(run_root), "--out", str(blocker / "site"))
    _fails_with_one_line(result, "cannot create output directory")


def test_a_file_in_the_way_in_out_is_one_clear_line(run_root, out):
    out.mkdir(exist_ok=True)
    (out / "static").write_text("not a directory")
    result = sitegen("--root", str(run_root), "--out", str(out))
    _fails_with_one_line(result, "static")


def test_a_malformed_config_is_one_clear_line(run_root, out, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("site: [unclosed\n")
    result = sitegen("--root", str(run_root), "--out", str(out), "--config", str(config))
    _fails_with_one_line(result, "malformed config file")


def test_an_out_inside_the_runs_is_refused(run_root, tmp_path):
    runwrap(run_root, "job", "true")
    run = next((run_root / "tasks" / "job" / "runs").iterdir())
    result = sitegen("--root", str(run_root), "--out", str(run / "site"))
    _fails_with_one_line(result, "inside the run root")
    assert not (run / "site").exists()


def test_no_out_anywhere_is_one_clear_line(run_root):
    _fails_with_one_line(sitegen("--root", str(run_root)), "--out")


def test_the_config_root_is_found_as_runwrap_finds_it_with_a_tilde_too(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in ENV.items() if k != "RUNWRAP_ROOT"} | {"HOME": str(home)}
    config = tmp_path / "config.yaml"
    config.write_text("root: ~/runs\nsite: {out: ~/site}\n")
    ran = subprocess.run(
        [str(BIN / "runwrap"), "--config", str(config), "-n", "job", "--", "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert (home / "runs" / "tasks" / "job").is_dir()
    result = sitegen("--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    status = json.loads((home / "site" / "status.json").read_text())
    assert status["tasks"]["job"]["state"] == "ok"


def test_the_config_file_gives_out_title_and_descriptions(run_root, tmp_path):
    runwrap(run_root, "backup", "true")
    out = tmp_path / "from-config"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"root: {run_root}\n"
        f"site: {{out: {out}, title: From Config}}\n"
        "tasks:\n  backup:\n    description: 'Nightly **backup** <script>x</script>'\n"
    )
    assert sitegen("--config", str(config)).returncode == 0
    assert "From Config" in (out / "index.html").read_text()
    task = (out / "tasks" / "backup" / "index.html").read_text()
    assert "<strong>backup</strong>" in task and "<script>x" not in task


def test_every_option_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "sitegen.md").read_text()
    for action in parser()._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert flag in doc, flag


def test_sigterm_stops_a_long_build_and_the_next_build_completes_it(run_root, out, tmp_path):
    tasks = 12
    make_root(run_root, tasks, 40)
    proc = subprocess.Popen(
        [str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out)],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: the build and its workers, nothing else
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or any(out.glob("tasks/*/runs/*/index.html")),
            interval=0.005,
            what="the build to write its first run page",
        )
        assert proc.poll() is None, "the build ended before it was seen writing"
        # Frozen while it writes, the build is signalled mid-way for sure: a task page
        # is written as its task ends, and two tasks left mean one more check for a stop.
        os.killpg(proc.pid, signal.SIGSTOP)
        done = len(list(out.glob("tasks/*/index.html")))
        assert done <= tasks - 2, f"{done} of {tasks} tasks were built before the signal"
        proc.send_signal(signal.SIGTERM)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in proc.stderr.read()
    assert not (out / ".sitegen" / "summary.pack").exists()  # it stopped before the end
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(run_root), "--out", str(fresh)).returncode == 0
    assert snapshot(out) == snapshot(fresh)


def test_an_unknown_theme_is_one_clear_line(run_root, out):
    _fails_with_one_line(
        sitegen("--root", str(run_root), "--out", str(out), "--theme", "nope"), "theme"
    )


def test_poll_without_watch_is_a_usage_error(run_root, out):
    result = sitegen("--root", str(run_root), "--out", str(out), "--poll")
    _fails_with_one_line(result, "--poll needs --watch")


def test_a_bad_command_line_is_one_line_and_125_like_runwrap(run_root, out):
    _fails_with_one_line(sitegen("--root", str(run_root), "--no-such-option"), "--no-such-option")
    _fails_with_one_line(sitegen("--publish", "carrier-pigeon"), "--publish")


def test_the_command_is_shown_alike_on_the_run_page_and_in_a_notice(run_root, out):
    runwrap(run_root, "job", "echo 'a b' \"$HOME\"")
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    run = next((run_root / "tasks" / "job" / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    told = context("failure", manifest, None, {})["command"]
    assert told == shlex.join(manifest["command"])
    page = (out / "tasks" / "job" / "runs" / run.name / "index.html").read_text()
    assert str(escape(told)) in page  # as jinja2 escapes it
