"""Hostile pictures, round 2 (issue 18): what the first image fuzz round let through.

* SVG with ``<text>`` aborted ``predict`` (QFontDatabase without a QGuiApplication) and nested
  ``<use>`` ran for minutes: every SVG-like file (and TIFF, GIF, ICO, XPM, PDF...) is refused from its
  first bytes, and Qt's SVG, TIFF and GIF plugins are never even loaded.
* A FIFO named ``x.png`` blocked ``predict`` for ever: FIFOs, devices, sockets and folders are
  refused before they are opened, whatever they are called and through symbolic links.
* A truncated JPEG was read in part and predicted: every truncation of every supported format that
  removes pixel data is an error, and so is a file whose decoder complained.
* libpng and Qt printed lines before our ``error:`` line: no case writes anything to the process's
  standard output or error (checked at the file-descriptor level), and ``predict`` prints exactly one
  line.
* Names with undecodable bytes, newlines and ANSI escapes load, and are escaped in messages.
"""

from __future__ import annotations

import gzip
import os
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter

import numpy as np
import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QImageWriter

from helpers import report_fuzz_outcomes
from mnist_gui.errors import ImageError, display_name
from mnist_gui.ui.imagefile import load_image

PER_KIND = 100
FAST = 0.25          # seconds: a refusal that needs no decoding
outcomes: Counter = Counter()
ENV = dict(os.environ, PYTHONPATH=os.getcwd(), QT_QPA_PLATFORM="offscreen")


def ring(h: int = 40, w: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot((yy - h / 2) / (h * 0.35), (xx - w / 2) / (w * 0.3))
    return (np.clip(1.0 - np.abs(r - 1.0) * 6.0, 0, 1) * 255).astype(np.uint8)


def encode(a: np.ndarray, fmt: str, quality: int = -1, progressive: bool = False) -> bytes:
    a = np.ascontiguousarray(a)
    fmt_q = QImage.Format.Format_Grayscale8 if a.ndim == 2 else QImage.Format.Format_RGB888
    image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], fmt_q).copy()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buf, fmt.encode())
    writer.setQuality(quality)
    writer.setProgressiveScanWrite(progressive)
    assert writer.write(image), fmt
    buf.close()
    return bytes(data.data())


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    grey, rgb = ring(), np.dstack([255 - ring(50, 44)] * 3)
    return {"png": encode(grey, "PNG"), "png-rgb": encode(rgb, "PNG"), "jpeg": encode(rgb, "JPEG", 90),
            "jpeg-grey": encode(grey, "JPEG", 60), "jpeg-progressive": encode(rgb, "JPEG", 80, True),
            "bmp": encode(rgb, "BMP"), "bmp-grey": encode(grey, "BMP"), "webp": encode(rgb, "WEBP"),
            "pgm": encode(grey, "PGM"), "ppm": encode(rgb, "PPM")}


def complete_prefix(kind: str, data: bytes) -> int:
    """Shortest prefix that still holds every pixel (cutting less than this must be an error)."""
    if kind.startswith("png"):
        return data.rindex(b"IEND") - 4          # everything up to the IEND chunk
    if kind.startswith("jpeg"):
        return len(data) - 2                     # all but the end-of-image marker
    return len(data)


def run(path, kind: str, case: int, capfd, expect_error: bool = False, seconds: float = 1.0,
        message: str = "") -> str:
    t0 = time.perf_counter()
    try:
        ink = load_image(path)
        outcome = "ok"
    except ImageError as exc:
        text = str(exc)
        assert display_name(path) in text, f"{kind} #{case}: message does not name the file: {text}"
        assert message in text, f"{kind} #{case}: expected {message!r} in: {text}"
        assert "\n" not in text and "\x1b" not in text, f"{kind} #{case}: {text!r}"
        outcome = "error"
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{kind} #{case}: {type(exc).__name__} escaped load_image: {exc}")
    elapsed = time.perf_counter() - t0
    assert elapsed < seconds, f"{kind} #{case}: took {elapsed:.2f}s"
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"{kind} #{case}: printed {out!r} {err!r}"
    if outcome == "ok":
        assert not expect_error, f"{kind} #{case}: accepted, shape {ink.shape}"
        assert ink.dtype == np.uint8 and ink.ndim == 2
    outcomes[kind, outcome] += 1
    return outcome


def put(path, data: bytes):
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------- truncation
def test_every_truncation_that_removes_pixels_is_an_error(tmp_path, samples, capfd):
    rng = random.Random("image-hostile-truncated")
    names = sorted(samples)
    for case in range(3 * PER_KIND):
        kind = names[case % len(names)]
        data = samples[kind]
        cut = rng.randrange(1, complete_prefix(kind, data))
        run(put(tmp_path / f"t{case}.{rng.choice(['png', 'jpg', 'bin'])}", data[:cut]), "truncated", case, capfd,
            expect_error=True)


