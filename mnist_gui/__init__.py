"""mnist-gui: train a from-scratch NumPy MLP on MNIST, watch it learn, draw digits to test it.

The package is split in two rooms:

* the Qt-free core (``nn``, ``data``, ``preprocess``, ``augment``, ``modelfile``, ``training``,
  ``presets``) that the CLI, the tests, the benchmark and the GUI share;
* the Qt layer (``ui`` and ``app``), a thin shell over the core.
"""

__version__ = "0.1.0"
