"""The MNIST data set as the rest of the application sees it, and the ways to load it.

Whatever the source — the copy bundled in ``resources/mnist``, a folder of IDX files as
downloaded (``train-images-idx3-ubyte.gz`` or Kaggle's ``train-images.idx3-ubyte``), a folder of
CSV files, or one CSV file — loading ends in the same :class:`MnistData`: flat ``(N, 784)`` uint8
images, ``(N,)`` uint8 labels, a description of where it came from, and a checksum of the content.

The checksum is defined so that it does not depend on the file format: it is the sha256 of the
four sha256s of the data written as canonical, uncompressed IDX files (images ``Nx28x28``, labels
``N``), concatenated in the order train images, train labels, test images, test labels. For the
bundled copy those four are exactly the lines of ``resources/mnist/SHA256SUMS``, and the same
digits read from CSV give the same checksum. A model file can record it to say what it was
trained on.

The arrays of a loaded data set are read-only: one copy is shared by the GUI, the training
thread and the tests, so an accidental in-place edit fails loudly instead of corrupting it.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mnist_gui.data.csvfile import read_csv
from mnist_gui.data.idx import read_idx
from mnist_gui.digits import PIXELS, SIDE
from mnist_gui.errors import DatasetError, LoadCancelled, display_name
from mnist_gui.resources_path import resource

__all__ = ["MnistData", "load_mnist", "load_bundled", "content_checksum", "BUNDLED_SOURCE"]

BUNDLED_SOURCE = "bundled MNIST (resources)"
_HASH_CHUNK = 16 << 20

# (role, canonical file stem) in checksum order.
_PARTS = (
    ("train images", "train-images-idx3-ubyte"),
    ("train labels", "train-labels-idx1-ubyte"),
    ("test images", "t10k-images-idx3-ubyte"),
    ("test labels", "t10k-labels-idx1-ubyte"),
)


@dataclass(frozen=True, eq=False)
class MnistData:
    """A training set and a test set of 28x28 digit images with their labels.

    ``train_images`` is ``(N, 784)`` uint8, C-contiguous (row-major 28x28); ``train_labels``
    ``(N,)`` uint8 in 0-9; likewise ``test_images``/``test_labels`` with ``M`` rows. ``source`` says
    where it came from; ``checksum`` is the content checksum described in the module docstring.
    The loaders return read-only arrays. Equality is identity (arrays have no single truth value).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    checksum: str

    def __post_init__(self) -> None:
        for images, labels, which in ((self.train_images, self.train_labels, "train"),
                                      (self.test_images, self.test_labels, "test")):
            if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS:
                raise ValueError(f"{which}_images must be (N, {PIXELS}) uint8, "
                                 f"got {images.shape} {images.dtype}")
            if labels.dtype != np.uint8 or labels.shape != (images.shape[0],):
                raise ValueError(f"{which}_labels must be ({images.shape[0]},) uint8, "
                                 f"got {labels.shape} {labels.dtype}")

    @classmethod
    def from_arrays(cls, train_images: np.ndarray, train_labels: np.ndarray,
                    test_images: np.ndarray, test_labels: np.ndarray,
                    source: str = "arrays") -> MnistData:
        """Build a data set from arrays (images ``(N, 784)`` or ``(N, 28, 28)``), validating them
        like the loaders do and computing the checksum. Handy for tests and synthetic data."""
        given = (train_images, train_labels, test_images, test_labels)
        # Copies: the data set freezes its arrays, and must not freeze the caller's.
        arrays = {role: np.array(a, copy=True) for (role, _), a in zip(_PARTS, given)}
        return _assemble(source, arrays, {role: source for role, _ in _PARTS})

    def subset(self, n_train: int, n_test: int | None = None) -> MnistData:
        """The first ``n_train`` training and ``n_test`` test images (all of them if None), as views.

        A subset has no content checksum of its own (``""``): it is not what the parent's describes.
        """
        n_test = self.n_test if n_test is None else n_test
        return MnistData(self.train_images[:n_train], self.train_labels[:n_train], self.test_images[:n_test],
                         self.test_labels[:n_test], f"{self.source} (first {min(n_train, self.n_train):,} "
                         f"train / {min(n_test, self.n_test):,} test images)", "")

    @property
    def n_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.test_labels.shape[0])

    def __repr__(self) -> str:
        return (f"MnistData(train={self.n_train}, test={self.n_test}, source={self.source!r}, "
                f"checksum={self.checksum[:12]}...)")


