"""The wall clock steps (an RTC wrong at boot, NTP fixing it, a hand-set date):
heartbeat timeouts, durations and ages follow the monotonic clock.

runwrap runs under libfaketime (Debian's `faketime`) with the monotonic
clock left alone and the wall clock read from a file the test rewrites
mid-run: a step forward or back of hours, while the job runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from helpers.clock import LIBFAKETIME
from helpers.faults import figure
from helpers.polling import wait_for
from helpers.runs import Root


@pytest.fixture
def clock(root: Root, tmp_path: Path) -> Path:
    """The file holding runwrap's wall-clock offset (a FAKETIME spec, read at every call)."""
    if LIBFAKETIME is None:
        reason = f"no {LIBFAKETIME} (Debian package faketime): the clock matrix needs it"
        print(reason)
        pytest.skip(reason)
    spec = tmp_path / "faketime"
    spec.write_text("+0\n")
    root.env = {
        **root.env,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_TIMESTAMP_FILE": str(spec),
        "FAKETIME_NO_CACHE": "1",
    }
    return spec


def _step(clock: Path, spec: str) -> None:
    tmp = clock.with_suffix(".tmp")
    tmp.write_text(spec + "\n")
    os.replace(tmp, clock)


def _beats(root: Root, task: str) -> int:
    live = [m for m in root.manifests_so_far(task) if m["status"] == "running"]
    return int(live[-1].get("feedback", {}).get("n", 0)) if live else 0


# A job (without libfaketime) beating every 0.05 s until the test releases it.
BEATING = (
    "i=0; while [ ! -e {release} ]; do i=$((i+1)); "
    'echo "[n]$i" >> "$RUNWRAP_FEEDBACK"; sleep 0.05; done'
)


@pytest.mark.parametrize("step", ["+3h", "-3h", "+400d"])
def test_a_beating_job_survives_a_clock_step(
    root: Root, tmp_path: Path, clock: Path, step: str
) -> None:
    release = tmp_path / "release"
    job = BEATING.format(release=release)
    proc = root.start(
        "-n", "t", "--heartbeat-timeout", "2", "--", "env", "-u", "LD_PRELOAD", "sh", "-c", job
    )
    wait_for(lambda: _beats(root, "t") > 3 or proc.poll() is not None, what="first beats")
    _step(clock, step)
    at_step = _beats(root, "t")
    # 3 s of beats after the step (more than the heartbeat limit), as runwrap saw them.
    wait_for(
        lambda: _beats(root, "t") > at_step + 60 or proc.poll() is not None,
        what="beats after the step",
    )
    release.touch()
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    m = root.manifest("t")
    assert m["status"] == "success", m.get("reason")
    assert 0 <= m["duration_s"] < 600, m["duration_s"]
    figure(f"clock step {step} while a job beats (limit 2 s): success, duration {m['duration_s']}")


@pytest.mark.parametrize("step", ["-3h", "+3h"])
def test_a_silent_job_is_still_stopped_after_a_clock_step(
    root: Root, tmp_path: Path, clock: Path, step: str
) -> None:
    job = 'echo "[n]1" >> "$RUNWRAP_FEEDBACK"; exec sleep 20'
    proc = root.start(
        "-n", "t", "--heartbeat-timeout", "1.5", "--kill-grace", "0.2", "--",
        "env", "-u", "LD_PRELOAD", "sh", "-c", job,
    )  # fmt: skip
    wait_for(lambda: _beats(root, "t") or proc.poll() is not None, what="the one beat")
    _step(clock, step)
    assert proc.wait(timeout=30) == 124, proc.stderr.read()
    m = root.manifest("t")
    assert m["status"] == "timeout"
    assert m["reason"].endswith("without heartbeat")
    # Stopped for about 1.5 s of silence, not for hours of wall clock.
    silence = re.fullmatch(r"killed after ([0-9.]+) s without heartbeat", m["reason"])
    assert silence and 1.5 <= float(silence[1]) < 60, m["reason"]
    assert 0 <= m["duration_s"] < 15, m["duration_s"]
    figure(f"clock step {step} during a silent job (limit 1.5 s): {m['reason']}")


def test_durations_never_go_negative_after_a_step_back(
    root: Root, tmp_path: Path, clock: Path
) -> None:
    release = tmp_path / "release"
    proc = root.start(
        "-n", "t", "--", "env", "-u", "LD_PRELOAD", "sh", "-c",
        f"while [ ! -e {release} ]; do sleep 0.02; done",
    )  # fmt: skip
    wait_for(lambda: root.manifests_so_far("t"), what="the run recorded")
    _step(clock, "-2h")
    release.touch()
    assert proc.wait(timeout=30) == 0
    m = root.manifest("t")
    assert 0 <= m["duration_s"] < 600, m["duration_s"]
    figure(f"clock step -2h during a run: duration_s {m['duration_s']} (not -7200)")
