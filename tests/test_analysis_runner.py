"""The insight views' worker (mnist_gui.ui.analysis_runner): one long-lived thread, the newest job of
each kind, results in the GUI thread, failures reported, a clean join."""

from __future__ import annotations

import threading

from helpers import threads_started_since
from mnist_gui.errors import MnistGuiError
from mnist_gui.jobs import Job, ModelEvaluated
from mnist_gui.ui.analysis_runner import AnalysisRunner


class Fake(Job):
    """Reports ModelEvaluated((name,), thread id) once ``gate`` opens; or raises ``error``."""

    def __init__(self, name: str, gate: threading.Event | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self.name, self.gate, self.error = name, gate, error
        self.ran = threading.Event()

    def run(self, report) -> None:
        self.ran.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.error is not None:
            raise self.error
        report(ModelEvaluated((self.name,), threading.get_ident()))


def record(runner: AnalysisRunner) -> list:
    seen = []
    runner.evaluated.connect(lambda done: seen.append(("evaluated", done.key[0], done.evaluation)))
    runner.failed.connect(lambda kind, error: seen.append(("failed", kind, str(error))))
    return seen


def test_the_newest_job_of_a_kind_wins_and_results_arrive_in_the_gui_thread(qtbot):
    before = set(threading.enumerate())
    runner = AnalysisRunner()
    seen = record(runner)
    gate = threading.Event()
    first = Fake("first", gate)
    runner.submit("evaluation", first)
    assert first.ran.wait(5)                       # running, held at the gate
    waiting, newest = Fake("waiting"), Fake("newest")
    runner.submit("evaluation", waiting)           # waits behind the first...
    runner.submit("evaluation", newest)            # ...and is replaced before it runs
    other = Fake("other kind")
    runner.submit("map", other)                    # another kind is not replaced
    assert runner.pending("evaluation") and runner.pending("map")
    gate.set()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert first.control.abandoned and waiting.control.abandoned and not waiting.ran.is_set()
    names = [name for _, name, _ in seen]
    assert names == ["other kind", "newest"] or names == ["newest", "other kind"]   # the first's result is dropped
    assert all(thread != threading.get_ident() for _, _, thread in seen)
    thread = runner.thread
    runner.submit("map", Fake("again"))           # the same thread serves the next job
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert runner.thread is thread and seen[-1][1] == "again"
    runner.shutdown()
    assert runner.thread is None and not thread.isRunning()
    assert not threads_started_since(before)
    runner.shutdown()                              # idempotent


def test_failures_are_reported_with_their_kind_and_the_runner_goes_on(qtbot, capsys):
    runner = AnalysisRunner()
    seen = record(runner)
    runner.submit("dataset", Fake("x", error=MnistGuiError("no such folder")))
    runner.submit("map", Fake("y", error=ZeroDivisionError("a bug")))
    runner.submit("evaluation", Fake("z"))
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert ("failed", "dataset", "no such folder") in seen
    assert any(kind == "map" and "ZeroDivisionError" in text for what, kind, text in seen if what == "failed")
    assert seen[-1][:2] == ("evaluated", "z")
    runner.shutdown()


def test_shutdown_abandons_waiting_work_and_joins_at_once(qtbot):
    runner = AnalysisRunner()
    seen = record(runner)
    gate = threading.Event()
    running, queued = Fake("running", gate), Fake("queued")
    runner.submit("evaluation", running)
    runner.submit("map", queued)
    assert running.ran.wait(5)
    threading.Timer(0.2, gate.set).start()         # the running job ends on its own a moment later
    runner.shutdown()
    assert running.control.abandoned and queued.control.abandoned and not queued.ran.is_set()
    qtbot.wait(50)
    assert seen == []                              # nothing is delivered after shutdown