def load_mnist(path: str | os.PathLike | None = None, stop: Callable[[], bool] | None = None) -> MnistData:
    """Load MNIST from ``path``, or the bundled copy when ``path`` is None (or empty).

    ``path`` may be:

    * a folder holding the four IDX files, named ``train-images-idx3-ubyte``,
      ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` or with a
      dot before ``idx`` (``train-images.idx3-ubyte``), each raw or ``.gz`` (a sub-folder of the
      same name holding the file, as some zip downloads unpack, is looked into too);
    * one of those IDX files: its folder is loaded;
    * a folder holding two CSV files, one with ``train`` and one with ``test`` in its name
      (e.g. ``mnist_train.csv`` and ``mnist_test.csv``);
    * a single CSV file: its rows become the data set, and the **last** ``min(10000, n // 7)``
      rows are held out as the test set (the split of the original 60,000 + 10,000, capped at
      MNIST's own test size). It needs at least 7 rows.

    Raises :class:`DatasetError` if files are missing (listing the names looked for), malformed,
    or inconsistent (image and label counts differ, images not 28x28, labels outside 0-9). ``stop``
    is asked between the pieces of every file read (a few tens of milliseconds apart); when it says
    so, loading ends with :class:`~mnist_gui.errors.LoadCancelled`.
    """
    if path is None or not os.fspath(path).strip():
        return load_bundled()
    name = display_name(path)
    if "\0" in os.fsdecode(os.fspath(path)):
        raise DatasetError(f"{name}: a file name cannot contain a NUL character")
    try:
        p = Path(os.fsdecode(os.fspath(path))).expanduser()
    except RuntimeError as exc:   # "~nosuchuser/x": Python cannot expand an unknown user's home
        raise DatasetError(f"{name}: cannot find the folder: {exc}") from None
    try:
        kind = "folder" if p.is_dir() else "file" if p.is_file() else "missing" if not p.exists() else "other"
    except OSError as exc:   # a name too long, a loop of links...
        raise DatasetError(f"{name}: cannot look at it: {exc.strerror or exc}") from None
    if kind == "folder":
        return _load_folder(p, name, stop)
    if kind == "file":
        if p.name.lower().endswith(".csv"):
            return _load_single_csv(p, name, stop)
        if _idx_role_of(p.name) is not None:
            return _load_folder(p.parent, display_name(p.parent), stop)
        raise DatasetError(f"{name}: not an MNIST data set: expected a folder of IDX files, "
                           "a folder of CSV files, or a .csv file")
    if kind == "missing":
        raise DatasetError(f"{name}: no such file or folder")
    raise DatasetError(f"{name}: not a file or folder")


def load_bundled(verify: bool = True, directory: str | os.PathLike | None = None) -> MnistData:
    """Load the MNIST copy shipped in ``resources/mnist`` (or in ``directory``, for tests).

    With ``verify`` (the default) the sha256 of each file's content is checked against the
    folder's ``SHA256SUMS``, so a damaged installation is reported, naming the file, instead of
    silently training on garbage; this costs a few tens of milliseconds. Without it the
    checksum is taken from ``SHA256SUMS`` on trust.
    """
    folder = Path(directory) if directory is not None else resource("mnist")
    source = BUNDLED_SOURCE if directory is None else os.fspath(folder)
    sums_file = folder / "SHA256SUMS"
    expected = _read_sha256sums(sums_file)
    arrays, files = {}, {}
    for role, stem in _PARTS:
        if stem not in expected:
            raise DatasetError(f"{sums_file}: has no checksum for {stem}")
        file = folder / f"{stem}.gz"
        files[role] = os.fspath(file)
        try:
            arrays[role] = read_idx(file)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (the bundled copy is damaged: reinstall mnist-gui, or "
                               "load MNIST from a folder or download it)") from None
    if not verify:
        return _assemble(source, arrays, files, digests=[expected[stem] for _, stem in _PARTS])
    digests = [_canonical_digest(arrays[role]) for role, _ in _PARTS]
    for (role, stem), digest in zip(_PARTS, digests):
        if digest != expected[stem]:
            raise DatasetError(
                f"{files[role]}: checksum mismatch: the bundled copy is corrupt (content "
                f"sha256 {digest}, expected {expected[stem]}); reinstall mnist-gui, or load "
                "MNIST from a folder or download it")
    return _assemble(source, arrays, files, digests=digests)