def test_damaged_pixel_data_never_prints_and_mostly_fails(tmp_path, samples, capfd):
    """Bytes flipped in the pixel data (past the headers): the decoders' complaints are errors, and
    nothing reaches the terminal either way."""
    rng = random.Random("image-hostile-damaged")
    names = sorted(samples)
    counts: Counter = Counter()
    for case in range(3 * PER_KIND):
        kind = names[case % len(names)]
        data = bytearray(samples[kind])
        for _ in range(rng.randint(1, 10)):
            i = rng.randrange(len(data) // 3, len(data))
            data[i] = rng.choice([data[i] ^ (1 << rng.randrange(8)), 0, 0xFF, rng.randrange(256)])
        counts[run(put(tmp_path / f"d{case}.img", bytes(data)), "damaged", case, capfd)] += 1
    assert counts["error"] > counts["ok"] / 4


def test_random_bytes_behind_a_supported_signature_never_print(tmp_path, capfd):
    rng = random.Random("image-hostile-signatures")
    signatures = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb", b"BM", b"RIFF\0\0\0\0WEBP",
                  b"RIFF\xff\xff\xff\xffWEBPVP8 ", b"P5\n", b"P6\n3 3\n255\n", b"P1\n", b"P4 9 9\n"]
    for case in range(2 * PER_KIND):
        data = rng.choice(signatures) + rng.randbytes(rng.choice([0, 1, 10, 100, rng.randrange(5000)]))
        run(put(tmp_path / f"s{case}.png", data), "signature+junk", case, capfd)


