"""runwrap systemd --out DIR: a .service and a .timer per task the config declares."""

from __future__ import annotations

import os

from runwrap.declared import declared_tasks
from runwrap.errors import ExitCode, RunwrapError
from runwrap.unitfiles import units


def cmd_systemd(
    root: str, config: dict, config_file: str | None, out: str, user: str | None
) -> int:
    """Write the units into `out` and list them; a schedule systemd cannot say is an error."""
    if config_file is None:
        raise RunwrapError("no config file: declare tasks under tasks: in one (see --config)")
    tasks = declared_tasks(config)
    if not tasks:
        raise RunwrapError(f"no task in {config_file} has a command and a schedule (or every)")
    files = {}
    for task in tasks:
        files.update(units(task, root, config_file, user))
    os.makedirs(out, exist_ok=True)
    from runwrap.store.jsonio import write_atomic

    for name, text in files.items():
        write_atomic(os.path.join(out, name), text.encode("utf-8"), fsync=False)
        print(os.path.join(out, name))
    timers = " ".join(n for n in files if n.endswith(".timer"))
    print(
        f"then: cp them to /etc/systemd/system/ && systemctl daemon-reload && "
        f"systemctl enable --now {timers}"
    )
    return ExitCode.OK