def content_checksum(data: MnistData) -> str:
    """Recompute the content checksum of ``data`` (see the module docstring)."""
    arrays = (data.train_images, data.train_labels, data.test_images, data.test_labels)
    return _combine([_canonical_digest(a) for a in arrays])


# --- folders and files ---------------------------------------------------------------------


def _idx_candidates(stem: str) -> list[str]:
    """File names accepted for one IDX part, in order of preference."""
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte (Kaggle's naming)
    return [stem, f"{stem}.gz", dotted, f"{dotted}.gz"]


def _idx_role_of(filename: str) -> str | None:
    for role, stem in _PARTS:
        if filename in _idx_candidates(stem):
            return role
    return None


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in _idx_candidates(stem):
        for p in (folder / candidate, folder / candidate / candidate):
            if p.is_file():
                return p
    return None


def _load_folder(folder: Path, name: str, stop: Callable[[], bool] | None = None) -> MnistData:
    found = {role: _find_idx(folder, stem) for role, stem in _PARTS}
    if all(found.values()):
        arrays = {role: read_idx(p, stop=stop) for role, p in found.items()}
        return _assemble(name, arrays, {role: display_name(p) for role, p in found.items()}, stop=stop)
    if any(found.values()):
        missing = [" or ".join(_idx_candidates(stem)) for role, stem in _PARTS if not found[role]]
        raise DatasetError(f"{name}: incomplete MNIST folder: missing "
                           + "; missing ".join(missing))

    try:
        csvs = sorted(p for p in folder.iterdir()
                      if p.name.lower().endswith(".csv") and p.is_file())
    except OSError as exc:
        raise DatasetError(f"{name}: cannot list the folder: {exc.strerror or exc}") from None
    train = [p for p in csvs if "train" in p.name.lower()]
    test = [p for p in csvs if "test" in p.name.lower() and p not in train]
    if len(train) == 1 and len(test) == 1:
        train_images, train_labels = read_csv(train[0], stop)
        test_images, test_labels = read_csv(test[0], stop)
        arrays = {"train images": train_images, "train labels": train_labels,
                  "test images": test_images, "test labels": test_labels}
        files = {"train images": display_name(train[0]), "train labels": display_name(train[0]),
                 "test images": display_name(test[0]), "test labels": display_name(test[0])}
        return _assemble(name, arrays, files, stop=stop)
    if len(train) > 1 or len(test) > 1:
        listed = ", ".join(display_name(p.name) for p in train + test)
        raise DatasetError(f"{name}: ambiguous: several CSV files for one role ({listed}); "
                           "keep one with 'train' and one with 'test' in its name")
    looked_for = "; ".join(" or ".join(_idx_candidates(stem)) for _, stem in _PARTS)
    raise DatasetError(f"{name}: no MNIST files found: looked for the IDX files {looked_for}, "
                       "or two CSV files with 'train' and 'test' in their names")


def _load_single_csv(file: Path, name: str, stop: Callable[[], bool] | None = None) -> MnistData:
    images, labels = read_csv(file, stop)
    n = labels.shape[0]
    n_test = min(10000, n // 7)
    if n_test == 0:
        raise DatasetError(f"{name}: only {n} rows: at least 7 are needed to hold out a test set")
    split = n - n_test
    arrays = {"train images": images[:split], "train labels": labels[:split],
              "test images": images[split:], "test labels": labels[split:]}
    where = f"{name} (last {n_test} of {n} rows held out as the test set)"
    return _assemble(where, arrays, {role: name for role, _ in _PARTS}, stop=stop)


def _read_sha256sums(path: Path) -> dict[str, str]:
    """``{file name: hex digest}`` from a ``sha256sum``-style file (comments allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the checksum list: "
                           f"{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: the checksum list is not text") from None
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            digest, filename = parts
            sums[filename.lstrip("*")] = digest.lower()
    return sums


# --- validation and checksums --------------------------------------------------------------


def _assemble(source: str, arrays: dict[str, np.ndarray], files: dict[str, str],
              digests: list[str] | None = None, stop: Callable[[], bool] | None = None) -> MnistData:
    """Check shapes, counts and label range; flatten; freeze; checksum. ``files`` names each
    role's file for the error messages."""
    flat = {}
    for role, _ in _PARTS:
        a = np.asarray(arrays[role])
        if a.dtype != np.uint8:
            raise DatasetError(f"{files[role]}: {role} must be unsigned bytes (uint8), "
                               f"the file holds {a.dtype}")
        if role.endswith("images"):
            if a.ndim == 3 and a.shape[1:] == (SIDE, SIDE):
                a = a.reshape(a.shape[0], PIXELS)
            elif not (a.ndim == 2 and a.shape[1] == PIXELS):
                raise DatasetError(f"{files[role]}: {role} must be 28x28, the file holds "
                                   f"shape {'x'.join(map(str, a.shape))}")
        else:
            if a.ndim != 1:
                raise DatasetError(f"{files[role]}: {role} must be one number per image, the "
                                   f"file holds shape {'x'.join(map(str, a.shape))}")
            if a.size and int(a.max()) > 9:
                index = int(np.flatnonzero(a > 9)[0])
                raise DatasetError(f"{files[role]}: {role}: label {a[index]} at index {index} "
                                   "is not a digit 0-9")
        if a.shape[0] == 0:
            raise DatasetError(f"{files[role]}: {role}: there are none")
        a = np.ascontiguousarray(a)
        a.flags.writeable = False
        flat[role] = a
    for which in ("train", "test"):
        n_images, n_labels = flat[f"{which} images"].shape[0], flat[f"{which} labels"].shape[0]
        if n_images != n_labels:
            raise DatasetError(f"{files[which + ' images']}: {n_images} {which} images but "
                               f"{files[which + ' labels']} has {n_labels} labels")
    if digests is None:
        digests = [_canonical_digest(flat[role], stop) for role, _ in _PARTS]
    return MnistData(train_images=flat["train images"], train_labels=flat["train labels"],
                     test_images=flat["test images"], test_labels=flat["test labels"],
                     source=source, checksum=_combine(digests))


def _canonical_digest(array: np.ndarray, stop: Callable[[], bool] | None = None) -> str:
    """sha256 of a uint8 array written as a canonical uncompressed IDX file: images as Nx28x28,
    labels as N. For a file that parsed as exactly that, it equals the sha256 of its content.
    Hashed 16 MB at a time, asking ``stop`` in between (a 1 GiB data set hashes for about 2 s)."""
    dims = array.shape
    if array.ndim == 2 and dims[1] == PIXELS:
        dims = (dims[0], SIDE, SIDE)
    header = struct.pack(f">BBBB{len(dims)}I", 0, 0, 0x08, len(dims), *dims)
    digest = hashlib.sha256(header)
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, _HASH_CHUNK):
        if stop is not None and stop():
            raise LoadCancelled("loading cancelled")
        digest.update(flat[start:start + _HASH_CHUNK].data)
    return digest.hexdigest()


def _combine(digests: list[str]) -> str:
    return hashlib.sha256("".join(digests).encode("ascii")).hexdigest()
