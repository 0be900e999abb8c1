"""Duration baselines through the real CLI and a real HTTP receiver: a task of 30 runs
of 0.2 s flags a 2 s run and an instant one once each, and recovers from both (the
ratios of the issue's 1 s, 10 s and 0.05 s, made cheap)."""

from __future__ import annotations

import json

import pytest

from helpers.runs import Root
from helpers.sites import kept_changes


def cli(rw, *args: str):
    """`runwrap ARGS` (a subcommand: no -n)."""
    return Root.run(rw, *args)


def hook(url: str) -> dict:
    return {"notifiers": {"hook": {"type": "webhook", "url": url + "/hook"}}}


def sleep(rw, seconds: float, *extra: str):
    result = rw.run(*extra, "--notify", "hook", "--", "sleep", str(seconds))
    assert result.returncode == 0, result.stderr
    return result


def events(receiver) -> list[tuple[str, str | None]]:
    return [(p["event"], p.get("duration_flag")) for p in receiver.json()]


def test_slow_and_fast_runs_are_told_once_each_and_recover(rw, receiver):
    rw.config(hook(receiver.url))
    for _ in range(30):
        sleep(rw, 0.2)
    assert receiver.requests == []
    assert rw.state()["durations"][-1] >= 0.2
    sleep(rw, 2)
    assert events(receiver) == [("duration", "slow")]
    [slow] = receiver.json()
    assert slow["subject"].startswith("[runwrap] SLOW: job on ")
    assert "usually" in slow["text"] and "median of 20 runs" in slow["text"]
    # Surfaces: ls marks the last run's duration, show explains it, --json carries it.
    ls = cli(rw, "ls")
    assert " slow" in ls.stdout
    view = json.loads(cli(rw, "ls", "--json").stdout)
    [task] = [t for t in view if t["task"] == "job"]
    assert task["duration"]["flag"] == "slow"
    assert task["duration"]["baseline"]["runs"] == 20
    assert "Duration check: slow: took 2" in cli(rw, "show", "job").stdout
    sleep(rw, 2)  # slow again: still one notice
    assert len(receiver.requests) == 1
    sleep(rw, 0.2)
    assert events(receiver)[1:] == [("recovery", None)]
    assert "usual time again" in receiver.json()[1]["text"]
    assert " slow" not in cli(rw, "ls").stdout
    rw.run("--notify", "hook", "--", "true")
    rw.run("--notify", "hook", "--", "true")  # fast again: nothing more
    assert events(receiver)[2:] == [("duration", "fast")]
    sleep(rw, 0.2)
    assert events(receiver)[3:] == [("recovery", None)]
    assert len(receiver.requests) == 4


def test_explicit_bounds_flag_from_the_first_run(rw):
    # The default console (cron's mail) tells it too; config `duration:` is the same option.
    rw.config({"tasks": {"job": {"duration": "1s..1h"}}})
    told = rw.run("--", "true")
    assert told.stdout.startswith("[runwrap] FAST: job on "), told.stdout
    assert "expected 1 s..1 h" in told.stdout
    assert rw.run("--", "true").stdout == ""  # once
    assert rw.run("--expect-duration", "..1h", "--", "true").stdout.startswith(
        "[runwrap] RECOVERED: job on "
    )
    bad = rw.run("--expect-duration", "5m..1m", "--", "true")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "low bound is above" in bad.stderr


@pytest.mark.parametrize(
    "bounds, said",
    [("0..0", "flags every run"), ("..0s", "flags every run"), ("9999999999999d..", "over a year")],
)
def test_bounds_that_flag_every_run_or_cannot_be_printed_are_refused(rw, bounds, said):
    bad = rw.run("--expect-duration", bounds, "--", "true")
    assert bad.returncode == 125 and said in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert rw.manifests() == []  # refused before any run


def test_a_run_retried_until_it_succeeded_is_judged_by_its_last_attempt(rw, receiver, tmp_path):
    """The wait between attempts is not the job's time: a job of 0.2 s that failed once
    and succeeded after a 2 s retry delay is not slow, and its baseline stays the job's."""
    rw.config(hook(receiver.url))
    for _ in range(12):
        sleep(rw, 0.2)
    flag = tmp_path / "failed once"
    job = f"sleep 0.2; [ -e '{flag}' ] || {{ touch '{flag}'; exit 1; }}"
    result = rw.run(
        "--notify", "hook", "--retries", "1", "--retry-delay", "2s", "--", "sh", "-c", job
    )
    assert result.returncode == 0, result.stderr
    manifest = rw.manifest("job")
    assert len(manifest["attempts"]) == 2 and manifest["duration_s"] >= 2.2, manifest
    assert manifest["duration_check"]["flag"] is None, manifest["duration_check"]
    assert receiver.requests == []
    assert rw.state()["durations"][-1] < 1.5  # the last attempt's, not the run's 2.4 s
    # The site's own window (a failed run's "what changed" baseline) counts it the same.
    assert rw.run("--", "false").returncode == 1
    failed = rw.manifest("job")["run_id"]
    rw.sitegen(tmp_path / "site")
    changes = kept_changes(tmp_path / "site", "job")[failed]
    assert changes["duration"]["p95_s"] < 1.5, changes
