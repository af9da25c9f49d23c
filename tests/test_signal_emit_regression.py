"""Guard against the PySide6 6.12.0 / Python 3.11 ``bool_dealloc`` crash (issue 2).

On that combination every ``Signal.emit()`` drops one reference to ``True``; after a few thousand
emits the interpreter aborts with "Fatal Python error: bool_dealloc", often far from the cause. The
app emits tens of thousands of signals in a long session, so a child process does the same here and
must exit cleanly. It also checks ``True``'s reference count directly (a leak shows long before the
crash; on Python 3.12+ ``True`` is immortal and the count never moves).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

    class Emitter(QObject):
        flagged = Signal(bool, object, object)
        plain = Signal(object)

    class Receiver(QObject):
        def __init__(self):
            super().__init__()
            self.count = 0

        @Slot(bool, object, object)
        def on_flagged(self, flag, a, b):
            self.count += 1

    app = QCoreApplication([])
    emitter, receiver = Emitter(), Receiver()
    emitter.flagged.connect(receiver.on_flagged)
    emitter.plain.connect(lambda payload: None)
    payload = {"loss": 0.25, "history": [1, 2, 3]}
    before = sys.getrefcount(True)
    for i in range(20000):
        emitter.flagged.emit(i % 2 == 0, payload, (i, True))
        emitter.plain.emit(True)
    drift = before - sys.getrefcount(True)
    assert receiver.count == 20000, receiver.count
    assert abs(drift) < 100, f"True lost {drift} references over 40,000 emits"
    print("ok", drift)
""")


def test_twenty_thousand_emits_exit_cleanly():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, f"exit code {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-2000:]}"
    assert "bool_dealloc" not in proc.stderr
    assert proc.stdout.startswith("ok")
