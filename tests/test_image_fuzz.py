"""Seeded fuzzing of the ``predict`` path: ``load_image`` then ``preprocess_drawing``.

Small valid pictures (a ring-shaped "0", as PNG, JPEG, BMP, GIF, PGM...) are written by Qt into
memory and then damaged a thousand-odd times: random bytes, truncation at random points, random
byte flips, headers (PNG with a correct IHDR CRC, BMP, JPEG SOF, GIF, PGM, XPM, SVG) declaring
enormous, zero or random dimensions, text that is not a picture, empty files, folders, missing
files and odd file names; plus valid pictures of random size, mode and content.

Every case must end in one of two ways: an :class:`ImageError` whose message names the file, or a
2-D uint8 array that ``preprocess_drawing`` turns into ``None`` (no ink) or a (28, 28) uint8 image.
Anything else is a bug. Each case must take well under a second; headers declaring more than
``MAX_PIXELS`` must be refused from the header alone, before anything is decoded.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter

import numpy as np
import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from helpers import report_fuzz_outcomes
from mnist_gui.errors import ImageError
from mnist_gui.ui.imagefile import MAX_PIXELS, load_image
from mnist_gui.imaging.preprocess import preprocess_drawing

PER_KIND = 100            # cases per kind; 12 kinds => 1,200 cases
CASE_SECONDS = 1.0        # hard limit per case (typical: well under 10 ms)
HEADER_SECONDS = 0.25     # an enormous header must be refused about this fast (no decoding)
EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".txt", ".npz", "", ".PNG", ".svg", ".pgm"]

outcomes: Counter = Counter()
slowest = [0.0]


# ------------------------------------------------------------------------------------ base images
def ring(h: int = 40, w: int = 32, dark_on_light: bool = False) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h / 2) / (h * 0.35), (xx - w / 2) / (w * 0.3))
    ink = np.clip(1.0 - np.abs(r - 1.0) * 6.0, 0, 1)
    a = (ink * 255).astype(np.uint8)
    return 255 - a if dark_on_light else a


def qimage(a: np.ndarray) -> QImage:
    a = np.ascontiguousarray(a, dtype=np.uint8)
    if a.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    else:
        fmt = {3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}[a.shape[2]]
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], fmt).copy()


def encode(image: QImage, fmt: str, quality: int = -1) -> bytes:
    """The bytes Qt writes for ``image`` in ``fmt`` (into memory, no file)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buf, fmt, quality), fmt
    buf.close()
    return bytes(data.data())


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    """Small valid files of several formats, grey and colour."""
    grey, rgb = qimage(ring()), qimage(np.dstack([ring(dark_on_light=True)] * 3))
    rgba = np.zeros((40, 32, 4), np.uint8)
    rgba[..., 3] = ring()
    out = {"png": encode(grey, "PNG"), "png-rgb": encode(rgb, "PNG"), "png-rgba": encode(qimage(rgba), "PNG"),
           "jpg": encode(rgb, "JPEG", 90), "jpg-grey": encode(grey, "JPEG", 50), "bmp": encode(rgb, "BMP"),
           "pgm": encode(grey, "PGM"), "tif": encode(grey, "TIFF"), "webp": encode(rgb, "WEBP"),
           "xpm": encode(grey.convertToFormat(QImage.Format.Format_Indexed8), "XPM"),
           "gif": GIF_1x1}
    return out


# A 1x1 GIF (Qt reads GIF but cannot write it).
GIF_1x1 = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


