"""Download the four MNIST .gz files, verify them, and never leave anything unverified behind.

The application ships MNIST and never needs this; it is here for people who deleted the bundled
copy or want a fresh one (``mnist-gui`` has no network at all unless this is called).

For each file the mirrors are tried in turn. A download is streamed into a temporary file in the
destination folder and only renamed to its final name once it is verified: by the MD5 of the .gz
bytes (the well-known sums of the original distribution) *or* by the sha256 of the decompressed
content (mirrors that recompressed a file still pass). An HTML error page served with status 200,
a connection cut short, a wrong checksum or an HTTP error all just move on to the next mirror; when
every mirror failed, :class:`~mnist_gui.errors.DownloadError` lists what went wrong with each.
Files already present and verified are not fetched again.

Cancelling (setting the ``cancel`` event) takes effect within a fraction of a second even when a
server stalls: the blocking network I/O runs in a helper thread that the calling thread watches,
so the caller never waits on a socket. The helper writes only to a file descriptor; the calling
thread owns the temporary file and deletes it, and nothing is ever renamed after a cancel.
Progress is reported from the calling thread about ten times a second, never per network chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Sequence

from mnist_gui import __version__
from mnist_gui.atomic import fsync_dir
from mnist_gui.data.idx import _CappedGunzip  # the same bomb-proof gunzip the IDX reader uses
from mnist_gui.errors import DatasetError, DownloadError, display_name

__all__ = ["download_mnist", "user_data_dir", "DEFAULT_MIRRORS", "MNIST_FILES", "MAX_DOWNLOAD_BYTES"]

DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: file name -> (MD5 of the original .gz, sha256 of the decompressed content). The sha256s are
#: those of resources/mnist/SHA256SUMS; the recompressed train images only match by content.
MNIST_FILES: Mapping[str, tuple[str | None, str | None]] = {
    "train-images-idx3-ubyte.gz": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte.gz": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte.gz": (
        "9fb629c4189551a2d022fa330f9573f3",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte.gz": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
# Sizes of the original .gz files, so progress has a total before every response has arrived.
_NOMINAL_SIZES = {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
                  "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542}

_CHUNK = 64 << 10
_POLL_SECONDS = 0.1
# A decompressed file larger than this cannot be MNIST; stop hashing rather than inflate a bomb.
_MAX_CONTENT_BYTES = 256 << 20
#: Largest download accepted per file: MNIST's largest .gz is 9.9 MB. A server streaming more is cut
#: off at this size (or refused at once if its Content-Length says so), not written to disk whole.
MAX_DOWNLOAD_BYTES = 64 << 20

ProgressCallback = Callable[[int, int], None]


def user_data_dir() -> Path:
    """Where downloaded MNIST goes: ``$MNIST_GUI_DATA_DIR``, else
    ``$XDG_DATA_HOME/mnist-gui/mnist``, else ``~/.local/share/mnist-gui/mnist``.
    The folder is not created here."""
    explicit = os.environ.get("MNIST_GUI_DATA_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "mnist-gui" / "mnist"


def download_mnist(dest_dir: Path | str | None = None,
                   mirrors: Sequence[str] = DEFAULT_MIRRORS,
                   progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None,
                   timeout: float = 30,
                   expected: Mapping[str, tuple[str | None, str | None]] | None = None,
                   max_bytes: int = MAX_DOWNLOAD_BYTES) -> Path:
    """Download and verify the MNIST .gz files into ``dest_dir`` (default :func:`user_data_dir`).

    ``mirrors`` are base URLs tried in order for each file. ``progress(bytes_done, bytes_total)``
    is called from this thread about ten times a second (``bytes_total`` is 0 while unknown; it may
    step back when a mirror fails and the next starts over). Setting ``cancel`` aborts within about
    a second with ``DownloadError("cancelled")``. ``timeout`` is in seconds, for connecting and for
    each wait on data. ``expected`` maps file name to ``(md5 of the .gz or None, sha256 of the
    decompressed content or None)`` and defaults to :data:`MNIST_FILES`; a file passes if either
    given digest matches. A mirror sending more than ``max_bytes`` for a file fails (the next one is
    tried). Returns the folder, ready for ``load_mnist``.
    """
    files = dict(MNIST_FILES if expected is None else expected)
    for name, (md5, sha256) in files.items():
        if not md5 and not sha256:
            raise ValueError(f"no checksum given for {name}: it could not be verified")
    if isinstance(mirrors, str):  # one mirror given bare would otherwise iterate its letters
        mirrors = [mirrors]
    mirror_list = [m for m in mirrors if m]
    if not mirror_list:
        raise ValueError("no mirrors given")
    cancel = cancel if cancel is not None else threading.Event()
    try:
        dest = Path(dest_dir).expanduser() if dest_dir is not None else user_data_dir()
    except RuntimeError as exc:   # "~nosuchuser/..."
        raise DownloadError(f"{display_name(dest_dir)}: cannot find the folder ({exc})") from None
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{display_name(dest)}: cannot create the download folder: "
                            f"{exc.strerror or exc}") from None

    meter = _Progress(files, progress)
    for name, (md5, sha256) in files.items():
        _check_cancel(cancel)
        final = dest / name
        if final.is_file() and _verify(final, md5, sha256, cancel) is None:
            meter.finish(name, final.stat().st_size)
            continue
        failures = []
        for mirror in mirror_list:
            url = mirror.rstrip("/") + "/" + name
            reason = _fetch_verified(url, final, md5, sha256, timeout, cancel, meter, max_bytes)
            if reason is None:
                break
            failures.append(f"{url}: {reason}")
        else:
            raise DownloadError(f"could not download {name} from any mirror:\n  "
                                + "\n  ".join(failures))
    return dest


def _check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise DownloadError("cancelled")


def _fetch_verified(url: str, final: Path, md5: str | None, sha256: str | None, timeout: float,
                    cancel: threading.Event, meter: _Progress, max_bytes: int = MAX_DOWNLOAD_BYTES) -> str | None:
    """One attempt: download to a temp file, verify, rename. None on success, else the reason."""
    _check_cancel(cancel)
    fd, tmp_name = _mkstemp(final)
    tmp = Path(tmp_name)
    try:
        fetch = _Fetch(url, fd, timeout, expect_gzip=final.name.endswith(".gz"), max_bytes=max_bytes)
        fetch.start()
        while not fetch.finished.wait(_POLL_SECONDS):
            if cancel.is_set():
                fetch.abort.set()  # the helper stops at its next chunk or timeout, renames nothing
                raise DownloadError("cancelled")
            meter.update(final.name, fetch.received, fetch.length)
        meter.update(final.name, fetch.received, fetch.length)
        if fetch.error is not None:
            return fetch.error
        reason = _verify(tmp, md5, sha256, cancel)
        if reason is not None:
            return reason
        _check_cancel(cancel)
        os.replace(tmp, final)
        fsync_dir(final.parent)
        meter.finish(final.name, fetch.received)
        return None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _mkstemp(final: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    except OSError as exc:
        raise DownloadError(f"{display_name(final.parent)}: cannot write there: {exc.strerror or exc}") from None


class _Fetch(threading.Thread):
    """Stream one URL into a file descriptor; record the failure reason instead of raising.

    Runs as a daemon so that a server stalling after a cancel can only keep this thread (and its
    socket) alive until ``timeout``, never the caller or the interpreter's exit.
    """

    def __init__(self, url: str, fd: int, timeout: float, expect_gzip: bool,
                 max_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        super().__init__(name="mnist-download", daemon=True)
        self.url, self.fd, self.timeout, self.expect_gzip = url, fd, timeout, expect_gzip
        self.max_bytes = max_bytes
        self.received = 0
        self.length = 0  # Content-Length, 0 if the server did not say
        self.error: str | None = None
        self.abort = threading.Event()
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            with os.fdopen(self.fd, "wb") as out:
                self.error = self._stream(out)
                if self.error is None:
                    out.flush()
                    os.fsync(out.fileno())  # the rename that follows must not expose a hole
        except Exception as exc:  # noqa: BLE001 - whatever one mirror does, try the next one
            self.error = _describe(exc, self.timeout)
        finally:
            self.finished.set()

    def _stream(self, out) -> str | None:
        request = urllib.request.Request(self.url, headers={
            "User-Agent": f"mnist-gui/{__version__}",
            "Accept-Encoding": "identity",  # we checksum the bytes exactly as stored
        })
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            with contextlib.suppress(TypeError, ValueError):
                self.length = max(0, int(response.headers.get("Content-Length", "")))
            if self.length > self.max_bytes:
                return (f"the server announces {self.length:,} bytes, more than the {self.max_bytes:,} "
                        "a file of this data set can be")
            content_type = response.headers.get("Content-Type", "").lower()
            first = True
            while not self.abort.is_set():
                # read1 returns whatever has arrived, so an abort is seen between the pieces of even a
                # slow stream (read(n) would wait for all n bytes); the first read waits for enough
                # bytes to recognise what the server is sending.
                chunk = response.read(512) if first else response.read1(_CHUNK)
                if not chunk:
                    break
                if first:
                    first = False
                    # Judge by the bytes first: gzip data is gzip whatever the headers claim.
                    if not (self.expect_gzip and chunk.startswith(b"\x1f\x8b")):
                        if "html" in content_type or chunk.lstrip()[:1] == b"<":
                            return "the server sent an HTML page instead of the file"
                        if self.expect_gzip:
                            return "the server sent something that is not a gzip file"
                if self.received + len(chunk) > self.max_bytes:
                    return (f"the server sent more than {self.max_bytes:,} bytes, more than a file of this "
                            "data set can be")
                out.write(chunk)
                self.received += len(chunk)
            if self.abort.is_set():
                return "cancelled"
            if first:
                return "the server sent an empty response"
            if self.length and self.received < self.length:
                return f"connection closed after {self.received} of {self.length} bytes"
        return None


def _describe(exc: BaseException, timeout: float) -> str:
    """A short, human reason for one mirror's failure."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP error {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return f"no answer within {timeout:g} s"
        return f"cannot connect ({getattr(reason, 'strerror', None) or reason})"
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed early ({len(exc.partial)} bytes of the last chunk arrived)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no data for {timeout:g} s"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _verify(path: Path, md5: str | None, sha256: str | None,
            cancel: threading.Event) -> str | None:
    """None if the file matches the MD5 of its bytes or the sha256 of its decompressed content.
    The file is read in pieces (it is at most MAX_DOWNLOAD_BYTES, but never held whole anyway)."""
    try:
        with open(path, "rb") as fh:
            digest = hashlib.md5(usedforsecurity=False)
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
            got_md5 = digest.hexdigest()
            if md5 and got_md5 == md5.lower():
                return None
            if not sha256:
                return f"checksum mismatch (md5 {got_md5}, expected {md5})"
            fh.seek(0)
            try:
                got_sha = _content_sha256(fh, cancel)
            except DownloadError:  # "cancelled" (a DatasetError too, but not a verdict on the file)
                raise
            except DatasetError as exc:
                return f"not a valid gzip file ({exc})"
    except OSError as exc:
        return f"cannot read the downloaded file back: {exc.strerror or exc}"
    if got_sha == sha256.lower():
        return None
    return (f"checksum mismatch (md5 {got_md5}, expected {md5 or 'any'}; content sha256 "
            f"{got_sha}, expected {sha256})")


