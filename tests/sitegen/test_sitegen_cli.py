"""The sitegen command over roots written by the real runwrap."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sitegen_fixtures import out, root
from sitegen_helpers import BIN, ENV, crawl, real_root, runwrap, sitegen, snapshot, wait_for

from sitegen.cli import parser


def test_builds_a_site_from_real_runwrap_runs_where_every_link_resolves(root, out):
    real_root(root)
    result = sitegen("--root", str(root), "--out", str(out), "--title", "Ops")
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


def test_a_second_build_after_a_new_run_equals_a_full_build(root, out, tmp_path):
    real_root(root)
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    runwrap(root, "report", "echo fixed")
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(root), "--out", str(fresh), "--full").returncode == 0
    assert snapshot(out) == snapshot(fresh)
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["report"]["state"] == "ok"


def _fails_with_one_line(result, *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sitegen: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_a_missing_root_is_one_clear_line(tmp_path):
    result = sitegen("--root", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    _fails_with_one_line(result, "does not exist")


def test_an_unwritable_out_is_one_clear_line(root, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = sitegen("--root", str(root), "--out", str(blocker / "site"))
    _fails_with_one_line(result, "cannot create output directory")


def test_a_file_in_the_way_in_out_is_one_clear_line(root, out):
    out.mkdir(exist_ok=True)
    (out / "static").write_text("not a directory")
    result = sitegen("--root", str(root), "--out", str(out))
    _fails_with_one_line(result, "static")


def test_a_malformed_config_is_one_clear_line(root, out, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("site: [unclosed\n")
    result = sitegen("--root", str(root), "--out", str(out), "--config", str(config))
    _fails_with_one_line(result, "malformed config file")


def test_an_out_inside_the_runs_is_refused(root, tmp_path):
    runwrap(root, "job", "true")
    run = next((root / "tasks" / "job" / "runs").iterdir())
    result = sitegen("--root", str(root), "--out", str(run / "site"))
    _fails_with_one_line(result, "inside the run root")
    assert not (run / "site").exists()


def test_no_out_anywhere_is_one_clear_line(root):
    _fails_with_one_line(sitegen("--root", str(root)), "--out")


def test_the_config_file_gives_out_title_and_descriptions(root, tmp_path):
    runwrap(root, "backup", "true")
    out = tmp_path / "from-config"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"root: {root}\n"
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


def test_sigterm_stops_a_long_build_and_the_next_build_completes_it(root, out, tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from make_synthetic_root import make_root

    make_root(str(root), 40, 100)
    proc = subprocess.Popen(
        [str(BIN / "sitegen"), "--root", str(root), "--out", str(out)],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: (out / "tasks").exists(), what="the build to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in proc.stderr.read()
    assert sitegen("--root", str(root), "--out", str(out)).returncode == 0
    fresh = tmp_path / "fresh"
    assert sitegen("--root", str(root), "--out", str(fresh)).returncode == 0
    assert snapshot(out) == snapshot(fresh)


def test_an_unknown_theme_is_one_clear_line(root, out):
    _fails_with_one_line(
        sitegen("--root", str(root), "--out", str(out), "--theme", "nope"), "theme"
    )


def test_poll_without_watch_is_a_usage_error(root, out):
    result = sitegen("--root", str(root), "--out", str(out), "--poll")
    assert result.returncode == 2 and "--poll needs --watch" in result.stderr
