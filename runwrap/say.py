"""Where the core's one-line warnings go: the command line decides, the core only calls warn().

The core never prints (httpie's habit: the environment is injected). The
CLI installs a sink that writes `runwrap: MESSAGE` on stderr as it happens,
so a warning given before a job runs comes before the job's output.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_sink: "Callable[[str], None] | None" = None


def set_sink(sink: "Callable[[str], None] | None") -> None:
    """Send warnings to `sink` from now on (None: drop them)."""
    global _sink
    _sink = sink


def warn(message: str) -> None:
    """One line about something runwrap could not do; never raises."""
    if _sink is None:
        return
    try:
        _sink(message)
    except OSError:
        pass  # stderr gone (a closed pipe): the run must still finish
