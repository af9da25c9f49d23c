"""Ctrl-C while the program starts: held back until our code can handle it, then one clean exit.

An interrupt that lands while Python imports a C extension is not a KeyboardInterrupt we can catch:
NumPy turns it into an ``ImportError`` ("PyCapsule_Import could not import module datetime") and
CPython may report the process as killed by SIGINT even when we caught it; one that lands before
``main()``'s ``try`` gives a traceback. So the launchers (``python -m mnist_gui``, the ``mnist-gui``
script) block SIGINT with :func:`hold` as their first statement, and ``main()`` releases it with
:func:`release` once the modules its command needs are imported: an interrupt that arrived meanwhile
is delivered then, inside the ``try`` that turns it into ``interrupted`` and exit code 130 (at most
the import time later: well under a second). Where signals cannot be blocked (Windows), both do
nothing.
"""

from __future__ import annotations

import signal

_CAN_BLOCK = hasattr(signal, "pthread_sigmask") and hasattr(signal, "SIGINT")


def hold() -> None:
    """Block SIGINT for this thread (and the threads it starts) until :func:`release`."""
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def release() -> None:
    """Unblock SIGINT; one that arrived while it was held is delivered now (KeyboardInterrupt)."""
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
