"""Model files: ``.npz`` with the weights (W0, b0, W1, b1, ...) and a JSON ``metadata`` entry.

The metadata holds the format version, architecture, activation, input normalization, preset and
hyper-parameters, training history, test accuracy and the dataset checksum.

Writing is atomic (temporary file, fsync, rename): an interrupted save leaves the previous file.
Reading trusts nothing: the zip, the JSON, the format version, every array's name, dtype, shape
and finiteness are checked, and sizes are checked *before* anything is decompressed, so a hostile
file cannot make us allocate more than the architecture it declares. Every problem is a
:class:`ModelFileError` that names the file.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_gui import __version__
from mnist_gui.atomic import atomic_open
from mnist_gui.digits import CLASSES, PIXELS, SIDE
from mnist_gui.errors import ModelFileError, display_name
from mnist_gui.files import NotRegularFile, open_regular
from mnist_gui.model.limits import MAX_HIDDEN_LAYERS, architecture_problem
from mnist_gui.model.model import Model, Normalization
from mnist_gui.nn import ACTIVATIONS, build_mlp
from mnist_gui.nn.layers import Dense

FORMAT_VERSION = 1
#: The metadata (JSON) may hold at most this many bytes and be nested at most this deep, on saving
#: and on loading: ours is a few kilobytes, three levels deep; JSON nested thousands of levels deep
#: made the encoder and decoder recurse until Python's RecursionError.
MAX_METADATA_BYTES = 16 * 1024 * 1024
MAX_METADATA_DEPTH = 32
# Weights whose worst-case logits exceed this are refused: float32 overflows at 3.4e38, and a
# softmax of infinite logits is NaN. Trained networks stay many orders of magnitude below it.
MAX_LOGIT_BOUND = 1e30
# A damaged archive can fail in many ways inside zipfile/zlib/lzma/numpy; all mean the same here.
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, ValueError, OSError,
            EOFError, KeyError, IndexError, OverflowError, TypeError, UnicodeDecodeError,
            NotImplementedError, RuntimeError)


def _jsonable(value):
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def save_model(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically. Raises ModelFileError if it cannot be written: the target
    is a folder, FIFO, device or socket (a symbolic link is written through, see
    :func:`mnist_gui.atomic.writable_target`), its folder is missing or read-only, the disk is full, or
    the metadata is nested too deeply or too large to be read back."""
    path = Path(path)
    problem = _metadata_problem(model.metadata)
    if problem:
        raise ModelFileError(f"{display_name(path)}: cannot save the model: its metadata {problem}")
    meta = dict(model.metadata)
    meta.update({
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "architecture": list(model.sizes),
        "activation": model.activation,
        "normalization": {"mean": model.normalization.mean, "std": model.normalization.std},
    })
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(model.network.dense_layers):
        arrays[f"W{i}"] = np.ascontiguousarray(layer.params["W"], dtype=np.float32)
        arrays[f"b{i}"] = np.ascontiguousarray(layer.params["b"], dtype=np.float32)
    try:
        text = json.dumps(_jsonable(meta), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{display_name(path)}: cannot save the model: its metadata is not JSON ({exc})") from None
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > MAX_METADATA_BYTES:
        raise ModelFileError(f"{display_name(path)}: cannot save the model: its metadata is too large "
                             f"({len(data):,} bytes; at most {MAX_METADATA_BYTES:,})")
    arrays["metadata"] = np.frombuffer(data, dtype=np.uint8)
    try:
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as exc:
        raise ModelFileError(f"{display_name(path)}: cannot write model file: {exc.strerror or exc}") from exc


def _metadata_problem(meta) -> str | None:
    """Why ``meta`` cannot be written as (readable) JSON: nested too deeply, or too many values
    (a structure that contains itself counts as too many). Checked without recursion."""
    stack, seen = [(meta, 1)], 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_METADATA_DEPTH:
            return f"is nested more than {MAX_METADATA_DEPTH} levels deep"
        if seen > 1_000_000:
            return "holds more than a million values (or contains itself)"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)
    return None


