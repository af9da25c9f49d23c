"""A trained model and its file: the network, its input normalization, and what is known about it.

* :mod:`~mnist_gui.model.model` — :class:`Model` (predict) and :class:`Normalization`;
* :mod:`~mnist_gui.model.file` — :func:`save_model` (atomic) and :func:`load_model` (trusts nothing).
"""

from mnist_gui.model.model import MNIST_MEAN, MNIST_STD, Model, Normalization

__all__ = ["MNIST_MEAN", "MNIST_STD", "Model", "Normalization", "load_model", "save_model"]


def __getattr__(name: str):
    # The file functions import the archive machinery (zipfile, lzma...): loaded on first use.
    if name in ("load_model", "save_model"):
        from mnist_gui.model import file

        return getattr(file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