# --------------------------------------------------------------------------- refused formats
def svg(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:   # text: needs fonts (aborted predict: QFontDatabase without a QGuiApplication)
        body = f'<text x="1" y="20" font-size="{rng.randrange(1, 500)}">{rng.choice(["7", "hello", "日本"])}</text>'
    elif kind == 1:   # nested <use>: exponential rendering work ("billion laughs" for SVG)
        depth = rng.randrange(5, 30)
        defs = '<circle id="l0" r="1"/>' + "".join(
            f'<g id="l{i}"><use href="#l{i - 1}"/><use href="#l{i - 1}"/><use href="#l{i - 1}"/></g>'
            for i in range(1, depth))
        body = f"<defs>{defs}</defs><use href='#l{depth - 1}'/>"
    elif kind == 2:   # entity expansion
        return (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;&b;&b;</text></svg>')
    elif kind == 3:   # gzip-compressed (svgz)
        return gzip.compress(b'<svg xmlns="http://www.w3.org/2000/svg"><text>1</text></svg>')
    elif kind == 4:   # enormous canvas
        body = '<rect width="100%" height="100%"/>'
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{rng.randrange(10**5, 10**9)}" '
                f'height="{rng.randrange(10**5, 10**9)}">{body}</svg>').encode()
    else:   # external references, scripts
        body = rng.choice(['<image href="/etc/passwd"/>', '<script>while(1){}</script>',
                           '<image href="http://127.0.0.1:9/x.png"/>', '<use href="other.svg#x"/>'])
    prolog = rng.choice(["", '<?xml version="1.0"?>\n', "\ufeff", "   \n", "<!-- c -->"])
    tag = rng.choice(["svg", "SVG", "svg:svg"])
    return f'{prolog}<{tag} xmlns="http://www.w3.org/2000/svg" width="30" height="30">{body}</{tag}>'.encode()


OTHER_FORMATS = {
    "tiff": b"II*\0\x08\0\0\0" + bytes(64), "tiff-be": b"MM\0*\0\0\0\x08" + bytes(64),
    "gif": bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"),
    "ico": b"\0\0\1\0\1\0\x10\x10" + bytes(64), "xpm": b'/* XPM */\nstatic char *x[] = {"1 1 1 1", ". c #000", "."};',
    "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\n", "icns": b"icns\0\0\0\x08", "xbm": b"#define x_width 1\n#define x_height 1\n",
    "tga": b"\0\0\2\0\0\0\0\0\0\0\0\0\1\0\1\0\x18\0\xff\xff\xff",
}


def test_svg_and_other_unsupported_formats_are_refused_before_qt(tmp_path, capfd):
    rng = random.Random("image-hostile-formats")
    for case in range(2 * PER_KIND):
        if case % 2 == 0:
            data, message = svg(rng), ""
        else:
            data, message = OTHER_FORMATS[rng.choice(sorted(OTHER_FORMATS))], ""
        ext = rng.choice([".svg", ".png", ".jpg", ".svgz", ".tif", ".gif", ""])
        run(put(tmp_path / f"f{case}{ext}", data), "unsupported", case, capfd, expect_error=True, seconds=FAST,
            message=message)


SVG_PROCESS = textwrap.dedent("""
    import sys
    from mnist_gui.errors import ImageError
    from mnist_gui.ui.imagefile import load_image
    for path in sys.argv[1:]:
        try:
            load_image(path)
        except ImageError:
            pass
    maps = open("/proc/self/maps").read()
    print(" ".join(p for p in ("libqsvg", "libqtiff", "libqgif", "QtSvg") if p in maps) or "none", flush=True)
""")


def test_predict_never_loads_the_svg_tiff_or_gif_plugins(tmp_path):
    rng = random.Random("image-hostile-plugins")
    paths = []
    for i in range(30):
        paths.append(put(tmp_path / f"p{i}.png", svg(rng) if i % 3 else OTHER_FORMATS[["tiff", "gif"][i % 2]]))
    proc = subprocess.run([sys.executable, "-c", SVG_PROCESS, *map(str, paths)], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "none" and proc.stderr == "", (proc.stdout, proc.stderr[-2000:])
    outcomes["plugins", "error"] += len(paths)


# ---------------------------------------------------------------------------- not regular files
def test_fifos_devices_sockets_and_folders_are_refused_without_blocking(tmp_path, samples, capfd):
    rng = random.Random("image-hostile-special")
    servers = []
    try:
        for case in range(PER_KIND):
            what = case % 6
            path = tmp_path / f"special-{case}{rng.choice(['.png', '.jpg', '.bmp', ''])}"
            if what == 0:
                os.mkfifo(path)
            elif what == 1:   # a FIFO behind a symbolic link
                os.mkfifo(tmp_path / f"fifo-{case}")
                path.symlink_to(tmp_path / f"fifo-{case}")
            elif what == 2:
                path.symlink_to(rng.choice(["/dev/zero", "/dev/null", "/dev/urandom", "/dev/tty"]))
            elif what == 3:
                s = socket.socket(socket.AF_UNIX)
                s.bind(str(path))
                servers.append(s)
            elif what == 4:
                path.mkdir()
            else:             # a FIFO someone is writing a valid PNG into: still refused
                os.mkfifo(path)
                threading.Thread(target=_feed, args=(path, samples["png"]), daemon=True).start()
            run(path, "special", case, capfd, expect_error=True, seconds=FAST)
    finally:
        for s in servers:
            s.close()


def _feed(path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:   # nobody opened it for reading: exactly what we want
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


# -------------------------------------------------------------------------------------- names
def test_odd_names_load_and_are_escaped_in_messages(tmp_path, samples, capfd):
    rng = random.Random("image-hostile-names")
    pieces = [b"\xff", b"\xfe\xfd", b"\n", b"\x1b[31m", b"\r", b"\t", "é".encode(), "日本".encode(), b" ", b"\x7f",
              "\u202e".encode()]
    folder = os.fsencode(tmp_path)
    for case in range(PER_KIND):
        raw = b"d" + b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) + b".png"
        path = os.path.join(folder, b"%d-" % case + raw)
        missing = case % 2 == 1
        if not missing:
            with open(path, "wb") as fh:
                fh.write(samples["png"])
        outcome = run(path, "names", case, capfd, expect_error=missing)
        assert outcome == ("error" if missing else "ok"), (case, raw)


# ------------------------------------------------------------------------------------------ CLI
def test_predict_prints_exactly_one_error_line(tmp_path, samples):
    from mnist_gui.model import Model, Normalization
    from mnist_gui.model.file import save_model
    from mnist_gui.nn import build_mlp

    model = tmp_path / "m.npz"
    save_model(Model(build_mlp((784, 8, 10), seed=1), Normalization.unit()), model)
    rng = random.Random("image-hostile-cli")
    bad = [samples["jpeg"][:len(samples["jpeg"]) // 2], samples["png"][:len(samples["png"]) // 2],
           samples["bmp"][:100], svg(rng), OTHER_FORMATS["tiff"], b"\x89PNG\r\n\x1a\n" + bytes(50)]
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    paths = [put(tmp_path / f"bad{i}.png", data) for i, data in enumerate(bad)] + [fifo]
    for path in paths:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "mnist_gui", "predict", str(model), str(path)],
                              capture_output=True, text=True, env=ENV, timeout=60)
        assert proc.returncode == 2, (path, proc.returncode, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0], (path, proc.stderr)
        assert proc.stdout == "" and time.monotonic() - t0 < 30
        outcomes["cli", "error"] += 1


def test_zz_summary(capsys):
    report_fuzz_outcomes("hostile image", outcomes, 0.0, 8, capsys)
