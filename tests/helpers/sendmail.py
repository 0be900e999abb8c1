"""`sitegen --watch` on a machine whose sendmail is ours: a private mount namespace where
/usr/sbin/sendmail files each mail in a directory (as tests/cron does for cron)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers.runs import BIN
from helpers.sites import ENV


def mail_env(tmp_path: Path, mail_to: str | None = None) -> dict[str, str]:
    """No notifier configured (the console, cron's MAILTO); `site: mail_to:` if given."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"site": {"mail_to": mail_to}} if mail_to is not None else {}))
    return {**ENV, "RUNWRAP_CONFIG": str(config)}


def watch_with_sendmail(
    run_root: Path, out: Path, env: dict, tmp_path: Path, then: str = ""
) -> tuple:
    """sitegen --watch in a private mount namespace whose /usr/sbin/sendmail files each mail
    in a directory (as tests/cron does for cron), then runs `then`; cron is not running."""
    mails, sbin = tmp_path / "mails", tmp_path / "sbin"
    mails.mkdir(parents=True)
    sbin.mkdir()
    sendmail = sbin / "sendmail"
    # Each mail whole or not at all: written aside, then renamed into place.
    sendmail.write_text(
        f'#!/bin/sh\ncat > "{mails}/.part.$$" && mv "{mails}/.part.$$" "{mails}/$(date +%s%N).mail"\n'
        + then
    )
    sendmail.chmod(0o755)
    mount = f"mount -t overlay overlay -o lowerdir={sbin}:/usr/sbin /usr/sbin"
    proc, log = watch_in_namespace(mount, run_root, out, env, tmp_path)
    return proc, log, mails


def watch_in_namespace(
    mount: str, run_root: Path, out: Path, env: dict, tmp_path: Path
) -> tuple[subprocess.Popen, Path]:
    """sitegen --watch in a private mount namespace where `mount` was run first."""
    setup = f"{mount} && exec {BIN / 'sitegen'} --root {run_root} --out {out} --watch"
    log = tmp_path / "watch.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", setup],
            env=env, stdout=f, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return proc, log


def mails_filed(mails: Path) -> list[str]:
    """The mails filed in `mails` so far, oldest first."""
    return [p.read_text() for p in sorted(mails.glob("*.mail"))]


needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare (a private mount namespace for /usr/sbin/sendmail)",
)
