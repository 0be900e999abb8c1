"""runwrap show: one run in full."""

from __future__ import annotations

import time

from runwrap.commands.display import (
    cell,
    clean,
    duration,
    items,
    mapping,
    number,
    print_json,
    size,
    table,
    when,
)
from runwrap.commands.tail import log_tail
from runwrap.errors import ExitCode
from runwrap.store.layout import STDERR, STDOUT, run_dir
from runwrap.store.lookup import (
    load_run,
)
from runwrap.store.manifest import RECORD, RUNNING, SKIPPED, SUCCESS
from runwrap.store.query import find_run

# The run's identity, then its record in the order every reader shows it (store/manifest.py);
# attempts, labels, feedback and artifacts follow in sections of their own.
_SHOWN = (
    "task",
    "run_id",
    "status",
    "reason",
    *(key for key, _label, kind in RECORD if kind not in ("list", "bool")),
    "pid",
    "liveness",
    "lease_age_s",  # instead of pid and liveness where the owner cannot be checked
)


def _human(key: str, value: object, now: float) -> str:
    """One field of `show`, readable, whatever its JSON type."""
    if value is None:
        return "-"
    if key.endswith("_at"):
        return when(value, now)
    if key.endswith("_s") and number(value) is not None:
        return duration(value)
    if key.endswith("_bytes") and number(value) is not None:
        return size(value)
    if key == "command" and isinstance(value, list):
        import shlex

        return clean(shlex.join(clean(v, 1000) for v in value), 200)
    return clean(value, 200)


def cmd_show(root: str, ref: str, as_json: bool) -> int:
    """One run in full."""
    task, run_id = find_run(root, ref)
    m = load_run(root, task, run_id)
    if as_json:
        print_json(m)
        return ExitCode.OK
    now = time.time()
    rows = [[f"{key}:", _human(key, m.get(key), now)] for key in _SHOWN if key in m]
    rows.append(["run dir:", clean(run_dir(root, task, run_id), 4096)])
    print(table(rows))
    for key in ("labels", "feedback"):
        values = mapping(m.get(key))
        if values:
            print(f"\n{key}:")
            print(table([[f"  {clean(k)}", clean(v, 200)] for k, v in values.items()]))
    artifacts = items(m.get("artifacts"))
    if artifacts:
        print("\nartifacts:")
        print(table([_artifact_row(a) for a in artifacts]))
    attempts = items(m.get("attempts"))
    if attempts:
        print("\nattempts:")
        for a in attempts:
            a = mapping(a)
            reason = clean(a.get("reason") or "", 200)
            print(f"  {cell(a.get('attempt'), 8)}: {cell(a.get('status'), 20)} {reason}".rstrip())
    if m.get("status") not in (SUCCESS, RUNNING, SKIPPED):
        _print_output_tail(root, task, run_id)
    return ExitCode.OK


def _print_output_tail(root: str, task: str, run_id: str, count: int = 10) -> None:
    """What a run that went wrong printed last: stderr, or stdout when stderr is empty."""
    for name in (STDERR, STDOUT):
        text = log_tail(root, task, run_id, name, count)
        if text.strip():
            print(f"\nlast lines of {name}:")
            for line in text.rstrip("\n").split("\n"):
                print(f"  {clean(line, 400)}")
            return


def _artifact_row(artifact: object) -> list[str]:
    a = mapping(artifact)
    shown = "symlink" if a.get("symlink") is True else size(a.get("size"))
    return [f"  {cell(a.get('name'), 200)}", shown]
