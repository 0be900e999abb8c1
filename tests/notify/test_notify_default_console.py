"""cron's MAILTO works by default: with no notifier configured, runwrap prints one notice
when a task breaks and one when it heals, and nothing in between (cron mails what it prints)."""

from __future__ import annotations


def fail(rw, *extra: str):
    return rw.run(*extra, "--", "sh", "-c", "echo 'disk full' >&2; exit 3")


def ok(rw, *extra: str):
    return rw.run(*extra, "--", "true")


def test_one_notice_on_the_first_failure_none_while_failing_one_on_recovery(rw):
    assert ok(rw).stdout == ""  # a first run that succeeds says nothing
    first = fail(rw)
    assert first.returncode == 3  # the job's own status, as before
    assert first.stdout.startswith("[runwrap] FAILED: job on ")
    assert "disk full" in first.stdout and first.stderr == ""
    assert fail(rw).stdout == "" and fail(rw).stdout == ""
    healed = ok(rw)
    assert healed.stdout.startswith("[runwrap] RECOVERED: job on ")
    assert "after 3 failing runs" in healed.stdout
    assert ok(rw).stdout == ""


def test_notify_none_silences_the_default_console(rw):
    assert fail(rw, "--notify", "none").stdout == ""
    assert ok(rw, "--notify", "none").stdout == ""


def test_an_empty_notify_list_in_the_config_silences_it_too(rw):
    rw.config({"tasks": {"job": {"notify": []}}})
    assert fail(rw).stdout == "" and ok(rw).stdout == ""


def test_a_configured_notifier_replaces_the_default_console(rw, tmp_path):
    log = tmp_path / "told"
    rw.config(
        {
            "defaults": {"notify": ["log"]},
            "notifiers": {"log": {"type": "command", "command": f"echo $RUNWRAP_EVENT >> {log}"}},
        }
    )
    assert fail(rw).stdout == ""
    assert log.read_text() == "failure\n"


def test_a_huge_command_is_cut_in_the_notice_and_kept_whole_in_the_manifest(rw):
    """A job given 20,000 characters of arguments: the cron mail names it in one
    screenful, the run's record keeps every argument."""
    args = [f"file-{n:05d}.csv" for n in range(1500)]
    told = rw.run("--", "sh", "-c", "exit 3", "sh", *args)
    assert told.returncode == 3
    command_lines = [line for line in told.stdout.splitlines() if "file-00000.csv" in line]
    assert len(command_lines) == 1 and len(command_lines[0]) < 600, told.stdout
    assert command_lines[0].endswith("…")
    assert "file-01499.csv" not in told.stdout
    (manifest,) = rw.manifests()
    assert manifest["command"][-1] == "file-01499.csv"
