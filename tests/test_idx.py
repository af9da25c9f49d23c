"""Tests for the IDX reader: round trips of small files we write ourselves, and each way a file
can be malformed, all of which must end in a DatasetError naming the file."""

from __future__ import annotations

import gzip
import os
import struct
import sys
import zlib

import numpy as np
import pytest

from mnist_gui.data.idx import IDX_TYPES, read_idx
from mnist_gui.errors import DatasetError


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode an array as an IDX file, independently of the reader under test."""
    dtype = IDX_TYPES[type_code]
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(dtype).tobytes()


def write(path, data: bytes, compress: bool = False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def expect_error(path, *fragments: str) -> str:
    with pytest.raises(DatasetError) as info:
        read_idx(path)
    message = str(info.value)
    assert os.fspath(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_uint8_round_trip(tmp_path, images, compress):
    path = write(tmp_path / "imgs", idx_bytes(images), compress)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)
    assert out.flags.writeable and out.flags.c_contiguous


@pytest.mark.parametrize("type_code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_every_type_code_round_trips_in_native_order(tmp_path, type_code):
    values = np.arange(-3, 9).reshape(3, 4)
    if type_code == 0x08:
        values = values + 3
    path = write(tmp_path / "x.gz", idx_bytes(values, type_code), compress=True)
    out = read_idx(path)
    assert out.dtype == IDX_TYPES[type_code].newbyteorder("=")
    np.testing.assert_array_equal(out, values.astype(out.dtype))


def test_labels_one_dimension(tmp_path):
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    out = read_idx(write(tmp_path / "l", idx_bytes(labels)))
    np.testing.assert_array_equal(out, labels)


def test_zero_items_is_a_valid_empty_array(tmp_path):
    out = read_idx(write(tmp_path / "e", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert out.shape == (0, 28, 28)


def test_compression_is_detected_by_content_not_name(tmp_path, images):
    # A browser that un-gzips a download keeps the .gz name; gzip data without .gz is read too.
    raw_named_gz = write(tmp_path / "a.gz", idx_bytes(images))
    gz_named_raw = write(tmp_path / "b", idx_bytes(images), compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz), images)
    np.testing.assert_array_equal(read_idx(gz_named_raw), images)


def test_concatenated_gzip_members_are_joined(tmp_path, images):
    data = idx_bytes(images)
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]))
    np.testing.assert_array_equal(read_idx(path), images)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data_reports_declared_and_actual_sizes(tmp_path, images, compress):
    data = idx_bytes(images)[:-1000]
    path = write(tmp_path / "train-images-idx3-ubyte.gz", data, compress)
    message = expect_error(path, "truncated", "3x28x28", "2352 bytes", "1352")
    assert message.startswith(os.fspath(path))


@pytest.mark.parametrize("compress", [False, True])
def test_trailing_garbage_is_an_error(tmp_path, images, compress):
    path = write(tmp_path / "x", idx_bytes(images) + b"\0", compress)
    expect_error(path, "trailing garbage")


def test_bytes_after_the_gzip_stream_are_an_error(tmp_path, images):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)) + b"garbage")
    expect_error(path, "trailing garbage")


def test_zero_padding_after_the_gzip_stream_is_accepted(tmp_path, images):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)) + b"\0" * 8)
    np.testing.assert_array_equal(read_idx(path), images)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_header(tmp_path, images, compress):
    expect_error(write(tmp_path / "a", idx_bytes(images)[:2], compress), "truncated", "magic")
    expect_error(write(tmp_path / "b", idx_bytes(images)[:10], compress), "truncated",
                 "3 dimensions")


def test_bad_magic(tmp_path, images):
    data = bytearray(idx_bytes(images))
    data[0] = 1
    expect_error(write(tmp_path / "x", bytes(data)), "not an IDX file")


def test_html_page_is_named_as_such(tmp_path):
    expect_error(write(tmp_path / "x.gz", b"<!DOCTYPE html><html>Not found</html>"), "HTML")


def test_unknown_type_code(tmp_path, images):
    data = bytearray(idx_bytes(images))
    data[2] = 0x0A
    expect_error(write(tmp_path / "x", bytes(data)), "type code 0x0A")


def test_zero_dimensions(tmp_path):
    expect_error(write(tmp_path / "x", b"\0\0\x08\0"), "zero dimensions")


@pytest.mark.parametrize("compress", [False, True])
def test_absurd_declared_size_does_not_allocate(tmp_path, compress):
    # 2**31 x 2**31 float64 would be 2**65 bytes: must be refused after reading a few bytes.
    header = struct.pack(">BBBBII", 0, 0, 0x0E, 2, 2**31, 2**31)
    expect_error(write(tmp_path / "x", header + b"\0" * 64, compress), "truncated",
                 "2147483648x2147483648")


def test_gzip_is_decompressed_in_bounded_pieces(tmp_path, monkeypatch):
    # A worker loading MNIST must not hold the GIL for long stretches (the window would stutter):
    # zlib is asked for at most _OUTPUT_CHUNK bytes per call, and the output buffer grows by
    # doubling across many pieces and two gzip members; the result must be exact.
    from mnist_gui.data import idx

    asked = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, **kwargs):
            self._d = real(**kwargs)

        def decompress(self, data, max_length=0):
            asked.append(max_length)
            return self._d.decompress(data, max_length)

        def __getattr__(self, name):
            return getattr(self._d, name)

    monkeypatch.setattr(idx, "_OUTPUT_CHUNK", 1000)
    monkeypatch.setattr(idx, "_FIRST_BUFFER", 300)
    monkeypatch.setattr(idx.zlib, "decompressobj", Spy)
    values = np.random.default_rng(1).integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    data = idx_bytes(values)
    path = tmp_path / "two-members.gz"
    path.write_bytes(gzip.compress(data[:9000]) + gzip.compress(data[9000:]))
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.flags.writeable
    assert len(asked) > 30 and 0 < max(asked) <= 1000


def test_gzip_bomb_is_capped_by_declared_size(tmp_path):
    # Header declares 10 bytes; the stream would inflate to 64 MB of zeros. We must stop at 11.
    payload = struct.pack(">BBBBI", 0, 0, 0x08, 1, 10) + b"\0" * (64 << 20)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(payload, 9))
    assert path.stat().st_size < 200_000
    expect_error(path, "trailing garbage")


def test_max_bytes_limit(tmp_path, images):
    path = write(tmp_path / "x.gz", idx_bytes(images), compress=True)
    with pytest.raises(DatasetError, match="too large"):
        read_idx(path, max_bytes=1000)
    with pytest.raises(DatasetError, match="too large"):
        read_idx(write(tmp_path / "raw", idx_bytes(images)), max_bytes=1000)


def test_corrupt_gzip_stream(tmp_path, images):
    data = bytearray(gzip.compress(idx_bytes(images)))
    data[len(data) // 2] ^= 0xFF
    data[len(data) // 2 + 1] ^= 0xFF
    expect_error(write(tmp_path / "x.gz", bytes(data)))


def test_gzip_crc_is_checked(tmp_path, images):
    data = bytearray(gzip.compress(idx_bytes(images)))
    data[-8] ^= 0x01  # the CRC32 in the trailer
    expect_error(write(tmp_path / "x.gz", bytes(data)), "gzip")


def test_truncated_gzip_stream(tmp_path, images):
    data = gzip.compress(idx_bytes(images))
    expect_error(write(tmp_path / "x.gz", data[: len(data) // 2]), "truncated")


def test_empty_file(tmp_path):
    expect_error(write(tmp_path / "x", b""), "empty")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.gz", "not found")


def test_directory(tmp_path):
    expect_error(tmp_path, "folder")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root can read anything; no POSIX permissions on Windows")
def test_unreadable_file(tmp_path, images):
    path = write(tmp_path / "x", idx_bytes(images))
    path.chmod(0)
    try:
        expect_error(path, "permission denied")
    finally:
        path.chmod(0o600)


def test_real_bundled_file_header():
    from mnist_gui.resources_path import resource

    labels = read_idx(resource("mnist", "t10k-labels-idx1-ubyte.gz"))
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the famous first test digits
