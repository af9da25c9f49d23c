"""mnist-gui: train a from-scratch NumPy MLP on MNIST, watch it learn, draw digits to test it.

The layers, from the bottom up. A module may import from its own layer and the ones above it in
this list, never from the ones below (``tests/test_layers_map.py`` checks every import, including
the ones inside functions); nothing above ``ui`` imports Qt, and a test imports every one of those
modules with PySide6 made unimportable:

=================  ===================================================================================
``digits``,        the shape of the problem (28x28, 10 classes); the error types (and how a message
``errors``,        shows a file name); opening untrusted files (regular files only, never blocking);
``files``,         atomic file writes (and what a target may be); numbers as people read them; Ctrl-C
``interrupts``,    held while the program starts; where the shipped resources are
``atomic``,
``formatting``,
``resources_path``
``nn``             the engine: layers, loss, initializers, optimizers, schedules, networks (NumPy only)
``data``           datasets: IDX and CSV readers, the bundled MNIST, the downloader
``model``          a trained network with its input normalization; the model file
``imaging``        drawings and digit images: preprocessing, augmentation, morphology, pen-style
                   re-drawings of real and of the user's own digits
``training``       configurations and their limits, the training loop and its events, the presets, the
                   fine-tune that teaches a model the user's handwriting
``insight``        looking inside a network: confusion counts, gallery filters, weight tiles, hidden
                   activations and saliency, the PCA map of the digits
``state``          what the application knows that is not Qt: the library of runs (in the user's data
                   folder), which model is current, live, displayed, and the rule for a finished run;
                   the settings file (read without QSettings, every bad value its default); the user's own
                   labelled drawings ("My digits"); a run's epochs (time travel); what the insight views
                   look at
``jobs``           background work as plain Python (load a dataset, train or fine-tune and record the
                   run, analyse a model for the insight views), reporting immutable payloads
``ui``             the Qt layer: widgets (one per file), the job runner (a QThread), the settings file,
                   picture files, and the main window, which only wires them together
``bench``,         measurements that print numbers; the ``mnist-gui`` command (``train``, ``evaluate``,
``cli``            ``finetune``, ``predict``, ``runs``, or the window)
=================  ===================================================================================

Data flows one way: files -> ``data`` -> ``training`` (using ``nn``) -> ``jobs`` -> ``ui.worker``
-> widgets; a drawing the other way: canvas -> ``imaging.preprocess`` -> ``model`` -> chart.
``mnist_gui.app`` re-exports :class:`~mnist_gui.ui.app.MainWindow` (the automation contract's path).
"""

# Hold Ctrl-C from the first statement on when ``python -m mnist_gui`` is starting (mnist_gui.interrupts
# explains why); released at once for any other import. Plain statements, no import to look up first:
# every bytecode before the block is a moment an interrupt could still escape as a traceback.
import _signal  # noqa: E402  (the interpreter's built-in module: nothing to find on disk)

if hasattr(_signal, "pthread_sigmask"):
    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT})


__version__ = "0.1.0"


def _launching() -> bool:
    """Whether runpy is importing this package on its way to running ``mnist_gui.__main__``."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_filename.endswith(("runpy.py", "<frozen runpy>")) and frame.f_locals.get("mod_name") == __name__ \
                and code.co_name in ("_run_module_as_main", "run_module"):
            return True
        frame = frame.f_back
    return False


if hasattr(_signal, "pthread_sigmask") and not _launching():
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {_signal.SIGINT})
