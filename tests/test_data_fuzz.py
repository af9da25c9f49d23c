"""Seeded fuzzing of the IDX reader, the CSV reader and the folder loader.

Each test mutates a tiny valid file (3 images of 28x28) a thousand times in one way — truncation,
header byte flips, random magic and type codes, dimensions that disagree with the data, absurd
declared sizes, corrupt gzip, bad labels, mismatched counts, ragged CSV rows, non-numbers,
out-of-range values, wrong column counts, empty and header-only files — and demands that every
case ends either in a DatasetError whose message names the file, or in a valid, well-formed result
(some mutations happen to produce a valid file). Any other exception is a bug in the reader.
"""

from __future__ import annotations

import gzip
import os
import random
import struct

import numpy as np
import pytest

from mnist_gui.data import load_mnist, read_csv, read_idx
from mnist_gui.data.idx import IDX_TYPES
from mnist_gui.errors import DatasetError

CASES = 1000
N_IMAGES = 3


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(IDX_TYPES[type_code]).tobytes()


def put(path, data: bytes) -> None:
    """Write a fresh file. Overwriting in place makes ext4 flush on close (its auto_da_alloc
    safeguard against truncate-and-rewrite), which made this file several times slower."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(123).integers(0, 256, size=(N_IMAGES, 28, 28), dtype=np.uint8)


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    return np.array([3, 1, 4], dtype=np.uint8)


def try_idx(path, content: bytes, raw_size: int | None = None) -> str:
    """Write ``content``, read it; "error" or "ok". ``raw_size``: the uncompressed size, to check
    a successful result against (None when it is unknown)."""
    put(path, content)
    try:
        array = read_idx(path)
    except DatasetError as exc:
        assert str(exc).startswith(os.fspath(path)), str(exc)
        return "error"
    assert isinstance(array, np.ndarray) and array.ndim >= 1
    assert array.dtype.isnative and array.dtype.kind in "uif"
    if raw_size is not None:
        assert 4 + 4 * array.ndim + array.nbytes == raw_size
    return "ok"


def tally(outcomes: list[str]) -> dict[str, int]:
    return {k: outcomes.count(k) for k in set(outcomes)}


# --- IDX ---------------------------------------------------------------------------------------


def test_idx_truncated_anywhere(tmp_path, images):
    rng = random.Random(1)
    valid = idx_bytes(images)
    packed = gz(valid)
    outcomes = []
    for i in range(CASES):
        if i % 2:
            outcomes.append(try_idx(tmp_path / "t.gz", packed[: rng.randrange(len(packed))]))
        else:
            outcomes.append(try_idx(tmp_path / "t", valid[: rng.randrange(len(valid))]))
    assert outcomes.count("error") == CASES  # every truncation is detectable


def test_idx_header_byte_flips(tmp_path, images):
    rng = random.Random(2)
    valid = idx_bytes(images)
    outcomes = []
    for i in range(CASES):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(16)] = rng.randrange(256)
        compress = i % 3 == 0
        outcomes.append(try_idx(tmp_path / "h", gz(bytes(data)) if compress else bytes(data),
                                len(data)))
    assert outcomes.count("error") > CASES * 0.9, tally(outcomes)


def test_idx_random_magic_and_type_code(tmp_path, images):
    rng = random.Random(3)
    payload = idx_bytes(images)[4:]
    outcomes = []
    for i in range(CASES):
        if i % 2:
            magic = bytes([0, 0, rng.randrange(256), rng.choice([1, 2, 3, 4, rng.randrange(256)])])
        else:
            magic = bytes(rng.randrange(256) for _ in range(4))
        data = magic + payload
        outcomes.append(try_idx(tmp_path / "m", gz(data) if i % 5 == 0 else data, len(data)))
    assert "error" in outcomes


def test_idx_dimensions_not_matching_length(tmp_path):
    rng = random.Random(4)
    outcomes = []
    for i in range(CASES):
        type_code = rng.choice(list(IDX_TYPES))
        ndim = rng.randint(1, 4)
        dims = [rng.randint(0, 12) for _ in range(ndim)]
        declared = int(np.prod(dims)) * IDX_TYPES[type_code].itemsize
        length = max(0, declared + rng.choice([-3, -1, 1, 2, 50, rng.randint(-declared, 100)]))
        data = struct.pack(f">BBBB{ndim}I", 0, 0, type_code, ndim, *dims) + os.urandom(length)
        outcome = try_idx(tmp_path / "d", gz(data) if i % 2 else data, len(data))
        assert (outcome == "ok") == (length == declared)
        outcomes.append(outcome)


def test_idx_absurd_declared_sizes(tmp_path):
    rng = random.Random(5)
    huge = [2**31, 2**32 - 1, 2**31 - 1, 2**24, 60000 * 1000]
    for i in range(CASES):
        ndim = rng.randint(1, 4)
        dims = [rng.choice(huge + [rng.randint(1, 2**32 - 1)]) for _ in range(ndim)]
        type_code = rng.choice(list(IDX_TYPES))
        data = struct.pack(f">BBBB{ndim}I", 0, 0, type_code, ndim, *dims)
        data += b"\0" * rng.randint(0, 64)
        assert try_idx(tmp_path / "a", gz(data) if i % 2 else data) == "error"


def test_idx_corrupt_gzip_bytes(tmp_path, images):
    rng = random.Random(6)
    packed = gz(idx_bytes(images))
    outcomes = []
    for _ in range(CASES):
        data = bytearray(packed)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        outcomes.append(try_idx(tmp_path / "c.gz", bytes(data)))
    assert outcomes.count("error") > CASES * 0.9, tally(outcomes)


def test_idx_trailing_garbage(tmp_path, images):
    rng = random.Random(7)
    valid = idx_bytes(images)
    for i in range(CASES):
        extra = os.urandom(rng.randint(1, 40))
        if i % 2:
            assert try_idx(tmp_path / "g", valid + extra) == "error"
        elif extra.strip(b"\0"):  # zero padding after a gzip member is legal, as for gunzip
            assert try_idx(tmp_path / "g.gz", gz(valid) + extra) == "error"


# --- folders through load_mnist --------------------------------------------------------------


STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def check_dataset(data) -> None:
    for x, y in ((data.train_images, data.train_labels), (data.test_images, data.test_labels)):
        assert x.dtype == np.uint8 and x.ndim == 2 and x.shape[1] == 784
        assert y.dtype == np.uint8 and y.shape == (x.shape[0],) and x.shape[0] > 0
        assert int(y.max()) <= 9
    assert len(data.checksum) == 64


def try_folder(folder, mutated_file) -> str:
    try:
        data = load_mnist(folder)
    except DatasetError as exc:
        message = str(exc)
        assert os.fspath(folder) in message and mutated_file in message, message
        return "error"
    check_dataset(data)
    return "ok"


@pytest.fixture
def idx_folder(tmp_path, images, labels):
    for stem, array in zip(STEMS, (images, labels, images, labels)):
        put(tmp_path / stem, idx_bytes(array))
    return tmp_path


def test_folder_label_values(idx_folder, labels):
    rng = np.random.default_rng(8)
    for i in range(CASES):
        stem = STEMS[1 + 2 * (i % 2)]
        bad = labels.copy()
        bad[rng.integers(0, len(bad))] = rng.integers(0, 256)
        put(idx_folder / stem, idx_bytes(bad))
        outcome = try_folder(idx_folder, stem)
        assert (outcome == "ok") == bool(bad.max() <= 9)
        put(idx_folder / stem, idx_bytes(labels))


def test_folder_mismatched_counts(idx_folder, images, labels):
    rng = random.Random(9)
    for i in range(CASES):
        stem = rng.choice(STEMS)
        n = rng.randint(0, 6)
        if "images" in stem:
            array = np.resize(images, (n, 28, 28))
        else:
            array = np.resize(labels, n)
        put(idx_folder / stem, gz(idx_bytes(array)) if i % 4 == 0 else idx_bytes(array))
        assert (try_folder(idx_folder, stem) == "ok") == (n == N_IMAGES)
        put(idx_folder / stem, idx_bytes(images if "images" in stem else labels))


# --- CSV ---------------------------------------------------------------------------------------


HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


@pytest.fixture(scope="module")
def csv_rows(images, labels) -> list[list[str]]:
    return [[str(lab), *map(str, img.reshape(-1).tolist())] for img, lab in zip(images, labels)]


def render(rows: list[list[str]], header: bool, case: int = 0) -> str:
    """CSV text. Every fourth case ends its lines with a lone CR and adds a line of spaces, which
    NumPy's parser refuses even in a valid file, so the reader's careful line-by-line path gets
    fuzzed as well as its fast path."""
    lines = ([HEADER] if header else []) + [",".join(r) for r in rows]
    if case % 4 == 3:
        return "\r".join(lines + ["   "]) + "\r"
    return "\n".join(lines) + "\n"


def try_csv(path, text: str | bytes) -> str:
    put(path, text.encode("utf-8") if isinstance(text, str) else text)
    try:
        images, labels = read_csv(path)
    except DatasetError as exc:
        assert str(exc).startswith(os.fspath(path)), str(exc)
        return "error"
    assert images.dtype == np.uint8 and images.ndim == 2 and images.shape[1] == 784
    assert labels.dtype == np.uint8 and labels.shape == (images.shape[0],) and len(labels) > 0
    assert int(labels.max()) <= 9 and images.flags.c_contiguous
    return "ok"


def test_csv_ragged_rows(tmp_path, csv_rows):
    rng = random.Random(10)
    for i in range(CASES):
        rows = [list(r) for r in csv_rows]
        row = rng.choice(rows)
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 5)):
                del row[rng.randrange(len(row))]
        else:
            for _ in range(rng.randint(1, 5)):
                row.insert(rng.randrange(len(row) + 1), str(rng.randrange(10)))
        assert try_csv(tmp_path / "r.csv", render(rows, header=i % 2 == 0, case=i)) == "error"


JUNK = ["x", "1.5", "", " ", "1 2", "0x1f", "nan", "inf", "--1", "1e3", "+", "\"3\"", "٣",
        "12a", "\t", "1,", "ÿ"]


def test_csv_non_numbers(tmp_path, csv_rows):
    rng = random.Random(11)
    for i in range(CASES):
        rows = [list(r) for r in csv_rows]
        r = rng.randrange(len(rows))
        c = rng.randrange(785)
        made_up = "".join(rng.choice("abc-+.e 9") for _ in range(rng.randint(1, 4)))
        junk = rng.choice(JUNK + [made_up])
        rows[r][c] = junk
        outcome = try_csv(tmp_path / "n.csv", render(rows, header=i % 2 == 0, case=i))
        stripped = junk.strip()
        if not (stripped.lstrip("+").isdigit() and stripped.isascii()):
            # (a lone " 9 " or "+9" is a valid number; everything else here is not)
            if not (r == 0 and i % 2 and any(ch.isalpha() for ch in junk)):
                assert outcome == "error", (junk, r, c)


def test_csv_out_of_range(tmp_path, csv_rows):
    rng = random.Random(12)
    for i in range(CASES):
        rows = [list(r) for r in csv_rows]
        r = rng.randrange(len(rows))
        if i % 2:
            rows[r][0] = str(rng.choice([10, 11, 99, 255, 256, -1, rng.randint(10, 10**9)]))
        else:
            rows[r][rng.randrange(1, 785)] = str(rng.choice([256, 1000, -1, -255, 10**30]))
        assert try_csv(tmp_path / "o.csv", render(rows, header=i % 3 == 0, case=i)) == "error"


def test_csv_wrong_column_count(tmp_path, csv_rows):
    rng = random.Random(13)
    for i in range(CASES):
        n = rng.choice([1, 2, 783, 784, 786, 790, rng.randint(1, 1600)])
        if n == 785:
            n = 784
        rows = [(r * 3)[:n] for r in csv_rows]
        header = i % 2 == 0
        text = render(rows, header=False, case=i)
        if header:
            text = ",".join(f"c{k}" for k in range(n)) + "\n" + text
        assert try_csv(tmp_path / "w.csv", text) == "error"


def test_csv_empty_and_header_only(tmp_path):
    rng = random.Random(14)
    blanks = ["", "\n", "\r\n", " ", "\t\n\n", "\ufeff", "  \n \n"]
    for i in range(CASES):
        text = "".join(rng.choice(blanks) for _ in range(rng.randint(0, 4)))
        if i % 2:
            text += HEADER + "".join(rng.choice(blanks) for _ in range(rng.randint(0, 4)))
        data = text.encode("utf-8")
        assert try_csv(tmp_path / "e.csv", data) == "error"


def test_csv_truncated_or_mutated_anywhere(tmp_path, csv_rows):
    rng = random.Random(15)
    valid = render(csv_rows, header=True).encode()
    outcomes = []
    for i in range(CASES):
        if i % 2:
            data = valid[: rng.randrange(len(valid))]
        else:
            data = bytearray(valid)
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        outcomes.append(try_csv(tmp_path / "t.csv", data))
    assert outcomes.count("error") > CASES * 0.5, tally(outcomes)


def test_csv_label_out_of_range_via_single_csv_loader(tmp_path, csv_rows):
    # load_mnist on one CSV file: at least 7 rows, the last one held out.
    rng = random.Random(16)
    path = tmp_path / "all.csv"
    for i in range(CASES // 10):
        rows = [list(r) for r in csv_rows * 3]
        rows[rng.randrange(len(rows))][0] = str(rng.randint(10, 300))
        put(path, render(rows, header=bool(i % 2)).encode())
        with pytest.raises(DatasetError) as info:
            load_mnist(path)
        assert os.fspath(path) in str(info.value)
