"""The subcommands (run, ls, show, history, diff, feedback, parse, kill, tail, check, crontab,
systemd, mute, unmute, ack, retire): thin, they print; the run form itself is runwrap/run/."""

SUBCOMMANDS = (
    "run",
    "ls",
    "show",
    "history",
    "diff",
    "feedback",
    "parse",
    "kill",
    "tail",
    "check",
    "crontab",
    "systemd",
    "mute",
    "unmute",
    "ack",
    "retire",
)
# Options every subcommand takes, accepted before the subcommand's name too.
COMMON_OPTIONS = ("--root", "--config")


def subcommand_root(root: str | None, config: dict, must_exist: bool = True) -> str:
    """The run root a subcommand reads (--root, $RUNWRAP_ROOT, the config, the default).

    A root that does not exist is a mistyped --root far more often than an empty
    one: an error, not "no tasks".
    """
    import os

    from runwrap.configfile import resolve_root
    from runwrap.errors import RunwrapError

    resolved = resolve_root(root, config)
    if must_exist and not os.path.isdir(resolved):
        raise RunwrapError(
            f"run root {resolved} does not exist; name it with --root or $RUNWRAP_ROOT "
            "(or run a task first)"
        )
    return resolved


def warn_skipped() -> None:
    """What could not be read while listing: one line on stderr, after the output."""
    import sys

    from runwrap.store.lookup import skipped_warning

    warning = skipped_warning()
    if warning:
        print(f"runwrap: {warning}", file=sys.stderr)
