"""Read IDX files, the simple binary format MNIST is distributed in, raw or gzip-compressed.

An IDX file is a 4-byte magic number, one 32-bit big-endian size per dimension, then the data:

    00 00 <type code> <ndim>   <dim 1> ... <dim ndim>   <prod(dims) * itemsize bytes of data>

MNIST uses type code 0x08 (unsigned bytes): the images are ``60000x28x28`` and the labels ``60000``.

The reader trusts nothing in the header. The declared sizes are checked against what the file
actually holds *before* anything proportional to them is allocated: for a raw file against its
size on disk, for a gzip file by decompressing at most ``declared + 1`` bytes (and never more than
``max_bytes``), so an absurd header or a gzip bomb cannot make us allocate more than the file
really contains. The data must fill the file exactly; a short file and trailing bytes are both
errors. Every problem raises :class:`~mnist_gui.errors.DatasetError` with a message that starts
with the file's path and says what is wrong.

Whether a file is compressed is decided by its first two bytes, not by its name: browsers often
un-gzip a download transparently and keep the ``.gz`` name.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from typing import Callable

import numpy as np

from mnist_gui.data._files import reading
from mnist_gui.errors import DatasetError, LoadCancelled, display_name
from mnist_gui.files import NotRegularFile, open_regular

__all__ = ["read_idx", "IDX_TYPES", "DEFAULT_MAX_BYTES"]

#: IDX type code -> the (big-endian) dtype the data is stored in.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32",
               0x0E: "float64"}

#: Largest data block read_idx accepts by default (MNIST's biggest file holds 47 MB); it is also
#: the most a gzip bomb can make the reader decompress.
DEFAULT_MAX_BYTES = 1 << 30

_GZIP_MAGIC = b"\x1f\x8b"
_RAW_CHUNK = 16 << 20   # raw bytes read between two looks at the stop flag
_INPUT_CHUNK = 1 << 20  # compressed bytes fed to zlib per call
_OUTPUT_CHUNK = 1 << 20  # decompressed bytes asked of zlib per call: bounds each GIL-held copy
_FIRST_BUFFER = 8 << 20  # a gunzip's output buffer starts this big (or at the size asked) and doubles


def read_idx(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES,
             stop: Callable[[], bool] | None = None) -> np.ndarray:
    """Read a raw or gzip-compressed IDX file into a writable, native-byte-order array.

    The array has the shape the header declares (e.g. ``(60000, 28, 28)``) and the dtype of its
    type code (``uint8`` for MNIST). Files whose data block exceeds ``max_bytes`` are refused.
    Raises :class:`DatasetError` naming the file for anything missing, unreadable or malformed.
    ``stop`` is asked between pieces (at most 16 MB apart); when it says so, reading ends with
    :class:`~mnist_gui.errors.LoadCancelled`.
    """
    name = display_name(path)
    with reading(name):
        try:
            fh = open_regular(path)   # stat before open: a FIFO or device could block or never end
        except IsADirectoryError:
            raise DatasetError(f"{name}: is a folder, not an IDX file") from None
        except NotRegularFile as exc:
            raise DatasetError(f"{name}: {exc.strerror}") from None
        with fh:
            st = os.fstat(fh.fileno())
            if st.st_size == 0:
                raise DatasetError(f"{name}: empty file")
            if fh.read(2) == _GZIP_MAGIC:
                fh.seek(0)
                if st.st_size > max_bytes + _INPUT_CHUNK:   # compressed data is never larger than its content
                    raise DatasetError(f"{name}: too large: {st.st_size:,} bytes of gzip data, more than "
                                       f"the limit of {max_bytes:,}")
                # Decompressed in pieces straight from the file: neither the compressed file (which may
                # be sparse: 2 GiB of nothing) nor more than the header declares is ever held at once.
                stream = _CappedGunzip(fh, name, stop)
                return _parse(stream.read, None, name, max_bytes)
            fh.seek(0)
            return _parse(fh.read, st.st_size, name, max_bytes, readinto=fh.readinto, stop=stop)


def _parse(read: Callable[[int], bytes | np.ndarray], file_size: int | None, name: str,
           max_bytes: int, readinto: Callable[[memoryview], int] | None = None,
           stop: Callable[[], bool] | None = None) -> np.ndarray:
    """Parse an IDX stream. ``file_size`` is the raw file's size (``readinto`` then reads its
    data block), None for a decompressed stream."""
    where = "file" if file_size is not None else "decompressed file"
    magic = bytes(read(4))
    if len(magic) < 4:
        raise DatasetError(f"{name}: truncated: the {where} has only {len(magic)} bytes, "
                           "too short for the 4-byte IDX magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(f"{name}: not an IDX file: the magic number {magic.hex()} does not "
                           f"start with two zero bytes{_guess_what_it_is(magic)}")
    type_code, ndim = magic[2], magic[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise DatasetError(f"{name}: not a valid IDX file: unknown data type code "
                           f"0x{type_code:02X} (known: {known})")
    if ndim == 0:
        raise DatasetError(f"{name}: not a valid IDX file: the header declares zero dimensions")
    raw_dims = bytes(read(4 * ndim))
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(f"{name}: truncated: the header declares {ndim} dimensions "
                           f"({4 * ndim} bytes of sizes) but the {where} ends after "
                           f"{4 + len(raw_dims)} bytes")
    dims = struct.unpack(f">{ndim}I", raw_dims)
    dtype = IDX_TYPES[type_code]
    # Python ints: a product like 2**31 * 2**31 cannot overflow here.
    declared = math.prod(dims) * dtype.itemsize
    shape_text = "x".join(str(d) for d in dims)
    declares = f"header declares {shape_text} {_TYPE_NAMES[type_code]} = {declared} bytes of data"
    header_len = 4 + 4 * ndim

    if file_size is not None:
        actual = file_size - header_len
        if actual < declared:
            raise DatasetError(f"{name}: truncated: {declares}, file has {actual}")
        if actual > declared:
            raise DatasetError(f"{name}: trailing garbage: {declares}, file has {actual} "
                               f"({actual - declared} bytes too many)")
        if declared > max_bytes:
            raise DatasetError(f"{name}: too large: {declares}, more than the limit of {max_bytes}")
        payload = np.empty(declared, np.uint8)
        got = _read_into(readinto, payload, stop, name)
        if got != declared:  # the file shrank while we were reading it
            raise DatasetError(f"{name}: truncated: {declares}, could only read {got}")
    else:
        # Ask for one byte more than declared, so trailing data shows up as an overlong read.
        payload = read(min(declared, max_bytes) + 1)
        actual = len(payload)
        if declared > max_bytes and actual > max_bytes:
            raise DatasetError(f"{name}: too large: {declares}, more than the limit of {max_bytes}")
        if actual < declared:
            raise DatasetError(f"{name}: truncated: {declares}, decompressed file has {actual}")
        if actual > declared or len(read(1)):  # read(1) also drives zlib to the end: CRC check
            raise DatasetError(f"{name}: trailing garbage: {declares}, "
                               "but the decompressed file holds more")

    array = np.frombuffer(payload, dtype=dtype).reshape(dims)
    if dtype.itemsize > 1:
        # Native byte order makes every later computation on the array fast.
        array = array.astype(dtype.newbyteorder("="))
    return array


def _read_into(readinto: Callable[[memoryview], int], buffer: np.ndarray,
               stop: Callable[[], bool] | None = None, name: str = "") -> int:
    """Fill ``buffer`` with a file's ``readinto`` (no copy, GIL released); return the bytes read."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        if stop is not None and stop():
            raise LoadCancelled(f"{name}: loading cancelled")
        count = readinto(view[got:got + _RAW_CHUNK])
        if not count:
            break
        got += count
    return got


