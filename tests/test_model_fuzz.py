"""Seeded fuzzing of ``load_model``: every damaged model file is a ModelFileError naming the file.

A small valid model file (784-16-10, as written by ``save_model``) is mutated a thousand-odd times:
truncated, bytes flipped in each part of the archive (central directory, local headers, ``.npy``
headers, the JSON metadata, anywhere), replaced by something that is not a zip, rebuilt with arrays
missing, extra, duplicated, of the wrong shape or dtype, holding NaN/inf or absurdly large weights,
``.npy`` headers declaring enormous shapes, metadata that is not JSON, not an object, a newer format
version, or has fields of the wrong type; and re-compressed (deflate) archives with damaged streams.

Every case must end in exactly one of two ways: a :class:`ModelFileError` whose message names the
file, or a valid :class:`Model` whose ``predict_proba`` gives finite probabilities that sum to 1 and
whose metadata the GUI can show (``test_accuracy``, ``describe``). Anything else is a bug in the
loader. Each case must take well under a second and must not allocate memory for an array the
file does not contain.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections import Counter

import numpy as np
import pytest

from helpers import report_fuzz_outcomes
from mnist_gui.errors import ModelFileError
from mnist_gui.model import Model, Normalization
from mnist_gui.model.file import load_model, save_model
from mnist_gui.nn import build_mlp

PER_KIND = 100            # cases per mutation kind; 13 kinds => 1,300 cases
CASE_SECONDS = 1.0        # hard limit per case (typical: a few milliseconds)
PROBE = np.random.default_rng(7).integers(0, 256, (1, 784), dtype=np.uint8)
WHITE = np.full((1, 784), 255, np.uint8)

outcomes: Counter = Counter()   # (kind, outcome) -> count, printed at the end with -s
slowest = [0.0]


# ------------------------------------------------------------------------------------ the base file
def make_model() -> Model:
    net = build_mlp((784, 16, 10), activation="relu", seed=11)
    return Model(net, Normalization.standard(), {"test_accuracy": 0.9, "preset": "fast",
                                                 "history": [{"epoch": 1, "val_loss": 0.3}]})


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("base") / "good.npz"
    save_model(make_model(), path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def entries(base) -> dict[str, bytes]:
    """name -> raw entry bytes (a complete .npy file each) of the base archive."""
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def regions(raw: bytes) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges [lo, hi) of each structural part of a stored (uncompressed) zip of .npy files."""
    out: dict[str, list[tuple[int, int]]] = {"local": [], "npy": [], "json": [], "data": [], "central": []}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        infos = zf.infolist()
        for info in infos:
            lo = info.header_offset
            name_len, extra_len = struct.unpack("<HH", raw[lo + 26:lo + 30])
            data = lo + 30 + name_len + extra_len
            out["local"].append((lo, data))
            header_len = struct.unpack("<H", raw[data + 8:data + 10])[0] + 10   # .npy v1.0
            out["npy"].append((data, data + header_len))
            body = (data + header_len, data + info.compress_size)
            out["json" if info.filename == "metadata.npy" else "data"].append(body)
        cd = raw.find(b"PK\x01\x02")
        out["central"].append((cd, len(raw)))
    return out


def pick(rng: random.Random, ranges: list[tuple[int, int]]) -> int:
    lo, hi = rng.choice(ranges)
    return rng.randrange(lo, hi)


def flip(rng: random.Random, raw: bytes, ranges: list[tuple[int, int]], n_max: int = 3) -> bytes:
    b = bytearray(raw)
    for _ in range(rng.randint(1, n_max)):
        i = pick(rng, ranges)
        b[i] = rng.choice([b[i] ^ (1 << rng.randrange(8)), rng.randrange(256), 0, 0xFF])
    return bytes(b)


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, fortran: bool = False, version: int = 1) -> bytes:
    """A hand-made .npy header (no data), declaring any shape at all."""
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    prefix_len = 10 if version == 1 else 12
    pad = -(prefix_len + len(text) + 1) % 64
    text = (text + " " * pad + "\n").encode("latin1")
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text


