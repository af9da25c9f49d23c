"""Data sets: the IDX and CSV readers, the MNIST loaders and the downloader (no Qt here).

``load_mnist(None)`` gives the bundled copy in well under a second; ``load_mnist(path)`` reads a
folder of IDX or CSV files or a single CSV; ``download_mnist()`` fetches and verifies a fresh copy.
Every reader reports bad input as :class:`~mnist_gui.errors.DatasetError` naming the file.
"""

from mnist_gui.data.csvfile import read_csv
from mnist_gui.data.download import DEFAULT_MIRRORS, download_mnist, user_data_dir
from mnist_gui.data.idx import read_idx
from mnist_gui.data.mnist import MnistData, load_bundled, load_mnist

__all__ = [
    "read_idx",
    "read_csv",
    "MnistData",
    "load_mnist",
    "load_bundled",
    "download_mnist",
    "DEFAULT_MIRRORS",
    "user_data_dir",
]
