"""runwrap crontab: crontab lines for the tasks the config declares; --check: compare."""

from __future__ import annotations

import subprocess
import sys

from runwrap.cronfile import crontab_lines, differences
from runwrap.declared import declared_tasks
from runwrap.errors import ExitCode, RunwrapError
from runwrap.units import count


def cmd_crontab(
    root: str, config: dict, config_file: str | None, user: str | None, check: str | None
) -> int:
    """Print the crontab, or with --check name the differences.

    All or nothing: the output is meant for `> /etc/cron.d/runwrap`, so a task
    that cannot be a crontab line (or no task at all) is an error and nothing
    is printed, rather than a partial file that looks whole.
    """
    if config_file is None:
        raise RunwrapError("no config file: declare tasks under tasks: in one (see --config)")
    lines, refused = crontab_lines(declared_tasks(config), root, config_file, user)
    if not lines and not refused:
        raise RunwrapError(
            f"{config_file} declares no task with a schedule: (nothing to "
            f"{'check' if check is not None else 'write'}; see docs/schedules.md)"
        )
    if check is None:
        if refused:
            raise RunwrapError(f"no crontab written: {'; '.join(refused)}")
        print(f"# runwrap tasks declared in {config_file} (runwrap crontab)")
        for line in lines:
            print(line)
        return ExitCode.OK
    for why in refused:
        print(f"runwrap: {why}", file=sys.stderr)
    installed = _installed(check)
    found = differences(lines, installed, with_user=user is not None)
    for line in found:
        print(line)
    if not found:
        tasks = count(len(lines), "task")
        print(f"the crontab runs the {tasks} declared in {config_file} as declared")
    return ExitCode.ATTENTION if found else ExitCode.OK


def _installed(where: str) -> str:
    """The crontab to compare with: a file, or `crontab -l` ('-')."""
    if where != "-":
        try:
            with open(where, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError as e:
            raise RunwrapError(f"cannot read {where}: {e.strerror}") from None
    try:
        result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise RunwrapError(f"cannot run crontab -l: {e.strerror}; give the file instead") from None
    if result.returncode != 0:
        # "no crontab for USER" is an empty crontab, not an error.
        return ""
    return result.stdout
