"""Secrets in a command line, labels, feedback or output never reach a record or a notice.

The real runwrap over a real root; every file runwrap (and sitegen) wrote is searched
for the secrets, all but the job's own output files (the logs are the job's, shown
as it wrote them: docs/configuration.md says so).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers.runs import BIN, RUNWRAP, Root, assert_one_line_error, imported

SECRETS = ("S3cretMy", "hunter2x", "pw0rdUrl", "tok9abc", "lab3lpw", "fbT0ken", "envRw99")
JOB_FILES = {"stdout.log", "stderr.log", "feedback.log"}  # the job's own, kept as it wrote them

# A job run as `sh -c SCRIPT mysql -pS3cretMy --password hunter2x URL`: the extra
# arguments are the command line's secrets, the script writes feedback and stderr.
SCRIPT = (
    'echo "[api_token]tok$((9))abc" >> "$RUNWRAP_FEEDBACK"; echo "[info]plain" >> "$RUNWRAP_FEEDBACK"; '
    'echo "login failed" >&2; exit 1'
)
COMMAND = (
    "sh",
    "-c",
    SCRIPT,
    "mysql",
    "-pS3cretMy",
    "--password",
    "hunter2x",
    "https://bob:pw0rdUrl@db.example.org/x",
)


def leaks(top: Path) -> list[str]:
    found = []
    for path in top.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name not in JOB_FILES:
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in SECRETS if s.encode() in data]
    return found


def run_hostile(root: Root, *extra: str) -> subprocess.CompletedProcess:
    env = {**root.env, "RUNWRAP_SECRET_X": "envRw99"}
    return root.run(
        "-n", "db", "-l", "dsn=postgres://u:lab3lpw@h/db", *extra, "--", *COMMAND, env=env
    )


def test_the_records_and_the_console_notice_hold_no_secret(root: Root, tmp_path: Path) -> None:
    result = run_hostile(root)
    assert result.returncode == 1
    assert "FAILED" in result.stdout  # the default console notice, what cron mails
    assert not [s for s in SECRETS if s in result.stdout + result.stderr]
    manifest = root.manifest("db")
    assert manifest["command"][3:] == [
        "mysql",
        "-p***",
        "--password",
        "***",
        "https://bob:***@db.example.org/x",
    ]
    assert manifest["labels"] == {"dsn": "postgres://u:***@h/db"}
    assert manifest["feedback"] == {"api_token": "***", "info": "plain"}
    for args in (["show", "db"], ["ls", "--json"], ["history", "db", "--json"]):
        out = root.run(*args).stdout
        assert not [s for s in SECRETS if s in out], args
    out = tmp_path / "site"
    subprocess.run(
        [str(BIN / "sitegen"), "--root", str(root.path), "--out", str(out)],
        env=root.env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert not leaks(root.path) and not leaks(out), leaks(root.path) + leaks(out)


def test_the_configs_own_patterns(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps({"redact": ["corp-Vault-77", {"regex": r"ak-[0-9]{6}"}]})  # JSON is YAML
    )
    env = {**root.env, "RUNWRAP_CONFIG": str(config)}
    job = "echo 'using corp-Vault-77 and ak-123456' >&2; exit 2"
    result = root.run("-n", "own", "--", "sh", "-c", job, "ak-654321", env=env)
    assert result.returncode == 2
    assert "using *** and ***" in result.stdout
    assert root.manifest("own")["command"] == [
        "sh",
        "-c",
        job.replace("corp-Vault-77", "***").replace("ak-123456", "***"),
        "***",
    ]


def test_a_bad_pattern_is_one_line_and_the_job_does_not_run(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('redact: [{regex: "(unclosed"}]\n')
    marker = tmp_path / "ran"
    result = root.run(
        "-n", "bad", "--", "touch", str(marker), env={**root.env, "RUNWRAP_CONFIG": str(config)}
    )
    assert_one_line_error(result, "redact", "bad regex")
    assert not marker.exists()


def test_re_is_imported_only_when_a_rule_may_apply(root: Root, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("redact: [corp-Vault-77]\n")
    env = {**root.env, "RUNWRAP_CONFIG": str(config)}
    floor = imported([sys.executable, "-c", "pass"], env)
    plain = [RUNWRAP, "-n", "plain", "--notify", "none", "--", "true"]
    imported(plain, env)  # the first tick parses the config and caches it
    assert "re" not in imported(plain, env) - floor  # literals only, no hint: no re
    secret = [RUNWRAP, "-n", "plain", "--notify", "none", "--", "echo", "--password=x"]
    assert "re" in imported(secret, env) - floor
