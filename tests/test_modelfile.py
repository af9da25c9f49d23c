"""Model files: round trip, atomicity, and one clear ModelFileError for every kind of damage."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from mnist_gui.errors import ModelFileError
from mnist_gui.model import Model, Normalization
from mnist_gui.model.file import FORMAT_VERSION, load_model, save_model
from mnist_gui.nn import build_mlp


def make_model(sizes=(784, 16, 10), activation="tanh"):
    net = build_mlp(sizes, activation=activation, seed=3)
    return Model(net, Normalization.standard(), {"test_accuracy": 0.91, "preset": "fast",
                                                 "history": [{"epoch": 1, "val_loss": float("nan")}]})


def test_round_trip_preserves_everything(tmp_path):
    model = make_model()
    path = tmp_path / "m.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.sizes == (784, 16, 10) and loaded.activation == "tanh"
    assert loaded.normalization == Normalization.standard()
    assert np.array_equal(loaded.network.flat_params, model.network.flat_params)
    meta = loaded.metadata
    assert meta["format_version"] == FORMAT_VERSION and meta["test_accuracy"] == 0.91
    assert meta["history"][0]["val_loss"] is None     # NaN is stored as null: the file stays valid JSON
    x = np.random.default_rng(0).integers(0, 256, (3, 784), dtype=np.uint8)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_save_leaves_no_temporary_files_and_replaces_atomically(tmp_path):
    path = tmp_path / "m.npz"
    save_model(make_model(), path)
    save_model(make_model((784, 8, 10)), path)
    assert os.listdir(tmp_path) == ["m.npz"]
    assert load_model(path).sizes == (784, 8, 10)


def test_save_to_missing_folder_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="cannot write"):
        save_model(make_model(), tmp_path / "nope" / "m.npz")


def rewrite(tmp_path, mutate):
    """Save a good model, let ``mutate(arrays, meta)`` damage it, write it back as a plain npz."""
    good = tmp_path / "good.npz"
    save_model(make_model(), good)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("metadata").tobytes())
    mutate(arrays, meta)
    if meta is not None:
        arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


@pytest.mark.parametrize("mutate,message", [
    (lambda a, m: a.pop("W1"), "missing array 'W1'"),
    (lambda a, m: a.__setitem__("W0", np.zeros((784, 17), np.float32)), "shape"),
    (lambda a, m: a["b0"].__setitem__(0, np.nan), "NaN or infinite"),
    (lambda a, m: a["W1"].__setitem__((0, 0), np.inf), "NaN or infinite"),
    (lambda a, m: m.__setitem__("format_version", 99), "newer than this app supports"),
    (lambda a, m: m.pop("format_version"), "format_version"),
    (lambda a, m: m.__setitem__("architecture", [784, 16, 11]), "10 outputs"),
    (lambda a, m: m.__setitem__("architecture", "big"), "invalid architecture"),
    (lambda a, m: m.__setitem__("activation", "swish"), "unknown activation"),
    (lambda a, m: m.__setitem__("normalization", {"mean": 0, "std": 0}), "normalization"),
    (lambda a, m: a.__setitem__("W5", np.zeros(3, np.float32)), "unexpected arrays"),
    (lambda a, m: a.__setitem__("W0", np.zeros((784, 16), np.int32)), "dtype"),
])
def test_damaged_contents_give_clear_errors(tmp_path, mutate, message):
    bad = rewrite(tmp_path, mutate)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(bad)
    assert "bad.npz" in str(info.value)


def test_metadata_not_json(tmp_path):
    good = tmp_path / "good.npz"
    save_model(make_model(), good)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["metadata"] = np.frombuffer(b"{not json", np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(tmp_path / "bad.npz")


def test_not_a_zip_truncated_empty_and_missing(tmp_path):
    good = tmp_path / "good.npz"
    save_model(make_model(), good)
    raw = good.read_bytes()
    cases = {"text.npz": b"hello, I am not a model", "empty.npz": b"",
             "trunc.npz": raw[: len(raw) // 2], "tail.npz": raw[:-10]}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError) as info:
            load_model(tmp_path / name)
        assert name in str(info.value)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="folder"):
        load_model(tmp_path)


def test_oversized_array_entry_is_refused_before_decompressing(tmp_path):
    # A zip whose W0 entry claims to be far larger than the architecture allows.
    bad = rewrite(tmp_path, lambda a, m: None)
    buf = io.BytesIO()
    with zipfile.ZipFile(bad) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename == "W0.npy":
                huge = io.BytesIO()
                np.save(huge, np.zeros((784, 16 * 50), np.float32))
                dst.writestr("W0.npy", huge.getvalue())
            else:
                dst.writestr(item, src.read(item))
    (tmp_path / "huge.npz").write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="larger than its declared shape"):
        load_model(tmp_path / "huge.npz")


def test_deep_healthy_network_over_the_worst_case_bound_still_loads(tmp_path):
    # Ten hidden layers of 64 with weights +-20: the worst-case bound is ~1e32 (over the 1e30 limit)
    # but real inputs give logits around 1e19, finite in float32: the model must load.
    net = build_mlp((784, *[64] * 10, 10), seed=0)
    rng = np.random.default_rng(0)
    for layer in net.dense_layers:
        layer.params["W"][...] = rng.uniform(-20, 20, layer.params["W"].shape)
    model = Model(net, Normalization.standard(), {})
    save_model(model, tmp_path / "deep.npz")
    loaded = load_model(tmp_path / "deep.npz")
    assert np.all(np.isfinite(loaded.predict_proba(np.full((1, 784), 255, np.uint8))))
    # Scale the same weights until they really overflow: refused.
    for layer in net.dense_layers:
        layer.params["W"][...] *= 1e4
    save_model(model, tmp_path / "overflow.npz")
    with pytest.raises(ModelFileError, match="overflow"):
        load_model(tmp_path / "overflow.npz")


def test_a_huge_file_is_judged_without_being_read_whole(tmp_path):
    # load_model used to read the whole file into memory before looking at it.
    import tracemalloc

    huge = tmp_path / "huge.npz"
    with open(huge, "wb") as fh:
        fh.truncate(3 << 30)                      # 3 GB of zeros, sparse on disk
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="not a model file"):
            load_model(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak:,} bytes allocated"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(fifo)
