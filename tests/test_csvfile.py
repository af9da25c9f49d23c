"""Tests for the MNIST CSV reader: the accepted forms, and a precise error (file and line) for
every kind of bad row."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mnist_gui.data.csvfile import read_csv
from mnist_gui.errors import DatasetError

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def rows_text(labels, images, header: str | None = None, newline: str = "\n") -> str:
    lines = [header] if header else []
    lines += [",".join(str(v) for v in [lab, *img]) for lab, img in zip(labels, images)]
    return newline.join(lines) + newline


@pytest.fixture
def sample():
    rng = np.random.default_rng(1)
    return (rng.integers(0, 10, size=4, dtype=np.uint8),
            rng.integers(0, 256, size=(4, 784), dtype=np.uint8))


def write(tmp_path, text: str | bytes, name: str = "mnist.csv"):
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def expect_error(path, *fragments: str) -> str:
    with pytest.raises(DatasetError) as info:
        read_csv(path)
    message = str(info.value)
    assert message.startswith(os.fspath(path))
    for fragment in fragments:
        assert fragment in message, message
    return message


def check(result, sample):
    images, labels = result
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert images.shape == (len(sample[0]), 784) and images.flags.c_contiguous
    np.testing.assert_array_equal(labels, sample[0])
    np.testing.assert_array_equal(images, sample[1])


def test_plain_rows(tmp_path, sample):
    check(read_csv(write(tmp_path, rows_text(*sample))), sample)


def test_header_row_is_skipped(tmp_path, sample):
    check(read_csv(write(tmp_path, rows_text(*sample, header=HEADER))), sample)


def test_other_header_style(tmp_path, sample):
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    check(read_csv(write(tmp_path, rows_text(*sample, header=header))), sample)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_other_line_ends(tmp_path, sample, newline):
    check(read_csv(write(tmp_path, rows_text(*sample, header=HEADER, newline=newline))), sample)


def test_bom_blank_lines_spaces_and_no_final_newline(tmp_path, sample):
    text = rows_text(*sample, header=HEADER).replace("\n", "\n\n", 1).replace(",", ", ")
    text = "\ufeff\n" + text.rstrip("\n") + "\n   \n"
    check(read_csv(write(tmp_path, text)), sample)


def test_empty_file(tmp_path):
    expect_error(write(tmp_path, ""), "empty")
    expect_error(write(tmp_path, "\n \n", "blank.csv"), "empty")


def test_header_only(tmp_path):
    expect_error(write(tmp_path, HEADER + "\n"), "no data rows")


def test_header_with_wrong_column_count(tmp_path):
    unlabelled = ",".join(f"pixel{i}" for i in range(784))
    expect_error(write(tmp_path, unlabelled + "\n"), "line 1", "784 columns", "no label")


def test_ragged_row_names_its_line(tmp_path, sample):
    lines = rows_text(*sample, header=HEADER).splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]
    expect_error(write(tmp_path, "\n".join(lines)), "line 4", "784 values", "785")


def test_wrong_column_count_everywhere(tmp_path, sample):
    text = rows_text(sample[0], sample[1][:, :700])
    expect_error(write(tmp_path, text), "line 1", "701 values")


@pytest.mark.parametrize("bad", ["x", "1.5", "", "1 2", "0x10", "nan"])
def test_non_numbers(tmp_path, sample, bad):
    lines = rows_text(*sample).splitlines()
    fields = lines[2].split(",")
    fields[10] = bad
    lines[2] = ",".join(fields)
    expect_error(write(tmp_path, "\n".join(lines)), "line 3", "column 11")


@pytest.mark.parametrize("value", ["256", "-1", "99999999999999999999999"])
def test_pixel_out_of_range(tmp_path, sample, value):
    lines = rows_text(*sample).splitlines()
    fields = lines[1].split(",")
    fields[784] = value
    lines[1] = ",".join(fields)
    expect_error(write(tmp_path, "\n".join(lines)), "line 2", "column 785", "outside 0-255")


@pytest.mark.parametrize("label", ["10", "255", "-3"])
def test_label_out_of_range(tmp_path, sample, label):
    text = rows_text(*sample, header=HEADER)
    lines = text.splitlines()
    lines[4] = label + lines[4][lines[4].index(","):]
    expect_error(write(tmp_path, "\n".join(lines)), "line 5", f"label {int(label)}", "0-9")


def test_label_out_of_range_line_number_counts_blank_lines(tmp_path, sample):
    lines = rows_text(*sample).splitlines()
    lines[3] = "12" + lines[3][lines[3].index(","):]
    expect_error(write(tmp_path, "\n\n".join(lines)), "line 7", "label 12")


def test_binary_file(tmp_path):
    import gzip

    expect_error(write(tmp_path, gzip.compress(b"1,2,3")), "not a CSV", "gzip")


def test_missing_and_folder(tmp_path):
    expect_error(tmp_path / "none.csv", "not found")
    expect_error(tmp_path, "folder")


def test_sixty_thousand_rows_correct(tmp_path):
    # Correctness at full size, through the fast path; speed is measured by a benchmark, not
    # asserted here. 100 distinct rows repeated 600 times keep writing the file cheap.
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, size=100, dtype=np.uint8)
    images = rng.integers(0, 256, size=(100, 784), dtype=np.uint8)
    images[:, :620] = 0  # mostly "0", like real MNIST (about 80% of its pixels)
    block = rows_text(labels, images)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n" + block * 600)
    got_images, got_labels = read_csv(path)
    np.testing.assert_array_equal(got_labels, np.tile(labels, 600))
    np.testing.assert_array_equal(got_images, np.tile(images, (600, 1)))


@pytest.mark.parametrize("bad", ["\t", " ", "+", "-", "+ 3", "3 4"])
def test_careful_path_is_as_strict_as_the_fast_one(tmp_path, sample, bad):
    # A bad file is diagnosed line by line, where np.fromstring alone would read these as 0;
    # the lone \r line ends also exercise the second fast attempt on the way.
    lines = rows_text(*sample).splitlines()
    fields = lines[1].split(",")
    fields[5] = bad
    lines[1] = ",".join(fields)
    expect_error(write(tmp_path, "\r".join(lines) + "\r"), "line 2", "column 6")


def test_careful_path_label_256_does_not_wrap_to_0(tmp_path, sample):
    lines = rows_text(*sample).splitlines()
    lines[2] = "256" + lines[2][lines[2].index(","):]
    expect_error(write(tmp_path, "\r".join(lines)), "line 3", "label 256")


def test_careful_path_reads_a_valid_file_the_fast_path_refuses(tmp_path, sample):
    # NumPy's parser refuses a line of only spaces; the careful path skips it like a blank line.
    text = rows_text(*sample, header=HEADER).replace("\n", "\n   \n", 2)
    check(read_csv(write(tmp_path, text)), sample)
