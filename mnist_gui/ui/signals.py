"""Signals that end the application (Ctrl-C, SIGTERM, SIGHUP) close the window as Quit would.

Before, only Ctrl-C did: SIGTERM (``kill``, a session logging out) and SIGHUP (the terminal closing)
killed the process at once, mid-training, without saving the settings or joining the training
thread. :func:`closing_on_signals` installs one handler for the three; it asks the window to close
(the same clean shutdown as Quit: settings saved, the job stopped and its thread joined) and records
which signal it was, so the exit code can say so (128 + its number). Python only runs a signal
handler between bytecodes, and the Qt event loop runs in C, so a timer wakes the interpreter a few
times a second to let it.
"""

from __future__ import annotations

import contextlib
import signal
from typing import Callable, Iterator

from PySide6.QtCore import QTimer

#: The signals that close the window (those a platform does not have are skipped).
QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_WAKE_MS = 200


@contextlib.contextmanager
def closing_on_signals(close: Callable[[], None]) -> Iterator[list[int]]:
    """While the block runs, each of :data:`QUIT_SIGNALS` calls ``close()`` (once; a second signal of
    any kind just waits for that close). Yields a list that receives the number of the first signal."""
    received: list[int] = []

    def handler(signum, frame) -> None:
        if not received:
            received.append(signum)
            QTimer.singleShot(0, close)   # from the event loop, not from inside whatever was interrupted

    previous = {}
    for sig in QUIT_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):   # not the main thread, or not allowed here
            pass
    ticker = QTimer(interval=_WAKE_MS)
    ticker.timeout.connect(lambda: None)
    ticker.start()
    try:
        yield received
    finally:
        ticker.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
