"""Tests for the downloader against a local HTTP server on 127.0.0.1 (never the network).

The server serves tiny fake .gz files under path prefixes that each misbehave in one way: an
HTML page, a connection cut halfway, wrong content, a stall, a 404, a first attempt that fails.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import serving
from mnist_gui.data import download_mnist, user_data_dir
from mnist_gui.errors import DownloadError

CONTENT = {
    "a-idx1-ubyte.gz": b"\0\0\x08\x01\0\0\0\x03\x07\x02\x01",
    "b-idx1-ubyte.gz": bytes(range(256)) * 40,  # ~10 kB, several network chunks
}
GZ = {name: gzip.compress(data, mtime=0) for name, data in CONTENT.items()}
# The same content compressed differently: different MD5, same content sha256.
RECOMPRESSED = {name: gzip.compress(data, compresslevel=1, mtime=12345)
                for name, data in CONTENT.items()}
EXPECTED = {name: (hashlib.md5(GZ[name]).hexdigest(), hashlib.sha256(CONTENT[name]).hexdigest())
            for name in CONTENT}


class Handler(http.server.BaseHTTPRequestHandler):
    server: "Server"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        self.server.requests[kind] += 1
        if name not in GZ or kind == "missing":
            self.send_error(404)
            return
        body = GZ[name]
        if kind == "html" or kind == "html-as-binary":
            page = b"<!DOCTYPE html><html><body>Please log in</body></html>"
            ctype = "text/html; charset=utf-8" if kind == "html" else "application/octet-stream"
            self._send(page, ctype)
        elif kind == "wrong":
            self._send(gzip.compress(b"something else", mtime=0))
        elif kind == "recompressed":
            self._send(RECOMPRESSED[name])
        elif kind == "cut" or (kind == "flaky" and self.server.requests[kind] == 1):
            self._send(body, length=len(body), cut=len(body) // 2)
        elif kind == "stall":
            self._send(body, cut=len(body) // 2, stall=True)
        else:  # good, flaky after the first request
            self._send(body)

    def _send(self, body, ctype="application/x-gzip", length=None, cut=None, stall=False):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body[:cut] if cut is not None else body)
        self.wfile.flush()
        if stall:
            self.server.release.wait(10)
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: Counter = Counter()
        self.release = threading.Event()

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{kind}/"


@pytest.fixture
def server():
    srv = Server()
    with serving(srv, srv.release):
        yield srv


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def download(server, dest, *kinds, **kwargs):
    kwargs.setdefault("timeout", 5)
    return download_mnist(dest, mirrors=[server.url(k) for k in kinds], expected=EXPECTED,
                          **kwargs)


def test_good_mirror(server, tmp_path):
    calls = []
    dest = download(server, tmp_path / "new" / "dir", "good",
                    progress=lambda done, total: calls.append((done, total)))
    assert dest == tmp_path / "new" / "dir"
    assert listing(dest) == sorted(CONTENT)
    for name in CONTENT:
        assert (dest / name).read_bytes() == GZ[name]
    total = sum(len(b) for b in GZ.values())
    assert calls[-1] == (total, total)
    assert all(d <= t or t == 0 for d, t in calls)


def test_verified_files_are_not_fetched_again(server, tmp_path):
    download(server, tmp_path, "good")
    assert server.requests["good"] == 2
    download(server, tmp_path, "good")
    assert server.requests["good"] == 2


def test_a_corrupt_existing_file_is_replaced(server, tmp_path):
    name = "a-idx1-ubyte.gz"
    (tmp_path / name).write_bytes(b"junk")
    download(server, tmp_path, "good")
    assert (tmp_path / name).read_bytes() == GZ[name]


@pytest.mark.parametrize("kind, reason", [
    ("html", "HTML page"),
    ("html-as-binary", "HTML page"),
    ("cut", "connection closed after"),
    ("wrong", "checksum mismatch"),
    ("missing", "HTTP error 404"),
])
def test_each_failure_is_reported_and_leaves_nothing(server, tmp_path, kind, reason):
    with pytest.raises(DownloadError) as info:
        download(server, tmp_path, kind)
    message = str(info.value)
    assert reason in message and server.url(kind) in message
    assert listing(tmp_path) == []


@pytest.mark.parametrize("bad", ["html", "cut", "wrong", "missing"])
def test_next_mirror_after_a_failure(server, tmp_path, bad):
    download(server, tmp_path, bad, "good")
    assert listing(tmp_path) == sorted(CONTENT)
    assert server.requests[bad] == 2 and server.requests["good"] == 2


def test_all_mirrors_failing_lists_each(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download(server, tmp_path, "html", "cut", "wrong")
    message = str(info.value)
    assert "a-idx1-ubyte.gz" in message
    for kind in ("html", "cut", "wrong"):
        assert server.url(kind) + "a-idx1-ubyte.gz" in message
    assert listing(tmp_path) == []


def test_unreachable_mirror(server, tmp_path):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect"):
        download_mnist(tmp_path, mirrors=[f"http://127.0.0.1:{port}/"], expected=EXPECTED,
                       timeout=2)
    assert listing(tmp_path) == []


def test_recompressed_file_passes_by_content(server, tmp_path):
    download(server, tmp_path, "recompressed")
    for name in CONTENT:
        assert gzip.decompress((tmp_path / name).read_bytes()) == CONTENT[name]


def test_md5_only_rejects_a_recompressed_file(server, tmp_path):
    md5_only = {name: (md5, None) for name, (md5, _) in EXPECTED.items()}
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_mnist(tmp_path, mirrors=[server.url("recompressed")], expected=md5_only)
    sha_only = {name: (None, sha) for name, (_, sha) in EXPECTED.items()}
    download_mnist(tmp_path, mirrors=[server.url("recompressed")], expected=sha_only)
    assert listing(tmp_path) == sorted(CONTENT)


def test_retry_after_failure_succeeds(server, tmp_path):
    # The flaky mirror cuts its first answer short and then behaves.
    download(server, tmp_path, "flaky", "flaky")
    assert listing(tmp_path) == sorted(CONTENT)
    # And a whole call that failed can simply be repeated.
    other = tmp_path / "other"
    with pytest.raises(DownloadError):
        download(server, other, "cut")
    download(server, other, "good")
    assert listing(other) == sorted(CONTENT)


def test_mirror_without_trailing_slash(server, tmp_path):
    download_mnist(tmp_path, mirrors=[server.url("good").rstrip("/")], expected=EXPECTED)
    assert listing(tmp_path) == sorted(CONTENT)


def test_cancel_during_a_stalled_download(server, tmp_path):
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    start = time.monotonic()
    with pytest.raises(DownloadError, match="^cancelled$"):
        download(server, tmp_path, "stall", cancel=cancel, timeout=10)
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 1.5  # the server would have stalled for 10 s
    assert server.requests["stall"] == 1
    assert listing(tmp_path) == []  # not even a temporary file


def test_cancel_before_start(server, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadError, match="cancelled"):
        download(server, tmp_path, "good", cancel=cancel)
    assert sum(server.requests.values()) == 0
    assert listing(tmp_path) == []


def test_expected_needs_a_checksum(tmp_path):
    with pytest.raises(ValueError):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], expected={"x.gz": (None, None)})


def test_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_GUI_DATA_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_data_dir() == tmp_path / "explicit"
    monkeypatch.delenv("MNIST_GUI_DATA_DIR")
    assert user_data_dir() == tmp_path / "xdg" / "mnist-gui" / "mnist"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "mnist-gui" / "mnist"


def test_real_mnist_checksums_match_the_bundled_copy(tmp_path):
    # The built-in table must accept the bundled files (the small ones by MD5, all by content).
    from mnist_gui.data.download import MNIST_FILES, _verify
    from mnist_gui.resources_path import resource

    never = threading.Event()
    for name, (md5, sha256) in MNIST_FILES.items():
        assert _verify(resource("mnist", name), md5, sha256, never) is None
        assert _verify(resource("mnist", name), None, sha256, never) is None
