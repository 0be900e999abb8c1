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


def freeze_imports() -> None:
    """Tell the cyclic garbage collector that what the imports made lives as long as the
    command (gc.freeze), before a subcommand reads tasks or runs.

    Reading fills the collector's youngest generation over and over (every state,
    manifest and view is a dict); every tenth time it walks the older one too, which
    holds every function, class and module dict the imports made. `runwrap ls` on 50
    tasks crossed that line and paid more for the walk than for five tasks' reads.
    Frozen, those objects are never walked again; only what the command makes is.
    """
    import gc

    gc.freeze()
