"""Tests for the MNIST loaders: the bundled copy and its checksum, folders of IDX files in both
namings, CSV folders and single CSV files, and the consistency checks between the parts."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct

import numpy as np
import pytest

from mnist_gui.data import MnistData, load_bundled, load_mnist
from mnist_gui.data.mnist import BUNDLED_SOURCE, content_checksum
from mnist_gui.errors import DatasetError
from mnist_gui.resources_path import resource

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def tiny_set(n_train: int = 5, n_test: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_train, dtype=np.uint8),
            rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n_test, dtype=np.uint8))


def write_idx_folder(folder, arrays, dotted: bool = False, gz: bool = False):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(STEMS, arrays):
        name = stem.replace("-idx", ".idx") if dotted else stem
        data = idx_bytes(array)
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz else data)
    return folder


def csv_text(images, labels, header: bool = True) -> str:
    lines = ["label," + ",".join(f"pixel{i}" for i in range(784))] if header else []
    lines += [",".join(map(str, [lab, *img.reshape(-1)])) for img, lab in zip(images, labels)]
    return "\n".join(lines) + "\n"


def assert_same(data: MnistData, arrays):
    train_images, train_labels, test_images, test_labels = arrays
    np.testing.assert_array_equal(data.train_images, train_images.reshape(-1, 784))
    np.testing.assert_array_equal(data.train_labels, train_labels)
    np.testing.assert_array_equal(data.test_images, test_images.reshape(-1, 784))
    np.testing.assert_array_equal(data.test_labels, test_labels)
    for a in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        assert a.dtype == np.uint8 and a.flags.c_contiguous and not a.flags.writeable
    assert data.checksum == content_checksum(data)


# --- the bundled copy ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    return load_bundled()


def test_bundled_shapes_and_labels(bundled):
    assert bundled.train_images.shape == (60000, 784)
    assert bundled.train_labels.shape == (60000,)
    assert bundled.test_images.shape == (10000, 784)
    assert bundled.test_labels.shape == (10000,)
    assert bundled.train_images.dtype == np.uint8 and bundled.train_images.flags.c_contiguous
    assert set(np.unique(bundled.train_labels)) == set(range(10))
    assert int(bundled.test_labels.max()) == 9
    assert bundled.source == BUNDLED_SOURCE
    assert bundled.train_labels[:5].tolist() == [5, 0, 4, 1, 9]  # MNIST's first training digits


def test_bundled_checksum_is_the_checksum_of_sha256sums(bundled):
    lines = resource("mnist", "SHA256SUMS").read_text().splitlines()
    digests = dict(reversed(line.split()) for line in lines if line and not line.startswith("#"))
    expected = hashlib.sha256("".join(digests[s] for s in STEMS).encode()).hexdigest()
    assert bundled.checksum == expected == content_checksum(bundled)
    assert load_bundled(verify=False).checksum == expected


def test_load_mnist_none_is_bundled(bundled):
    data = load_mnist(None)
    assert data.checksum == bundled.checksum and data.source == BUNDLED_SOURCE


def test_bundled_arrays_are_read_only(bundled):
    with pytest.raises(ValueError):
        bundled.train_images[0, 0] = 1


@pytest.fixture
def bundled_copy(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(resource("mnist"), folder)
    return folder


def test_bundled_copy_in_other_directory_loads(bundled_copy, bundled):
    assert load_bundled(directory=bundled_copy).checksum == bundled.checksum


def test_corrupt_bundled_copy_is_detected(bundled_copy):
    # Flip one pixel of the test images but keep a valid gzip and IDX structure.
    path = bundled_copy / "t10k-images-idx3-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[5000] ^= 0x01
    path.write_bytes(gzip.compress(bytes(content), compresslevel=1))
    with pytest.raises(DatasetError) as info:
        load_bundled(directory=bundled_copy)
    message = str(info.value)
    assert os.fspath(path) in message and "corrupt" in message
    load_bundled(directory=bundled_copy, verify=False)  # the check is what caught it


def test_truncated_bundled_file_says_damaged(bundled_copy):
    path = bundled_copy / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="bundled copy is damaged") as info:
        load_bundled(directory=bundled_copy)
    assert os.fspath(path) in str(info.value)


def test_missing_sha256sums(bundled_copy):
    (bundled_copy / "SHA256SUMS").unlink()
    with pytest.raises(DatasetError, match="SHA256SUMS"):
        load_bundled(directory=bundled_copy)


# --- folders of IDX files --------------------------------------------------------------------


@pytest.mark.parametrize("dotted", [False, True])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_both_namings(tmp_path, dotted, gz):
    arrays = tiny_set()
    folder = write_idx_folder(tmp_path / "d", arrays, dotted=dotted, gz=gz)
    data = load_mnist(folder)
    assert_same(data, arrays)
    assert data.source == os.fspath(folder)


def test_idx_folder_mixed_compression_and_subfolders(tmp_path):
    # As some zip downloads unpack: train-images-idx3-ubyte/train-images-idx3-ubyte
    arrays = tiny_set()
    folder = tmp_path / "d"
    write_idx_folder(folder, arrays, gz=True)
    (folder / "train-images-idx3-ubyte.gz").unlink()
    (folder / "train-images-idx3-ubyte").mkdir()
    nested = folder / "train-images-idx3-ubyte" / "train-images-idx3-ubyte"
    nested.write_bytes(idx_bytes(arrays[0]))
    assert_same(load_mnist(folder), arrays)


def test_one_idx_file_loads_its_folder(tmp_path):
    arrays = tiny_set()
    folder = write_idx_folder(tmp_path / "d", arrays, gz=True)
    assert_same(load_mnist(folder / "t10k-labels-idx1-ubyte.gz"), arrays)


def test_same_content_same_checksum_across_formats(tmp_path):
    arrays = tiny_set()
    a = load_mnist(write_idx_folder(tmp_path / "raw", arrays))
    b = load_mnist(write_idx_folder(tmp_path / "gz", arrays, dotted=True, gz=True))
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    (csv_dir / "mnist_train.csv").write_text(csv_text(arrays[0], arrays[1]))
    (csv_dir / "mnist_test.csv").write_text(csv_text(arrays[2], arrays[3], header=False))
    c = load_mnist(csv_dir)
    assert a.checksum == b.checksum == c.checksum
    other = load_mnist(write_idx_folder(tmp_path / "other", tiny_set(seed=1)))
    assert other.checksum != a.checksum


def test_missing_file_lists_names_looked_for(tmp_path):
    folder = write_idx_folder(tmp_path / "d", tiny_set())
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError) as info:
        load_mnist(folder)
    message = str(info.value)
    assert os.fspath(folder) in message
    assert "t10k-labels-idx1-ubyte.gz" in message and "t10k-labels.idx1-ubyte" in message
    assert "train-images" not in message


def test_empty_folder_lists_everything(tmp_path):
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert os.fspath(tmp_path) in message
    for stem in STEMS:
        assert stem in message
    assert "CSV" in message


def test_mismatched_counts(tmp_path):
    train_images, train_labels, test_images, test_labels = tiny_set()
    folder = write_idx_folder(tmp_path / "d", (train_images, train_labels[:4], test_images,
                                                test_labels))
    with pytest.raises(DatasetError, match="5 train images but .* has 4 labels"):
        load_mnist(folder)


def test_images_not_28x28(tmp_path):
    train_images, train_labels, test_images, test_labels = tiny_set()
    bad = np.zeros((5, 27, 27), np.uint8)
    folder = write_idx_folder(tmp_path / "d", (bad, train_labels, test_images, test_labels))
    with pytest.raises(DatasetError, match="28x28") as info:
        load_mnist(folder)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_label_out_of_range(tmp_path):
    train_images, train_labels, test_images, test_labels = tiny_set()
    test_labels = test_labels.copy()
    test_labels[2] = 10
    folder = write_idx_folder(tmp_path / "d",
                              (train_images, train_labels, test_images, test_labels))
    with pytest.raises(DatasetError, match="label 10 at index 2") as info:
        load_mnist(folder)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_images_must_be_bytes(tmp_path):
    folder = write_idx_folder(tmp_path / "d", tiny_set())
    header = struct.pack(">BBBBI", 0, 0, 0x0B, 1, 3)  # int16 labels
    (folder / "t10k-labels-idx1-ubyte").write_bytes(header + b"\0\1\0\2\0\3")
    with pytest.raises(DatasetError, match="uint8"):
        load_mnist(folder)


def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_mnist(tmp_path / "nowhere")


def test_unknown_single_file(tmp_path):
    path = tmp_path / "digits.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(DatasetError, match="not an MNIST data set"):
        load_mnist(path)


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_folder(tmp_path):
    arrays = tiny_set()
    (tmp_path / "mnist_train.csv").write_text(csv_text(arrays[0], arrays[1]))
    (tmp_path / "mnist_test.csv").write_text(csv_text(arrays[2], arrays[3]))
    data = load_mnist(tmp_path)
    assert_same(data, arrays)


def test_csv_folder_ambiguous(tmp_path):
    arrays = tiny_set()
    for name in ("a_train.csv", "b_train.csv", "test.csv"):
        (tmp_path / name).write_text(csv_text(arrays[0], arrays[1]))
    with pytest.raises(DatasetError, match="ambiguous"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("n, n_test", [(7, 1), (20, 2), (76, 10)])
def test_single_csv_holds_out_the_last_rows(tmp_path, n, n_test):
    rng = np.random.default_rng(n)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    images = np.zeros((n, 784), np.uint8)
    images[:, 0] = np.arange(n) % 256
    path = tmp_path / "all.csv"
    zeros = ",0" * 783
    path.write_text("".join(f"{lab},{px}{zeros}\n" for lab, px in zip(labels, images[:, 0])))
    data = load_mnist(path)
    assert data.n_test == n_test and data.n_train == n - n_test
    np.testing.assert_array_equal(data.test_labels, labels[n - n_test:])
    np.testing.assert_array_equal(data.train_images, images[:n - n_test])
    assert "held out" in data.source


def test_single_csv_test_set_is_capped_at_10000(tmp_path, monkeypatch):
    # Reading 70,007 real rows would take seconds; the split logic is what is tested here.
    n = 70007
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = np.zeros((n, 784), np.uint8)
    monkeypatch.setattr("mnist_gui.data.mnist.read_csv", lambda path, stop=None: (images, labels))
    path = tmp_path / "all.csv"
    path.write_text("")
    data = load_mnist(path)
    assert (data.n_train, data.n_test) == (60007, 10000)
    np.testing.assert_array_equal(data.test_labels, labels[60007:])


def test_single_csv_too_small(tmp_path):
    path = tmp_path / "six.csv"
    path.write_text(csv_text(np.zeros((6, 784), np.uint8), np.zeros(6, np.uint8)))
    with pytest.raises(DatasetError, match="at least 7") as info:
        load_mnist(path)
    assert os.fspath(path) in str(info.value)


# --- the data class ------------------------------------------------------------------------


def test_from_arrays_validates_and_does_not_freeze_the_callers_arrays():
    arrays = tiny_set()
    data = MnistData.from_arrays(*arrays, source="test")
    assert_same(data, arrays)
    assert arrays[0].flags.writeable
    with pytest.raises(DatasetError, match="label"):
        MnistData.from_arrays(arrays[0], arrays[1] + 10, arrays[2], arrays[3])


def test_constructor_rejects_wrong_shapes():
    a = np.zeros((2, 784), np.uint8)
    with pytest.raises(ValueError):
        MnistData(a, np.zeros(3, np.uint8), a, np.zeros(2, np.uint8), "x", "0")
    with pytest.raises(ValueError):
        MnistData(a.astype(np.float32), np.zeros(2, np.uint8), a, np.zeros(2, np.uint8), "x", "0")


def test_repr_is_short(bundled):
    assert len(repr(bundled)) < 150 and "60000" in repr(bundled)