# ------------------------------------------------------------------------------------- the oracle
def check(path, content: bytes | None, kind: str, case: int, expect_error: bool = False,
          seconds: float = CASE_SECONDS, message: str = "") -> str:
    """Write ``content`` (None: leave ``path`` as it is) and run the predict path on it."""
    if content is not None:
        if path.exists():
            path.unlink()
        path.write_bytes(content)
    t0 = time.perf_counter()
    try:
        ink = load_image(path)
        outcome = "ok"
    except ImageError as exc:
        assert os.fspath(path) in str(exc), f"{kind} #{case}: message does not name the file: {exc}"
        assert message in str(exc), f"{kind} #{case}: expected {message!r} in: {exc}"
        outcome = "error"
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{kind} #{case}: {type(exc).__name__} escaped load_image: {exc}")
    if outcome == "ok":
        assert not expect_error, f"{kind} #{case}: should have been refused, gave {ink.shape}"
        assert isinstance(ink, np.ndarray) and ink.dtype == np.uint8 and ink.ndim == 2 and ink.size > 0, \
            f"{kind} #{case}: load_image gave {type(ink)} {getattr(ink, 'dtype', '')} {getattr(ink, 'shape', '')}"
        try:
            x = preprocess_drawing(ink)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{kind} #{case}: preprocess_drawing({ink.shape}) raised {type(exc).__name__}: {exc}")
        assert x is None or (x.shape == (28, 28) and x.dtype == np.uint8), f"{kind} #{case}: {x!r}"
    elapsed = time.perf_counter() - t0
    slowest[0] = max(slowest[0], elapsed)
    assert elapsed < seconds, f"{kind} #{case}: took {elapsed:.2f}s"
    outcomes[kind, outcome] += 1
    return outcome


def run_kind(tmp_path, kind: str, make_case, **kwargs) -> Counter:
    rng = random.Random(f"image-fuzz-{kind}")
    counts: Counter = Counter()
    for case in range(PER_KIND):
        content, ext, *message = make_case(rng)   # an optional third item: the expected message
        path = tmp_path / f"case-{case}{ext}"
        counts[check(path, content, kind, case, **kwargs, **({"message": message[0]} if message else {}))] += 1
    return counts


def random_bytes(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n)


# ------------------------------------------------------------------------------- damaged content
def test_random_bytes(tmp_path):
    def case(rng):
        n = rng.choice([0, 1, 2, 7, 8, 16, 64, 1000, rng.randrange(20000)])
        prefix = rng.choice([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF89a", b"P5\n", b"II*\0",
                             b"RIFF\0\0\0\0WEBP", b"<svg", b"/* XPM */"])
        return prefix + random_bytes(rng, n), rng.choice(EXTENSIONS)
    counts = run_kind(tmp_path, "random-bytes", case)
    assert counts["error"] >= PER_KIND * 0.9


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_truncated(tmp_path, samples, fmt):
    def case(rng):
        data = samples[rng.choice([k for k in samples if k.startswith(fmt)])]
        return data[:rng.randrange(len(data))], rng.choice([f".{fmt}", ".bin"])
    counts = run_kind(tmp_path, f"truncated-{fmt}", case)
    assert counts["error"] > 0


def test_truncated_other_formats(tmp_path, samples):
    def case(rng):
        data = samples[rng.choice(["bmp", "pgm", "tif", "webp", "xpm", "gif"])]
        return data[:rng.randrange(len(data))], ".img"
    assert run_kind(tmp_path, "truncated-other", case)["error"] > 0


def test_flipped_bytes(tmp_path, samples):
    names = sorted(samples)

    def case(rng):
        data = bytearray(samples[rng.choice(names)])
        # Mostly near the start, where the headers are; sometimes anywhere.
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(min(len(data), 64)) if rng.random() < 0.6 else rng.randrange(len(data))
            data[i] = rng.choice([data[i] ^ (1 << rng.randrange(8)), rng.randrange(256), 0, 0xFF])
        return bytes(data), ".png"
    run_kind(tmp_path, "flipped", case)


# ------------------------------------------------------------------------------------ dimensions
def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_size(width: int, height: int, rng: random.Random) -> bytes:
    """A PNG whose IHDR (with a correct CRC) declares ``width`` x ``height``, followed by a small
    pixel stream that may or may not be long enough."""
    depth, colour = rng.choice([(8, 0), (8, 2), (8, 6), (1, 0), (16, 0), (8, 3)])
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, rng.choice([0, 0, 1]))
    chunks = [png_chunk(b"IHDR", ihdr)]
    if colour == 3:
        chunks.append(png_chunk(b"PLTE", bytes(range(0, 256, 32)) * 3))
    raw = rng.randbytes(rng.randrange(0, 2000)) if rng.random() < 0.5 else b"\0" * rng.randrange(0, 5000)
    chunks.append(png_chunk(b"IDAT", zlib.compress(raw)))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def enormous(rng: random.Random, limit: int) -> tuple[int, int]:
    """A width and height whose product exceeds MAX_PIXELS, each at most ``limit``."""
    while True:
        w, h = rng.randrange(1, limit + 1), rng.randrange(1, limit + 1)
        if w * h > MAX_PIXELS:
            return w, h