def _json_depth(text: str) -> int:
    """How deeply the JSON ``text`` nests (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{display_name(path.name)}: {problem}")


def load_model(path: str | os.PathLike) -> Model:
    """Read and fully validate a model file.

    The archive is read from the open file, not into memory first: only its directory and the
    entries we know are read, each bounded by the size its declared shape allows, so a huge or
    hostile file costs no more than a real model.
    """
    path = Path(path)
    try:
        fh = open_regular(path)   # a FIFO or a device: opening could block, reading might never end
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a folder, not a model file") from None
    except NotRegularFile as exc:
        raise _fail(path, f"not a regular file ({exc.strerror})") from None
    except OSError as exc:
        raise _fail(path, f"cannot read: {exc.strerror or exc}") from exc
    with fh:
        try:
            zf = zipfile.ZipFile(fh)
            names = {info.filename: info for info in zf.infolist()}
        except _DAMAGED as exc:
            raise _fail(path, "not a model file (not a valid .npz/zip archive)") from exc
        try:
            return _load_from_zip(path, zf, names)
        except ModelFileError:
            raise
        except _DAMAGED as exc:
            raise _fail(path, f"damaged model file ({type(exc).__name__}: {exc})") from exc


def _read_array(path: Path, zf: zipfile.ZipFile, names: dict, name: str, max_bytes: int) -> np.ndarray:
    info = names.get(name + ".npy")
    if info is None:
        raise _fail(path, f"missing array {name!r}")
    # Guard before decompressing: the declared size must fit the expected array (+ .npy header).
    if info.file_size > max_bytes + 4096:
        raise _fail(path, f"array {name!r} is larger than its declared shape allows")
    with zf.open(info) as fh:
        data = fh.read(max_bytes + 4097)
    _check_npy_header(path, name, data)
    arr = np.load(io.BytesIO(data), allow_pickle=False)
    if not isinstance(arr, np.ndarray):
        raise _fail(path, f"entry {name!r} is not an array")
    return arr


def _check_npy_header(path: Path, name: str, data: bytes) -> None:
    """Refuse an entry whose .npy header declares more data than the entry holds. NumPy allocates
    the declared shape *before* reading, so a 100-byte entry could otherwise ask for terabytes."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise _fail(path, f"array {name!r} has an unsupported .npy version {version}")
    declared = math.prod(shape) * dtype.itemsize
    if declared > len(data) - stream.tell():
        raise _fail(path, f"array {name!r} declares shape {shape} but its data is shorter")


def _check_outputs_finite(path: Path, model: Model) -> None:
    """Refuse weights (or a normalization) so large that predictions would be infinite or NaN.

    First a worst-case bound: every pixel ranges over [0, 255], so every unit's input ranges over an
    interval, propagated layer by layer (interval arithmetic: the positive weights take an input's
    upper end, the negative ones its lower end; every activation we have is monotone). Below
    :data:`MAX_LOGIT_BOUND` no input can make float32 inference overflow. Above it (a deep but
    healthy network can get there) the verdict comes from real forward passes on probe images: blank,
    full ink, random noise, and digit-like shapes (strokes, rings, discs) where real digits have ink;
    weights that overflow on any of them are refused. A model can still pass and overflow on some
    other input: :meth:`Model.predict_proba` then raises a PredictionError instead of returning NaN.
    """
    if _worst_case_bound(model) < MAX_LOGIT_BOUND:
        return
    with np.errstate(all="ignore"):
        x = model.network.infer(model.encode(_probe_images()))
        finite = bool(np.all(np.isfinite(x)) and np.all(np.isfinite(x - x.max(axis=1, keepdims=True))))
    if not finite:
        raise _fail(path, "weights or input normalization are so large that predictions would overflow")


