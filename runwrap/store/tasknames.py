"""Task names: they become directory names and are typed again later: checked strictly."""

from runwrap.errors import RunwrapError
from runwrap.store.layout import GATHERED, is_run_id, split_gathered

MAX_NAME = 64
# sitegen keeps a file named quote(task) + ".json": each byte of a non-ASCII name
# becomes three characters there, and a file name has at most 255 bytes.
MAX_NAME_BYTES = 80
_ADVICE = "use letters, digits, '-', '_' and '.'"


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a task name (a phrase after 'it'), or None if it can."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from argv arrive as lone surrogates
        return "is not valid UTF-8"
    if len(encoded) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes in UTF-8"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if name.startswith("."):
        return "starts with a dot"  # '.', '..' and the hidden names retention uses
    if name.startswith("-"):
        return "starts with a dash"  # it would read as an option in every subcommand
    # Not only ASCII controls: C1 controls, line separators and bidi overrides
    # would let a name hide or disguise itself in a terminal.
    if not name.isprintable():
        return "contains a control character (or another invisible one)"
    if name != name.strip():
        return "starts or ends with white space"
    if GATHERED in name:
        return f"contains {GATHERED!r} (task{GATHERED}host names a task gathered from a host)"
    if is_run_id(name):
        return "looks like a run id"  # subcommands would look for a run instead
    return None


def gathered_problem(name: str) -> str | None:
    """Why `name` can name no task a reader may read (its own, or <task>@<host> of a
    gathered host), or None."""
    parts = split_gathered(name)
    if parts is None:
        return name_problem(name)
    for part in parts:
        problem = name_problem(part)
        if problem:
            return problem
    return None


def check_read_name(name: str) -> str:
    """Return `name` if a reader may look for it (a task, or <task>@<host>), else a
    one-line error."""
    problem = gathered_problem(name)
    if problem:
        raise RunwrapError(f"bad task name {name!r}: it {problem}; {_ADVICE}")
    return name


def check_task_name(name: str, fix: str = _ADVICE) -> str:
    """Return `name` if it is safe as a directory name, else raise a one-line error."""
    problem = name_problem(name)
    if problem:
        raise RunwrapError(f"bad task name {name!r}: it {problem}; {fix}")
    return name
