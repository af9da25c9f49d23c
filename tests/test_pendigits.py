"""Tests for mnist_gui.data.pendigits: the real file parses, and every kind of bad file gives one DatasetError."""
import gzip
import numpy as np
import pytest

from mnist_gui.data.pendigits import read_pendigits, split_by_writer, writer_folds
from mnist_gui.errors import DatasetError
from mnist_gui.resources_path import resource

REAL = resource("pendigits", "pendigits-orig.tra.gz")
GOOD = """.INCLUDE dene.doc
.LEXICON "0" "1"
.HIERARCHY DIGIT

.SEGMENT DIGIT    0 ? "8"
.COMMENT 8 12  224
.PEN_DOWN
 267  333
 267  336
.PEN_UP
.DT 100
.PEN_DOWN
 1 2
.PEN_UP
.DT 100

.SEGMENT DIGIT    1 ? "2"
.COMMENT 2 26   54
.PEN_DOWN
 10 20
.PEN_UP
"""


def write(tmp_path, text, gz=False, name="f.tra"):
    p = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


def test_real_file():
    d = read_pendigits(REAL)
    assert len(d) == 7494
    assert len({x.writer for x in d}) == 30
    assert d[0].label == 8 and d[0].writer == 12 and d[0].sample == 224
    assert d[0].strokes[0][0].tolist() == [267.0, 333.0]
    assert sum(len(x.strokes) for x in d) == 9433


@pytest.mark.parametrize("gz", [False, True])
def test_good(tmp_path, gz):
    d = read_pendigits(write(tmp_path, GOOD, gz))
    assert [x.label for x in d] == [8, 2]
    assert len(d[0].strokes) == 2 and d[0].strokes[0].shape == (2, 2)


BAD = {
    "truncated in stroke": (GOOD[:GOOD.index(" 267  336")], "line 9: file ends inside the stroke"),
    "point outside": (GOOD.replace(".DT 100\n.PEN_DOWN\n 1 2", ".DT 100\n 1 2\n.PEN_DOWN\n 1 2"), "line 12: a point"),
    "non numeric": (GOOD.replace(" 267  336", " 267  3x6"), "line 9: non-numeric"),
    "nan": (GOOD.replace(" 267  336", " nan  336"), "line 9: coordinates"),
    "three numbers": (GOOD.replace(" 267  336", " 267  336 4"), "line 9: a point must be"),
    "missing label": (GOOD.replace('0 ? "8"', "0 ?"), "line 5: a .SEGMENT line without"),
    "bad label": (GOOD.replace('0 ? "8"', '0 ? "x"'), "line 5: label 'x'"),
    "label mismatch": (GOOD.replace(".COMMENT 8 12", ".COMMENT 7 12"), "line 6: .COMMENT label 7"),
    "no comment": (GOOD.replace(".COMMENT 8 12  224\n", ""), "has no .COMMENT"),
    "empty digit": (GOOD.replace('.COMMENT 2 26   54\n.PEN_DOWN\n 10 20\n.PEN_UP\n', '.COMMENT 2 26 54\n'), "is empty"),
    "empty stroke": (GOOD.replace(".PEN_DOWN\n 1 2\n", ".PEN_DOWN\n"), "has no points"),
    "unbalanced up": (GOOD.replace(".DT 100\n.PEN_DOWN\n 1 2\n", ".DT 100\n"), ".PEN_UP without"),
    "huge coord": (GOOD.replace(" 267  336", " 1e300  336"), "line 9: coordinates"),
    "no digits": (".INCLUDE x\n", "no digits"),
    "binary": (b"\x00\x01garbage", "binary data"),
    "latin1": (GOOD.replace("dene", "d\xe9ne").encode("latin-1"), "line 1: non-ASCII"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("gz", [False, True])
def test_bad(tmp_path, case, gz):
    text, msg = BAD[case]
    p = write(tmp_path, text, gz)
    with pytest.raises(DatasetError) as e:
        read_pendigits(p)
    assert str(p) in str(e.value) and msg in str(e.value), str(e.value)


def test_caps(tmp_path):
    many = GOOD.replace(" 267  336\n", " 267  336\n" * 6000)
    with pytest.raises(DatasetError, match="more than 5,000 points in one digit"):
        read_pendigits(write(tmp_path, many))
    with pytest.raises(DatasetError, match="bytes of text"):
        read_pendigits(write(tmp_path, GOOD, gz=True), max_bytes=100)
    bomb = b"\n" * (80 << 20)
    with pytest.raises(DatasetError, match="bytes of text"):
        read_pendigits(write(tmp_path, bomb, gz=True))


def test_truncated_gzip(tmp_path):
    data = gzip.compress(GOOD.encode())
    p = tmp_path / "t.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated gzip"):
        read_pendigits(p)


def test_missing(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        read_pendigits(tmp_path / "nope")
    with pytest.raises(DatasetError, match="directory"):
        read_pendigits(tmp_path)


def test_fuzz_only_dataset_errors(tmp_path):
    rng = np.random.default_rng(0)
    base = GOOD.encode()
    for k in range(300):
        b = bytearray(base)
        for _ in range(rng.integers(1, 6)):
            op = rng.integers(3)
            pos = int(rng.integers(max(1, len(b))))
            if op == 0 and len(b) > 1:
                del b[pos]
            elif op == 1:
                b.insert(pos, int(rng.choice(list(b' .0123456789-\n"PENUDOWSGTabc'))))
            else:
                b = b[:pos]
        p = write(tmp_path, bytes(b), gz=bool(k % 2))
        try:
            read_pendigits(p)
        except DatasetError:
            pass


def test_split_and_folds():
    d = read_pendigits(REAL)
    folds = writer_folds([x.writer for x in d], k=5, seed=0)
    assert sorted(w for f in folds for w in f) == list(range(1, 31))
    assert all(len(f) == 6 for f in folds)
    tr, te = split_by_writer(d, folds[0])
    assert len(tr) + len(te) == len(d)
    assert not ({x.writer for x in tr} & {x.writer for x in te})
