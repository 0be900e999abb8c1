"""`runwrap diff TASK --against RUN` names RUN for what it is, and RUN must be a run.

Before: whatever --against named, the first line said "compared with run X, the
last success" (whatchanged.describe's one wording), also when X failed or was the
run itself; and --against (like RUN) took a task's name for its latest run (query.
find_run's TASK|RUN_ID), so `diff job --against job` compared the latest run with
itself and called it the last success, and `diff job nosuch` said "no task
'nosuch'".
"""

from __future__ import annotations

from helpers.runs import Root


def _fail(root: Root, code: int):
    result = root.run("-n", "job", "--", "sh", "-c", f"echo 'broke {code}' >&2; exit {code}")
    assert result.returncode == code, result.stderr
    return root.manifests("job")[-1]["run_id"]


def test_against_a_failed_run_is_not_called_the_last_success(root: Root) -> None:
    assert root.run("-n", "job", "--", "true").returncode == 0
    first = _fail(root, 3)
    _fail(root, 4)
    shown = root.run("diff", "job", "--against", first)
    assert shown.returncode == 0, shown.stderr
    assert f"compared with run {first}" in shown.stdout
    assert "the last success" not in shown.stdout.splitlines()[1], shown.stdout


def test_against_and_run_take_run_ids_not_task_names(root: Root) -> None:
    assert root.run("-n", "job", "--", "true").returncode == 0
    _fail(root, 3)
    itself = root.run("diff", "job", "--against", "job")
    assert itself.returncode != 0, itself.stdout  # not the latest run against itself
    assert itself.stdout == ""
    missing = root.run("diff", "job", "nosuch")
    assert missing.returncode != 0
    assert "no task" not in missing.stderr, missing.stderr  # the task is there; the run is not
    assert "nosuch" in missing.stderr