def rezip(items: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> bytes:
    """A well-formed archive (correct CRCs) of the given entries; duplicate names allowed."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "Duplicate name" is the point of some cases
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in items:
                zf.writestr(name, data)
    return buf.getvalue()


def meta_of(entries) -> dict:
    return json.loads(np.load(io.BytesIO(entries["metadata.npy"])).tobytes())


def with_meta(entries, meta_text: bytes | str) -> list[tuple[str, bytes]]:
    if isinstance(meta_text, str):
        meta_text = meta_text.encode("utf-8")
    items = dict(entries)
    items["metadata.npy"] = npy(np.frombuffer(meta_text, np.uint8))
    return list(items.items())


# ------------------------------------------------------------------------------------- the oracle
def check(path, content: bytes, kind: str, case: int) -> str:
    """Write ``content`` to ``path`` and load it: "error" or "ok"; anything else fails the test."""
    path.unlink(missing_ok=True)   # a fresh file: rewriting in place makes ext4 flush on close
    path.write_bytes(content)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # a warning escaping the loader counts as a failure too
            model = load_model(path)
        outcome = "ok"
    except ModelFileError as exc:
        assert path.name in str(exc), f"{kind} #{case}: message does not name the file: {exc}"
        outcome = "error"
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{kind} #{case}: {type(exc).__name__} escaped load_model: {exc}")
    elapsed = time.perf_counter() - t0
    slowest[0] = max(slowest[0], elapsed)
    assert elapsed < CASE_SECONDS, f"{kind} #{case}: took {elapsed:.2f}s"
    if outcome == "ok":
        assert isinstance(model, Model)
        for image in (PROBE, WHITE):
            with np.errstate(all="ignore"):   # overflow shows up as non-finite output below
                p = model.predict_proba(image)
            assert p.shape == (1, 10), f"{kind} #{case}: shape {p.shape}"
            assert np.all(np.isfinite(p)) and np.all(p >= 0), f"{kind} #{case}: probabilities {p}"
            assert abs(float(p.sum()) - 1.0) < 1e-4, f"{kind} #{case}: sum {p.sum()}"
        acc = model.test_accuracy      # what the window shows for a loaded model
        assert acc is None or 0.0 <= acc <= 1.0, f"{kind} #{case}: test_accuracy {acc!r}"
        assert isinstance(model.describe(), str)
    outcomes[kind, outcome] += 1
    return outcome


def run_kind(tmp_path, kind: str, make_case) -> Counter:
    rng = random.Random(f"model-fuzz-{kind}")
    path = tmp_path / f"fuzz-{kind}.npz"
    counts: Counter = Counter()
    for case in range(PER_KIND):
        counts[check(path, make_case(rng), kind, case)] += 1
    assert counts["error"] > 0, f"{kind}: no case was refused; the mutation is not doing anything"
    return counts


# ---------------------------------------------------------------------------------- byte mutations
def test_truncated(tmp_path, base):
    counts = run_kind(tmp_path, "truncate", lambda rng: base[:rng.randrange(len(base))])
    assert counts["ok"] == 0   # the central directory is at the end: any cut breaks the archive


@pytest.mark.parametrize("part", ["central", "local", "npy", "json", "data"])
def test_flipped_bytes_in_each_part(tmp_path, base, part):
    ranges = regions(base)[part]
    run_kind(tmp_path, f"flip-{part}", lambda rng: flip(rng, base, ranges))


def test_flipped_bytes_anywhere(tmp_path, base):
    everything = [(0, len(base))]
    run_kind(tmp_path, "flip-anywhere", lambda rng: flip(rng, base, everything, n_max=20))


def test_not_a_zip(tmp_path, base):
    def case(rng):
        choice = rng.randrange(6)
        n = rng.randrange(0, 300)
        if choice == 0:
            return bytes(rng.randrange(256) for _ in range(n))
        if choice == 1:
            return b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(n))
        if choice == 2:
            return b"PK\x05\x06" + bytes(rng.randrange(256) for _ in range(n))   # an EOCD and junk
        if choice == 3:
            return "metadata: {} weights: 0.1 0.2\n".encode() * (n // 10)
        if choice == 4:
            return npy(np.zeros(rng.randrange(1, 50), np.float32))                   # a bare .npy
        return base[rng.randrange(1, len(base)):]                                    # a tail only
    counts = run_kind(tmp_path, "not-a-zip", case)
    assert counts["ok"] == 0


def test_deflated_archives_with_damaged_streams(tmp_path, entries):
    deflated = rezip(list(entries.items()), zipfile.ZIP_DEFLATED)
    ranges = regions_deflated(deflated)

    def case(rng):
        if rng.random() < 0.2:
            return deflated[:rng.randrange(len(deflated))]
        return flip(rng, deflated, ranges, n_max=5)
    run_kind(tmp_path, "deflate", case)


def regions_deflated(raw: bytes) -> list[tuple[int, int]]:
    """The compressed data ranges of every entry, plus each header's compression-method field."""
    ranges = []
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            lo = info.header_offset
            name_len, extra_len = struct.unpack("<HH", raw[lo + 26:lo + 30])
            data = lo + 30 + name_len + extra_len
            ranges.append((data, data + info.compress_size))
            ranges.append((lo + 8, lo + 10))                       # local header: method
    cd = raw.find(b"PK\x01\x02")
    while cd != -1:
        ranges.append((cd + 10, cd + 12))                          # central directory: method
        cd = raw.find(b"PK\x01\x02", cd + 4)
    return ranges


# ---------------------------------------------------------------------------- structured mutations
def test_arrays_missing_extra_duplicated_wrong(tmp_path, entries):
    names = [n for n in entries if n != "metadata.npy"]

    def case(rng):
        items = dict(entries)
        what = rng.randrange(11)
        target = rng.choice(names)
        arr = np.load(io.BytesIO(entries[target]))
        if what == 0:
            del items[target]
        elif what == 1:   # wrong shape
            shape = tuple(max(1, s + rng.choice([-1, 1, 7])) for s in arr.shape)
            if rng.random() < 0.3:
                shape = shape + (1,)
            items[target] = npy(np.zeros(shape, np.float32))
        elif what == 2:   # NaN or inf somewhere
            bad = arr.copy()
            bad.flat[rng.randrange(bad.size)] = rng.choice([np.nan, np.inf, -np.inf])
            items[target] = npy(bad)
        elif what == 3:   # finite but absurd magnitude: the logits would overflow float32
            bad = arr.copy()
            r = rng.random()
            if r < 0.3:
                bad.flat[rng.randrange(bad.size)] = rng.choice([3e38, -3e38, 1e30, 1e20])
            elif r < 0.6:   # the whole layer huge: for a W, every logit overflows to inf
                bad.fill(rng.choice([1e37, -1e37, 1e38, 3e38]))
            else:   # float64 weights that do not fit float32
                bad = bad.astype(np.float64)
                bad.flat[rng.randrange(bad.size)] = rng.choice([1e39, -1e300, np.finfo(np.float64).max])
            items[target] = npy(bad)
        elif what == 4:   # wrong dtype
            dtype = rng.choice([np.int32, np.uint8, np.complex64, np.bool_, np.float16, np.float64, "U3"])
            items[target] = npy(arr.astype(dtype))
        elif what == 5:   # a 0-d array or a Fortran-ordered one
            items[target] = npy(np.float32(1.0)) if rng.random() < 0.5 else npy(np.asfortranarray(arr.T).T)
        elif what == 6:   # extra arrays and non-array entries
            items[rng.choice(["W2.npy", "b2.npy", "extra.npy", "W0.npy.npy"])] = npy(np.zeros(3, np.float32))
            if rng.random() < 0.5:
                items["README.txt"] = b"hello"
        elif what == 7:   # duplicate names: the same entry twice, the second different
            pairs = list(items.items())
            pairs.insert(rng.randrange(len(pairs) + 1),
                         (target, npy(np.ones(arr.shape, np.float32)) if rng.random() < 0.5 else b"junk"))
            return rezip(pairs)
        elif what == 8:   # duplicate metadata entry
            pairs = list(items.items())
            pairs.append(("metadata.npy", npy(np.frombuffer(b'{"format_version": 1}', np.uint8))))
            return rezip(pairs)
        elif what == 9:   # an entry that is not a .npy file at all
            items[target] = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        else:             # pickled object array (must never be unpickled)
            items[target] = b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }" \
                            + b" " * 45 + b"\n" + b"\x80\x04N."
        return rezip(list(items.items()))
    run_kind(tmp_path, "arrays", case)