def _guess_what_it_is(magic: bytes) -> str:
    """A hint for the common wrong files people pick, appended to the bad-magic message."""
    if magic.lstrip()[:1] == b"<":
        return " (it looks like an HTML page: a failed download?)"
    if magic.startswith(b"PK"):
        return " (it looks like a zip archive: unpack it first)"
    if magic[:1].isdigit() or magic[:1].isalpha():
        return " (it looks like text: a CSV file?)"
    return ""


class _CappedGunzip:
    """Incremental gunzip of a .gz file object that never produces more than asked for.

    ``read(n)`` returns ``n`` bytes, or fewer only at the end of the stream. Concatenated gzip
    members are joined, as ``gunzip`` does; zero padding after the last member is allowed, any
    other trailing bytes, a corrupt stream, a failed CRC or a cut-off file raise DatasetError. The
    compressed input is read from the file 1 MB at a time, so a huge or sparse file costs no memory.
    """

    def __init__(self, source, name: str, stop: Callable[[], bool] | None = None) -> None:
        self._source = source if hasattr(source, "read") else io.BytesIO(source)
        self._name = name
        self._stop = stop
        self._decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._pending = b""   # input read from the file but not yet given to zlib
        self._ended = False

    def read(self, n: int) -> np.ndarray:
        """Up to ``n`` decompressed bytes as a uint8 array; fewer only at the end of the stream.

        zlib is asked for at most :data:`_OUTPUT_CHUNK` bytes a call, and each piece is copied into
        an array that doubles as needed. zlib and NumPy's copies run without the GIL, so a GUI
        thread is never held up for more than about a millisecond while a worker loads MNIST
        (16 MB pieces appended to a bytearray held it for 25-50 ms).
        """
        buf = np.empty(min(n, _FIRST_BUFFER), np.uint8)
        got = 0
        while got < n and not self._ended:
            if self._stop is not None and self._stop():
                raise LoadCancelled(f"{self._name}: loading cancelled")
            if self._decomp.eof:
                self._next_member()
                continue
            data = self._decomp.unconsumed_tail
            if not data:
                data = self._pending or self._source.read(_INPUT_CHUNK)
                self._pending = b""
            try:
                chunk = self._decomp.decompress(data, min(n - got, _OUTPUT_CHUNK))
            except zlib.error as exc:
                raise DatasetError(f"{self._name}: corrupt gzip data ({exc})") from None
            if chunk:
                end = got + len(chunk)
                if end > buf.size:
                    bigger = np.empty(min(n, max(2 * buf.size, end)), np.uint8)
                    bigger[:got] = buf[:got]
                    buf = bigger
                buf[got:end] = np.frombuffer(chunk, np.uint8)
                got = end
            elif not data and not self._decomp.eof:
                # No input left, no output came, and the stream never reached its end marker.
                raise DatasetError(f"{self._name}: truncated: the gzip stream ends early "
                                   "(incomplete download?)")
        return buf[:got]

    def _next_member(self) -> None:
        """After a member's end: zero padding to the end of the file, or the next member."""
        rest = bytes(self._decomp.unused_data)
        while True:
            stripped = rest.lstrip(b"\0")
            if stripped:
                break
            more = self._source.read(_INPUT_CHUNK)
            if not more:
                self._ended = True
                return
            rest = more
        if len(stripped) < 2:
            stripped += self._source.read(1)
        if not stripped.startswith(_GZIP_MAGIC):
            raise DatasetError(f"{self._name}: trailing garbage: bytes that are not gzip data follow "
                               "the compressed stream")
        self._pending = stripped
        self._decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
