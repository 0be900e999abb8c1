"""Signals without the enum-heavy `signal` module, and handlers that only record.

`import signal` builds enums at import time (several milliseconds on every
cron tick); `_signal` is the same C module underneath.
"""

import os

try:
    import _signal as signal
except ImportError:  # pragma: no cover - other Pythons
    import signal  # type: ignore[no-redef]

SIGTERM = signal.SIGTERM
SIGINT = signal.SIGINT
SIGHUP = signal.SIGHUP
SIGKILL = signal.SIGKILL
SIGCHLD = signal.SIGCHLD
SIGPIPE = signal.SIGPIPE
SIGXFSZ = signal.SIGXFSZ
FORWARDED = (SIGTERM, SIGINT, SIGHUP)

_NAMES = {
    int(getattr(signal, n)): n
    for n in dir(signal)
    if n.startswith("SIG") and not n.startswith("SIG_") and n not in ("SIGIOT", "SIGPOLL", "SIGCLD")
}


def name(signum: int) -> str:
    """SIGTERM for 15; 'SIG42' for a number without a name."""
    return _NAMES.get(signum, f"SIG{signum}")


def number(text: str) -> int:
    """15 for 'TERM', 'SIGTERM', 'term' or '15'; ValueError otherwise."""
    text = text.strip().upper()
    if text.isdigit():
        return int(text)
    key = text if text.startswith("SIG") else "SIG" + text
    for num, sig_name in _NAMES.items():
        if sig_name == key:
            return num
    raise ValueError(text)


class SignalInbox:
    """Records the signals runwrap receives and wakes the main loop through a pipe.

    Handlers only append to a list; the loop decides what to do (Supervisor's rule).
    SIGCHLD is caught too, so a child's exit wakes the loop at once.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self._previous: dict[int, object] = {}
        self._old_wakeup = -1

    def _record(self, signum: int, frame: object) -> None:
        if signum != SIGCHLD:
            self.received.append(signum)

    def install(self) -> "SignalInbox":
        self._old_wakeup = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        for signum in (*FORWARDED, SIGCHLD):
            self._previous[signum] = signal.signal(signum, self._record)
        return self

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self.read_fd)
        os.close(self.write_fd)

    def drain(self) -> None:
        try:
            while os.read(self.read_fd, 512):
                pass
        except BlockingIOError:
            pass

    def take(self) -> list[int]:
        """The signals received since the last call."""
        got, self.received = self.received, []
        return got