def test_huge_declared_shapes_are_refused_without_allocating(tmp_path, entries):
    """A .npy header may declare any shape; the loader must not allocate it. Measured with
    tracemalloc (NumPy reports its data buffers to it): the peak stays far below what the
    header declares."""
    names = list(entries)

    def case(rng):
        items = dict(entries)
        target = rng.choice(names)
        descr = rng.choice(["<f4", "<f8", "|u1", "<c16"])
        shape = rng.choice([
            (rng.randrange(10**5, 10**7), rng.randrange(10**3, 10**5)),
            (2**rng.randrange(28, 40),),
            (784, rng.randrange(10**5, 10**7)),
            (rng.randrange(10**6, 10**9),),
            (2**31, 2**31, 4),
            (784, 16) if target.startswith("W0") else (rng.randrange(10**8, 10**10),),
        ])
        body = b"\0" * rng.randrange(0, 4096)
        items[target] = npy_header(descr, shape, fortran=rng.random() < 0.2,
                                   version=rng.choice([1, 2])) + body
        return rezip(list(items.items()))

    rng = random.Random("model-fuzz-huge")
    path = tmp_path / "huge.npz"
    tracemalloc.start()
    try:
        for i in range(PER_KIND):
            content = case(rng)
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            outcome = check(path, content, "huge-shape", i)
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak < 32 << 20, f"huge-shape #{i}: allocated {peak / 2**20:.0f} MB"
            assert outcome == "error"
    finally:
        tracemalloc.stop()


