"""Task names: they become directory names, so they are checked strictly."""

from __future__ import annotations

from runwrap.errors import RunwrapError

MAX_NAME = 64


def check_task_name(name: str) -> str:
    """Return `name` if it is safe as a directory name, else raise a one-line error."""
    problem = None
    if not name:
        problem = "is empty"
    elif len(name) > MAX_NAME:
        problem = f"is longer than {MAX_NAME} characters"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif name.startswith("."):
        problem = "starts with a dot"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains a control character"
    elif name != name.strip():
        problem = "starts or ends with white space"
    if problem:
        raise RunwrapError(
            f"bad task name {name!r}: it {problem}; use letters, digits, '-', '_' and '.'"
        )
    return name