def test_png_header_enormous_dimensions_refused_before_decoding(tmp_path):
    def case(rng):
        if rng.random() < 0.8:   # libpng reports sizes up to 1,000,000 a side: we must say "too large"
            w, h = enormous(rng, 1_000_000) if rng.random() < 0.5 else enormous(rng, 70_000)
            return png_with_size(w, h, rng), ".png", "too large"
        # Beyond that libpng refuses the header itself; Qt then only says it cannot read it.
        w, h = enormous(rng, 2**31 - 1)
        return png_with_size(w, h, rng), ".png", ""
    run_kind(tmp_path, "png-enormous", case, expect_error=True, seconds=HEADER_SECONDS)


def test_png_header_zero_or_random_dimensions(tmp_path):
    def case(rng):
        w, h = rng.choice([(0, rng.randrange(100)), (rng.randrange(100), 0), (0, 0),
                           (rng.randrange(1, 3000), rng.randrange(1, 3000)), (1, rng.randrange(1, 20000)),
                           (2**31, 1), (2**32 - 1, 2**32 - 1)])
        return png_with_size(w, h, rng), ".png"
    run_kind(tmp_path, "png-dims", case)


def test_other_headers_enormous_dimensions(tmp_path, samples):
    """The same guarantee for other formats: BMP, JPEG (SOF), GIF, PGM, XPM, SVG. All must be
    refused from the header, fast. (GIF, XPM and SVG are not supported at all: refused from their
    first bytes; for most enormous BMP/PGM headers the message is "truncated", not "too large".)"""
    def case(rng):
        fmt = rng.choice(["bmp", "jpg", "gif", "pgm", "xpm", "svg"])
        w, h = enormous(rng, 65535) if fmt in ("jpg", "gif") else enormous(rng, 2**31 - 1)
        if fmt == "bmp":
            header = struct.pack("<2sIHHI", b"BM", 0, 0, 0, 54) + struct.pack(
                "<IiiHHIIiiII", 40, w, rng.choice([h, -h]), 1, rng.choice([1, 8, 24, 32]), 0, 0, 2835, 2835, 0, 0)
            return header + rng.randbytes(rng.randrange(0, 400)), ".bmp"
        if fmt == "jpg":
            data = bytearray(samples["jpg"])
            sof = data.find(b"\xff\xc0")
            data[sof + 5:sof + 9] = struct.pack(">HH", h, w)
            return bytes(data), ".jpg"
        if fmt == "gif":
            data = bytearray(GIF_1x1)
            data[6:10] = struct.pack("<HH", w, h)
            return bytes(data), ".gif"
        if fmt == "pgm":
            return f"P5\n{w} {h}\n255\n".encode() + rng.randbytes(rng.randrange(0, 400)), ".pgm"
        if fmt == "xpm":
            return (f'/* XPM */\nstatic char *x[] = {{\n"{w} {h} 1 1",\n". c #000000",\n"..",\n}};\n'
                    .encode()), ".xpm"
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">'
                f'<circle cx="5" cy="5" r="4"/></svg>').encode(), ".svg", "not supported"
    run_kind(tmp_path, "other-enormous", case, expect_error=True, seconds=HEADER_SECONDS)