FIELD_VALUES = [None, True, False, 0, -1, 1, 2, 99, 10**30, 1.5, float("nan"), "1", "", "x" * 50,
                [], [1, 2], {}, {"a": 1}, [784, 16, 10], [784, "16", 10], [784, 10], [784, 0, 10],
                [784, 16, 16, 10], [784, 10**12, 10], [784.0, 16.0, 10.0]]
FIELDS = ["format_version", "architecture", "activation", "normalization", "test_accuracy",
          "history", "preset", "config", "app_version", "dataset"]


def test_metadata_json_and_fields(tmp_path, entries):
    good = meta_of(entries)
    good_text = json.dumps(good)

    def case(rng):
        what = rng.randrange(8)
        if what == 0:   # bytes flipped inside the JSON, archive rebuilt (CRC right)
            b = bytearray(good_text.encode())
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            return rezip(with_meta(entries, bytes(b)))
        if what == 1:   # truncated JSON
            return rezip(with_meta(entries, good_text[:rng.randrange(len(good_text))]))
        if what == 2:   # valid JSON, not an object
            return rezip(with_meta(entries, json.dumps(rng.choice([[], [good], 1, "text", None, True, 2.5]))))
        if what == 3:   # NaN / Infinity tokens (Python's json accepts them; they are not JSON)
            meta = dict(good)
            meta[rng.choice(FIELDS)] = rng.choice([float("nan"), float("inf"), -float("inf")])
            return rezip(with_meta(entries, json.dumps(meta)))
        if what == 4:   # a newer (or nonsense) format version
            meta = dict(good, format_version=rng.choice([2, 3, 99, 2**40, 0, -1, 1.0, "1", None, True]))
            return rezip(with_meta(entries, json.dumps(meta)))
        if what == 5:   # a field of the wrong type, or removed
            meta = dict(good)
            field = rng.choice(FIELDS)
            if rng.random() < 0.2:
                meta.pop(field, None)
            else:
                meta[field] = rng.choice(FIELD_VALUES)
            return rezip(with_meta(entries, json.dumps(meta)))
        if what == 6:   # normalization details
            meta = dict(good)
            meta["normalization"] = {"mean": rng.choice([0, 0.1307, -1e30, 1e300, "0", None, [], 10**400]),
                                     "std": rng.choice([1, 0.3081, 0, -1, 1e-300, 1e-45, "1", None, 10**400])}
            return rezip(with_meta(entries, json.dumps(meta)))
        # not UTF-8, empty, or enormous whitespace padding
        text = rng.choice([b"\xff\xfe{}", b"", b" " * 100_000 + good_text.encode(), good_text.encode("utf-16")])
        return rezip(with_meta(entries, text))
    run_kind(tmp_path, "metadata", case)


# --------------------------------------------------------------------------------------- the CLI
def test_cli_evaluate_bad_model_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "evaluate", str(bad)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.npz" in lines[0], proc.stderr
    assert proc.stdout == ""


def test_zz_summary(capsys):
    """Runs last in this file: the outcome of every kind, and the 1,000-case floor."""
    report_fuzz_outcomes("model", outcomes, slowest[0], 12, capsys)
