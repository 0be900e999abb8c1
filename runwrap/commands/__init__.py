"""The control subcommands (ls, show, history, feedback, parse, kill, tail): thin, they print."""

SUBCOMMANDS = (
    "run",
    "ls",
    "show",
    "history",
    "feedback",
    "parse",
    "kill",
    "tail",
    "check",
    "crontab",
    "systemd",
)
# Options every subcommand takes, accepted before the subcommand's name too.
COMMON_OPTIONS = ("--root", "--config")