def _content_sha256(compressed, cancel: threading.Event) -> str:
    """sha256 of the decompressed content of a .gz (a file object or bytes), hashed in chunks with a
    size cap."""
    stream = _CappedGunzip(compressed, "download")
    digest = hashlib.sha256()
    total = 0
    while True:
        _check_cancel(cancel)
        chunk = stream.read(4 << 20)
        digest.update(chunk)
        total += len(chunk)
        if len(chunk) < 4 << 20:
            return digest.hexdigest()
        if total > _MAX_CONTENT_BYTES:
            raise DatasetError(f"decompresses to more than {_MAX_CONTENT_BYTES} bytes")


class _Progress:
    """Turns per-file byte counts into one ``(done, total)`` for the whole job."""

    def __init__(self, files: Mapping[str, object], callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.sizes = {name: _NOMINAL_SIZES.get(name, 0) for name in files}
        self.done = {name: 0 for name in files}

    def update(self, name: str, received: int, length: int) -> None:
        if length:
            self.sizes[name] = length
        self.done[name] = received
        self._report()

    def finish(self, name: str, size: int) -> None:
        self.sizes[name] = self.done[name] = size
        self._report()

    def _report(self) -> None:
        if self.callback is None:
            return
        sizes = self.sizes.values()
        total = sum(sizes) if all(sizes) else 0
        self.callback(sum(self.done.values()), total)