def _worst_case_bound(model: Model) -> float:
    """The largest absolute value any unit (and so any logit) can take, over every possible input."""
    with np.errstate(all="ignore"):   # a bound that overflows is infinite, which is the answer
        return _interval_bound(model)


def _interval_bound(model: Model) -> float:
    scale, shift = (float(v) for v in model.normalization.scale_shift)
    low, high = sorted((shift, 255.0 * scale + shift))
    lo, hi = np.full(PIXELS, low), np.full(PIXELS, high)
    bound = max(abs(low), abs(high))
    for layer in model.network.layers:
        if isinstance(layer, Dense):
            w, b = layer.params["W"], layer.params["b"].astype(np.float64)
            new_lo, new_hi = np.empty(w.shape[1]), np.empty(w.shape[1])
            step = max(1, (1 << 20) // w.shape[0])   # columns at a time: float64 copies stay ~8 MB
            for j in range(0, w.shape[1], step):
                block = w[:, j:j + step].astype(np.float64)
                pos, neg = np.maximum(block, 0.0), np.minimum(block, 0.0)
                new_lo[j:j + step] = lo @ pos + hi @ neg
                new_hi[j:j + step] = hi @ pos + lo @ neg
            lo, hi = new_lo + b, new_hi + b
        else:   # a monotone activation (or dropout, the identity at inference)
            lo, hi = layer.infer(lo[None])[0], layer.infer(hi[None])[0]
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            return math.inf   # (a NaN here comes from inf * 0: unbounded too)
        bound = max(bound, float(np.abs(lo).max()), float(np.abs(hi).max()))
    return bound if math.isfinite(bound) else math.inf


def _probe_images() -> np.ndarray:
    """Blank, full ink, random noise, and digit-like shapes placed where MNIST digits have their ink
    (strokes, rings, discs and blocks in the central 20x20 box), at full and half ink."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:SIDE, :SIDE]
    r = np.hypot(yy - 13.5, xx - 13.5)
    shapes = [r <= radius for radius in (2, 4, 6, 8)] + [np.abs(r - radius) <= 1.5 for radius in (4, 6, 8)]
    shapes += [(np.abs(xx - c) <= 1.5) & (yy >= 4) & (yy <= 23) for c in (9, 14, 19)]
    shapes += [(np.abs(yy - c) <= 1.5) & (xx >= 4) & (xx <= 23) for c in (9, 14, 19)]
    shapes += [(np.abs(yy - xx) <= 1.5) & (r <= 10), (np.abs(yy + xx - 27) <= 1.5) & (r <= 10),
               (yy >= 8) & (yy <= 19) & (xx >= 8) & (xx <= 19), (yy >= 4) & (yy <= 23) & (xx >= 4) & (xx <= 23)]
    digits = np.array([s.reshape(PIXELS) for s in shapes], dtype=np.uint8) * 255
    return np.concatenate([np.zeros((1, PIXELS), np.uint8), np.full((1, PIXELS), 255, np.uint8),
                           rng.integers(0, 256, (6, PIXELS), dtype=np.uint8), digits, digits // 2])


def _load_from_zip(path: Path, zf: zipfile.ZipFile, names: dict) -> Model:
    meta_arr = _read_array(path, zf, names, "metadata", MAX_METADATA_BYTES)
    if meta_arr.dtype != np.uint8 or meta_arr.ndim != 1:
        raise _fail(path, "metadata entry has the wrong type")
    try:
        text = meta_arr.tobytes().decode("utf-8")
        if _json_depth(text) > MAX_METADATA_DEPTH:
            raise _fail(path, f"metadata is nested more than {MAX_METADATA_DEPTH} levels deep")
        meta = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise _fail(path, "metadata is not a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(path, "metadata has no format_version")
    if version > FORMAT_VERSION:
        raise _fail(path, f"format version {version} is newer than this app supports ({FORMAT_VERSION}); "
                          "update mnist-gui to open it")
    if version < 1:
        raise _fail(path, f"invalid format version {version}")
    sizes = meta.get("architecture")
    # The one limit training obeys too (model/limits.py), checked before any array is read.
    if (not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_HIDDEN_LAYERS + 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)):
        shown = repr(sizes) if len(repr(sizes)) < 200 else repr(sizes)[:200] + "..."
        raise _fail(path, f"invalid architecture {shown} (at most {MAX_HIDDEN_LAYERS} hidden layers)")
    if sizes[0] != PIXELS or sizes[-1] != CLASSES:
        raise _fail(path, f"architecture {sizes} does not take {PIXELS} inputs and give {CLASSES} outputs")
    problem = architecture_problem(sizes)
    if problem:
        raise _fail(path, f"architecture {sizes}: {problem}")
    accuracy = meta.get("test_accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))
                                 or not 0.0 <= accuracy <= 1.0):
        raise _fail(path, f"invalid test_accuracy {accuracy!r} in metadata")
    activation = meta.get("activation", "relu")
    if activation not in ACTIVATIONS:
        raise _fail(path, f"unknown activation {activation!r}")
    norm = meta.get("normalization") or {}
    try:
        normalization = Normalization(float(norm.get("mean", 0.0)), float(norm.get("std", 1.0)))
    except (TypeError, ValueError, AttributeError) as exc:
        raise _fail(path, "invalid input normalization") from exc
    if not (math.isfinite(normalization.mean) and math.isfinite(normalization.std) and normalization.std > 0):
        raise _fail(path, "invalid input normalization")

    arrays = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for name, shape in ((f"W{i}", (n_in, n_out)), (f"b{i}", (n_out,))):
            arr = _read_array(path, zf, names, name, int(np.prod(shape)) * 8)
            if arr.shape != shape:
                raise _fail(path, f"array {name} has shape {arr.shape}, expected {shape}")
            if arr.dtype.kind != "f":
                raise _fail(path, f"array {name} has dtype {arr.dtype}, expected floating point")
            with np.errstate(over="ignore"):   # float64 beyond float32's range becomes inf: refused below
                arr = arr.astype(np.float32, copy=False)
            if not np.all(np.isfinite(arr)):
                raise _fail(path, f"array {name} contains NaN or infinite values (in float32)")
            arrays.append(arr)
    extra = sorted(n for n in names if n.endswith(".npy") and n[:-4] not in
                   {"metadata", *(f"{p}{i}" for i in range(len(sizes) - 1) for p in "Wb")})
    if extra:
        raise _fail(path, f"unexpected arrays {', '.join(e[:-4] for e in extra)} for architecture {sizes}")
    network = build_mlp(sizes, activation=activation, init="zeros")   # the weights come next
    network.set_weights(arrays)
    with np.errstate(over="ignore"):   # a normalization too extreme for float32 becomes inf: refused below
        model = Model(network, normalization, meta)
    _check_outputs_finite(path, model)
    return model


def read_metadata(path: str | os.PathLike) -> dict:
    """Only the metadata of a model file (its JSON entry), without reading the weights: a few
    kilobytes instead of megabytes, for listing models. Nothing in it is checked but its form;
    :func:`load_model` remains the way to use a model."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "no such file" if not path.exists() else "not a regular file")
    try:
        with open(path, "rb") as fh:
            zf = zipfile.ZipFile(fh)
            names = {info.filename: info for info in zf.infolist()}
            meta_arr = _read_array(path, zf, names, "metadata", 16 * 1024 * 1024)
            meta = json.loads(meta_arr.tobytes().decode("utf-8"))
    except ModelFileError:
        raise
    except (*_DAMAGED, json.JSONDecodeError) as exc:
        raise _fail(path, f"unreadable metadata ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict):
        raise _fail(path, "metadata is not a JSON object")
    return meta
