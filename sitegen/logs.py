"""sitegen's loggers, with `logging` imported only when a message is given.

A one-shot update after one run (cron's path, quiet) usually has nothing to
say, and importing logging is about 5 ms of it (issue 24). A module's `log =
logs.getLogger(__name__)` drops a message below the command line's level
unseen; any other message imports logging, has the command line set it up
(cli.py: its format and levels) and is given to the logger of that name, as
if the module had used logging itself. In a process that never set a level
(tests, an embedding program) every message goes to logging.
"""

from __future__ import annotations

from collections.abc import Callable

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40  # logging's levels, without logging

_threshold = 0  # below it a message is dropped unseen
_setup: Callable[[], None] | None = None  # the command line's set-up, once logging is needed


def configure(level: int, setup: Callable[[], None]) -> None:
    """The command line's level for sitegen's loggers and how it sets logging up
    (called once logging is imported: at the first message that is given)."""
    global _threshold, _setup
    _threshold, _setup = level, setup


def load() -> None:
    """Set logging up now (a long-lived process: --watch, --serve, whose other
    modules log through logging itself)."""
    global _setup
    setup, _setup = _setup, None
    if setup is not None:
        setup()


class Logger:
    """logging.getLogger(name)'s debug, info, warning and error, logging imported late."""

    __slots__ = ("_real", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._real = None

    def _log(self, level: int, msg: str, args: tuple, kwargs: dict) -> None:
        if level < _threshold:
            return
        if _setup is not None:
            load()  # the first message since the command line's set-up was given
        if self._real is None:
            import logging

            self._real = logging.getLogger(self.name)
        self._real.log(level, msg, *args, **kwargs)

    def debug(self, msg: str, *args: object, **kwargs: object) -> None:
        self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: object, **kwargs: object) -> None:
        self._log(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: object, **kwargs: object) -> None:
        self._log(WARNING, msg, args, kwargs)

    def error(self, msg: str, *args: object, **kwargs: object) -> None:
        self._log(ERROR, msg, args, kwargs)


def getLogger(name: str) -> Logger:  # logging's name: a module reads the same
    """The logger of a sitegen module."""
    return Logger(name)
