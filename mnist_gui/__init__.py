"""mnist-gui: train a from-scratch NumPy MLP on MNIST, watch it learn, draw digits to test it.

The layers, from the bottom up. A module may import from its own layer and the ones above it in
this list, never from the ones below (``tests/test_layers_map.py`` checks every import, including
the ones inside functions); nothing above ``ui`` imports Qt, and a test imports every one of those
modules with PySide6 made unimportable:

=================  ===================================================================================
``digits``,        the shape of the problem (28x28, 10 classes); the error types; atomic file writes;
``errors``,        numbers as people read them; where the shipped resources are
``atomic``,
``formatting``,
``resources_path``
``nn``             the engine: layers, loss, initializers, optimizers, schedules, networks (NumPy only)
``data``           datasets: IDX and CSV readers, the bundled MNIST, the downloader
``model``          a trained network with its input normalization; the model file
``imaging``        drawings and digit images: preprocessing, augmentation, morphology
``training``       configurations and their limits, the training loop and its events, the presets
``insight``        looking inside a network: confusion counts, gallery filters, weight tiles, hidden
                   activations and saliency, the PCA map of the digits
``state``          what the application knows that is not Qt: the library of runs (in the user's data
                   folder), which model is current, live, displayed, and the rule for a finished run;
                   a run's epochs (time travel); what the insight views look at
``jobs``           background work as plain Python (load a dataset, train and record the run, analyse
                   a model for the insight views), reporting immutable payloads
``ui``             the Qt layer: widgets (one per file), the job runner (a QThread), the settings file,
                   picture files, and the main window, which only wires them together
``bench``,         measurements that print numbers; the ``mnist-gui`` command (``train``, ``evaluate``,
``cli``            ``predict``, ``runs``, or the window)
=================  ===================================================================================

Data flows one way: files -> ``data`` -> ``training`` (using ``nn``) -> ``jobs`` -> ``ui.worker``
-> widgets; a drawing the other way: canvas -> ``imaging.preprocess`` -> ``model`` -> chart.
``mnist_gui.app`` re-exports :class:`~mnist_gui.ui.app.MainWindow` (the automation contract's path).
"""

__version__ = "0.1.0"