# ------------------------------------------------------------------------------- not an image at all
def test_not_an_image(tmp_path):
    texts = ["hello", "0,0,0,255\n" * 100, "<html><body>404</body></html>", '{"digit": 4}', "\n",
             " " * 1000, "P5", "BM", "GIF8", "\x89PNG", "<svg", "<svg>", "<?xml version='1.0'?><svg",
             "/* XPM */", "%PDF-1.4\n", "#!/bin/sh\necho hi\n"]

    def case(rng):
        text = rng.choice(texts)
        if rng.random() < 0.3:
            text = text * rng.randrange(1, 50)
        return text.encode(), rng.choice(EXTENSIONS)
    counts = run_kind(tmp_path, "not-an-image", case)
    assert counts["ok"] == 0


def test_folders_missing_files_and_odd_names(tmp_path, samples):
    """Folders, missing files, dangling symlinks and odd (but valid) names."""
    rng = random.Random("image-fuzz-paths")
    odd = ["with space.png", "ünïcödé.png", "-dash.png", "x" * 200 + ".png", "new\nline.png", ".hidden.png",
           "a.png.txt", "日本語.jpg"]
    counts: Counter = Counter()
    for case in range(PER_KIND):
        what = case % 5
        if what == 0:
            path = tmp_path / f"folder-{case}.png"
            path.mkdir()
            counts[check(path, None, "paths", case, expect_error=True)] += 1
        elif what == 1:
            counts[check(tmp_path / f"missing-{case}.png", None, "paths", case, expect_error=True)] += 1
        elif what == 2:
            link = tmp_path / f"dangling-{case}.png"
            link.symlink_to(tmp_path / f"nowhere-{case}.png")
            counts[check(link, None, "paths", case, expect_error=True)] += 1
        elif what == 3:
            empty = tmp_path / f"empty-{case}{rng.choice(EXTENSIONS)}"
            empty.write_bytes(b"")
            counts[check(empty, None, "paths", case, expect_error=True)] += 1
        else:
            sub = tmp_path / f"odd-{case}"
            sub.mkdir()
            counts[check(sub / rng.choice(odd), samples["png"], "paths", case)] += 1
    assert counts["ok"] == PER_KIND // 5   # exactly the odd-but-valid names load


# -------------------------------------------------------------------------------- valid pictures
def test_valid_pictures_of_random_size_mode_and_content(tmp_path):
    def case(rng):
        h, w = rng.choice([(1, 1), (1, 300), (300, 1), (2, 2), (rng.randrange(1, 400), rng.randrange(1, 400))])
        mode = rng.choice(["grey", "rgb", "rgba"])
        content = rng.choice(["noise", "blank", "white", "ring", "dot"])
        shape = (h, w) if mode == "grey" else (h, w, 3 if mode == "rgb" else 4)
        if content == "noise":
            a = np.frombuffer(rng.randbytes(int(np.prod(shape))), np.uint8).reshape(shape)
        elif content in ("blank", "white"):
            a = np.full(shape, 0 if content == "blank" else 255, np.uint8)
        else:
            g = ring(h, w) if content == "ring" else np.zeros((h, w), np.uint8)
            if content == "dot":
                g[h // 2, w // 2] = 255
            a = g if mode == "grey" else np.dstack([g] * shape[2])
            if mode == "rgba":
                a[..., 3] = rng.choice([0, 128, 255])
        fmt = rng.choice(["PNG", "BMP", "JPEG", "PPM" if mode != "grey" else "PGM"])
        if fmt in ("BMP", "JPEG", "PPM") and mode == "rgba":
            fmt = "PNG"
        return encode(qimage(a), fmt), "." + fmt.lower()
    counts = run_kind(tmp_path, "valid", case)
    assert counts["ok"] == PER_KIND


# ------------------------------------------------------------------------------------------- CLI
def test_cli_predict_not_an_image(tmp_path):
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp

    model = tmp_path / "model.npz"
    save_model(Model(build_mlp((784, 16, 10), seed=1), Normalization.standard()), model)
    text = tmp_path / "notanimage.txt"
    text.write_text("this is a shopping list, not a digit\n")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-m", "mnist_gui", "predict", str(model), str(text)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "notanimage.txt" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_zz_summary(capsys):
    """Runs last in this file: the outcome of every kind, and the 1,000-case floor."""
    report_fuzz_outcomes("image", outcomes, slowest[0], 11, capsys)
