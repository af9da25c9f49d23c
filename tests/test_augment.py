"""Tests for mnist_gui.imaging.augment: exact geometry on known cases, determinism, parameter ranges."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_gui.imaging.augment import Augmenter, AugmentParams
from test_preprocess import mnist_test_images


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.ascontiguousarray(mnist_test_images()[:64])


def no_change() -> Augmenter:
    return Augmenter(rotation_deg=0.0, scale=(1.0, 1.0), shear_deg=0.0, shift_px=0.0, thickness_prob=0.0)


def params(n: int, **values) -> AugmentParams:
    p = AugmentParams.identity(n)
    for name, value in values.items():
        setattr(p, name, np.full(n, value, dtype=np.float64))
    return p


def as_images(flat: np.ndarray) -> np.ndarray:
    return flat.reshape(-1, 28, 28)


def test_identity_gives_back_the_input_exactly(batch):
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(no_change().apply(batch, rng), batch)
    np.testing.assert_array_equal(Augmenter().apply_params(batch, AugmentParams.identity(len(batch))), batch)


def test_output_shape_dtype_and_out_buffer(batch):
    aug = Augmenter()
    rng = np.random.default_rng(0)
    res = aug.apply(batch, rng)
    assert res.shape == batch.shape and res.dtype == np.uint8
    assert not np.array_equal(res, batch)
    out = np.empty((100, 784), np.uint8)
    ret = aug.apply(batch[:50], rng, out=out[:50])  # a view into a bigger buffer, as training does
    assert np.shares_memory(ret, out) and ret.shape == (50, 784)
    assert aug.apply(batch[:0], rng).shape == (0, 784)


def test_bad_input_is_refused(batch):
    aug = Augmenter()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        aug.apply(batch.astype(np.float32), rng)
    with pytest.raises(ValueError):
        aug.apply(batch.reshape(-1, 28, 28), rng)
    with pytest.raises(ValueError):
        aug.apply(batch, rng, out=np.empty((len(batch), 784), np.float32))
    with pytest.raises(ValueError):
        Augmenter(scale=(1.2, 0.8))
    with pytest.raises(ValueError):
        Augmenter(thickness_prob=1.5)


def test_input_is_not_modified(batch):
    before = batch.copy()
    Augmenter().apply(batch, np.random.default_rng(0))
    np.testing.assert_array_equal(batch, before)


@pytest.mark.parametrize("dx,dy", [(1, 0), (0, 1), (-1, 0), (2, -1)])
def test_whole_pixel_shift_is_np_roll(batch, dx, dy):
    # Interior digits only (a 2 px empty frame), so np.roll's wrap-around moves no ink.
    imgs = as_images(batch)
    frame = imgs.copy()
    frame[:, 2:-2, 2:-2] = 0
    interior = batch[frame.reshape(len(batch), -1).max(axis=1) == 0]
    assert len(interior) > 40
    res = Augmenter().apply_params(interior, params(len(interior), shift_x=dx, shift_y=dy))
    expected = np.roll(as_images(interior), (dy, dx), axis=(1, 2)).reshape(interior.shape)
    np.testing.assert_array_equal(res, expected)
    # Ink pushed off the field is lost, not wrapped around.
    edge = np.zeros((1, 28, 28), np.uint8)
    edge[0, 10:20, 27] = 255
    moved = Augmenter().apply_params(edge.reshape(1, 784), params(1, shift_x=1))
    assert not moved.any()


def test_rotation_by_90_degrees_is_rot90(batch):
    res = Augmenter().apply_params(batch, params(len(batch), angle=np.pi / 2))
    expected = np.rot90(as_images(batch), 1, axes=(1, 2)).reshape(batch.shape)
    # cos(90 deg) is 6e-17, not 0: allow one grey level of interpolation rounding.
    assert np.abs(res.astype(int) - expected).max() <= 1


def test_rotation_by_180_degrees_is_a_double_flip(batch):
    res = Augmenter().apply_params(batch, params(len(batch), angle=np.pi))
    expected = as_images(batch)[:, ::-1, ::-1].reshape(batch.shape)
    assert np.abs(res.astype(int) - expected).max() <= 1


def test_half_pixel_shift_averages_neighbours():
    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 10, 10] = 200
    res = Augmenter().apply_params(img.reshape(1, 784), params(1, shift_x=0.5)).reshape(28, 28)
    assert res[10, 10] == 100 and res[10, 11] == 100 and res.sum() == 200


def test_scale_grows_the_digit_about_the_centre(batch):
    def spread(imgs):
        m = as_images(imgs).astype(np.float64)
        w = m.sum(axis=(1, 2))
        ys = np.arange(28) - 13.5
        return np.sqrt((m.sum(axis=2) @ ys**2 + m.sum(axis=1) @ ys**2) / w)

    aug = Augmenter()
    bigger = aug.apply_params(batch, params(len(batch), scale=1.15))
    smaller = aug.apply_params(batch, params(len(batch), scale=0.85))
    ratio_up = spread(bigger) / spread(batch)
    ratio_down = spread(smaller) / spread(batch)
    assert np.median(ratio_up) == pytest.approx(1.15, abs=0.03)
    assert np.median(ratio_down) == pytest.approx(0.85, abs=0.03)


def test_positive_shear_leans_a_vertical_bar_to_the_right():
    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 4:24, 13:15] = 255
    res = Augmenter().apply_params(img.reshape(1, 784), params(1, shear=np.radians(20))).reshape(28, 28)
    col = lambda row: float(res[row] @ np.arange(28)) / res[row].sum()  # noqa: E731
    assert col(6) > 13.5 + 2 and col(21) < 13.5 - 2  # top moved right, bottom left


def test_thickness_changes_ink_mass_in_the_expected_direction(batch):
    aug = Augmenter()
    mass = batch.sum(axis=1, dtype=np.int64)
    thicker = aug.apply_params(batch, params(len(batch), thickness=1.0)).sum(axis=1, dtype=np.int64)
    thinner = aug.apply_params(batch, params(len(batch), thickness=-1.0)).sum(axis=1, dtype=np.int64)
    half = aug.apply_params(batch, params(len(batch), thickness=0.5)).sum(axis=1, dtype=np.int64)
    assert np.all(thicker > mass) and np.all(thinner < mass)
    assert np.all((half > mass) & (half < thicker))
    assert np.median(thicker / mass) > 1.3 and np.median(thinner / mass) < 0.8
    # Thinning goes only part of the way, so no digit disappears.
    assert np.all(thinner > 0.3 * mass)


def test_deterministic_for_a_given_generator_state(batch):
    aug = Augmenter()
    a = aug.apply(batch, np.random.default_rng(42))
    b = Augmenter().apply(batch, np.random.default_rng(42))
    c = aug.apply(batch, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the augmenter holds no random state of its own: only the generator decides, however often used
    np.testing.assert_array_equal(aug.apply(batch, np.random.default_rng(42)), a)


def test_batch_equals_images_one_by_one(batch):
    """Vectorisation must not mix images up: each row depends only on its own parameters."""
    aug = Augmenter()
    p = aug.sample_params(len(batch), np.random.default_rng(7))
    whole = aug.apply_params(batch, p)
    for i in (0, 1, 17, len(batch) - 1):
        one = AugmentParams(*(np.asarray(getattr(p, f))[i:i + 1] for f in
                              ("angle", "scale", "shear", "shift_x", "shift_y", "thickness")))
        np.testing.assert_array_equal(aug.apply_params(batch[i:i + 1], one), whole[i:i + 1])


def test_random_parameters_stay_in_their_ranges():
    aug = Augmenter(rotation_deg=15, scale=(0.85, 1.15), shear_deg=10, shift_px=2, thickness_prob=0.5)
    p = aug.sample_params(20000, np.random.default_rng(0))
    deg = np.degrees
    assert np.abs(deg(p.angle)).max() <= 15 and np.abs(deg(p.angle)).max() > 14.9
    assert p.scale.min() >= 0.85 and p.scale.max() <= 1.15
    assert np.abs(deg(p.shear)).max() <= 10
    assert np.abs(p.shift_x).max() <= 2 and np.abs(p.shift_y).max() <= 2
    assert np.abs(p.thickness).max() <= 1
    # uniform and centred
    assert abs(np.mean(p.angle)) < 0.01 and abs(np.mean(p.scale) - 1.0) < 0.01
    assert np.std(deg(p.angle)) == pytest.approx(15 / np.sqrt(3), rel=0.03)
    # about half the images get a thickness change, half of those thicker
    changed = p.thickness != 0
    assert np.mean(changed) == pytest.approx(0.5, abs=0.02)
    assert np.mean(p.thickness[changed] > 0) == pytest.approx(0.5, abs=0.03)
    assert not Augmenter(thickness_prob=0).sample_params(1000, np.random.default_rng(0)).thickness.any()


def test_augmented_digits_keep_their_ink(batch):
    """Default distortions keep the digit on the field: little ink is lost at the borders."""
    res = Augmenter(thickness_prob=0).apply(batch, np.random.default_rng(0))
    ratio = res.sum(axis=1, dtype=np.int64) / batch.sum(axis=1, dtype=np.int64)
    assert np.all(ratio > 0.6) and np.all(ratio < 1.6)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)
