"""sitegen's errors: runwrap's, so both commands share one set of exit codes (runwrap/errors.py)."""

from __future__ import annotations

from runwrap.errors import RunwrapError


class SitegenError(RunwrapError):
    """A problem a person can fix (root, out, config, theme), reported as one line; exit 125."""


def one_line(e: BaseException) -> str:
    """An exception as one short line for a person (no traceback)."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__
