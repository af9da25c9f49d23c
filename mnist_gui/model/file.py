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
from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.errors import ModelFileError
from mnist_gui.model.model import Model, Normalization
from mnist_gui.nn import ACTIVATIONS, build_mlp

FORMAT_VERSION = 1
MAX_LAYERS = 32
MAX_PARAMS = 200_000_000
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
    """Write ``model`` to ``path`` atomically. Raises ModelFileError if it cannot be written."""
    path = Path(path)
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
    text = json.dumps(_jsonable(meta), sort_keys=True, allow_nan=False)
    arrays["metadata"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    try:
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot write model file: {exc.strerror or exc}") from exc


def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{path.name}: {problem}")


def load_model(path: str | os.PathLike) -> Model:
    """Read and fully validate a model file.

    The archive is read from the open file, not into memory first: only its directory and the
    entries we know are read, each bounded by the size its declared shape allows, so a huge or
    hostile file costs no more than a real model.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a model file")
    if not path.is_file():   # a FIFO or a device: opening could block, reading might never end
        raise _fail(path, "not a regular file")
    try:
        fh = open(path, "rb")
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

    First a worst-case bound, propagated layer by layer: |input| <= the larger end of the normalized
    pixel range; |W.T x + b| <= max column sum of |W| * |x| + max |b|; every activation we have keeps
    |f(z)| <= max(|z|, 1). Below the limit, float32 inference cannot overflow. Above it (a very deep
    but healthy network can get there) the verdict comes from real forward passes on probe images:
    blank, full ink, and random ones; only weights that actually overflow are refused.
    """
    with np.errstate(all="ignore"):
        scale, shift = (float(v) for v in model.normalization.scale_shift)
        bound = max(abs(shift), abs(255.0 * scale + shift))
        for layer in model.network.dense_layers:
            w, b = layer.params["W"], layer.params["b"]
            bound = float(np.abs(w).sum(axis=0, dtype=np.float64).max()) * bound \
                + float(np.abs(b).max(initial=0.0))
            bound = max(bound, 1.0)
    if bound < MAX_LOGIT_BOUND:
        return
    probes = np.concatenate([np.zeros((1, PIXELS), np.uint8), np.full((1, PIXELS), 255, np.uint8),
                             np.random.default_rng(0).integers(0, 256, (6, PIXELS), dtype=np.uint8)])
    with np.errstate(all="ignore"):
        x = model.network.infer(model.encode(probes))
        finite = bool(np.all(np.isfinite(x)) and np.all(np.isfinite(x - x.max(axis=1, keepdims=True))))
    if not finite:
        raise _fail(path, "weights or input normalization are so large that predictions would overflow")


def _load_from_zip(path: Path, zf: zipfile.ZipFile, names: dict) -> Model:
    meta_arr = _read_array(path, zf, names, "metadata", 16 * 1024 * 1024)
    if meta_arr.dtype != np.uint8 or meta_arr.ndim != 1:
        raise _fail(path, "metadata entry has the wrong type")
    try:
        meta = json.loads(meta_arr.tobytes().decode("utf-8"))
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
    if (not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS + 1
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 1_000_000 for s in sizes)):
        raise _fail(path, f"invalid architecture {sizes!r}")
    if sizes[0] != PIXELS or sizes[-1] != CLASSES:
        raise _fail(path, f"architecture {sizes} does not take {PIXELS} inputs and give {CLASSES} outputs")
    if sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) > MAX_PARAMS:
        raise _fail(path, "architecture is implausibly large")
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
                arr = arr.astype(np.float32)
            if not np.all(np.isfinite(arr)):
                raise _fail(path, f"array {name} contains NaN or infinite values (in float32)")
            arrays.append(arr)
    extra = sorted(n for n in names if n.endswith(".npy") and n[:-4] not in
                   {"metadata", *(f"{p}{i}" for i in range(len(sizes) - 1) for p in "Wb")})
    if extra:
        raise _fail(path, f"unexpected arrays {', '.join(e[:-4] for e in extra)} for architecture {sizes}")
    network = build_mlp(sizes, activation=activation)
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
