"""Tests for mnist_gui.imaging.strokes: exact spec (float64 reference), incremental == full render, dirty rects,
edge cases (off-canvas, hairline, single point, pressure). Speed is measured by the benchmark, not here."""
import numpy as np
import pytest

from mnist_gui.imaging.strokes import Stroke, render, draw_segment, draw_stroke, render_reference, pen_radius


def random_drawing(rng, n_strokes, n_points, width):
    out = []
    for _ in range(n_strokes):
        start = rng.uniform(0.1, 0.9, 2)
        pts = np.clip(start + np.cumsum(rng.normal(0, 0.02, (n_points, 2)), 0), -0.05, 1.05)
        out.append(Stroke(width, pts))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_matches_reference_and_incremental(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([40, 97, 200, 322]))
    d = random_drawing(rng, int(rng.integers(1, 5)), int(rng.integers(1, 10)),
                       float(rng.choice([0.0, 0.004, 0.03, 0.07, 0.2])))
    d.append(Stroke(0.05, np.array([[0.05, 0.9], [0.95, 0.1]])))   # a long segment
    d.append(Stroke(0.04, np.array([[0.5, 0.5]])))                 # a dot
    full = render(d, n)
    ref = render_reference(d, n)
    assert np.abs(full.astype(int) - ref).max() <= 1           # float32 vs float64 rounding only
    assert (full != ref).mean() < 1e-4
    img = np.zeros((n, n), np.uint8)
    for s in d:
        p = s.points
        draw_segment(img, p[0], p[0], s.width) if len(p) == 1 else None
        for i in range(1, len(p)):
            draw_segment(img, p[i - 1], p[i], s.width)
    assert np.array_equal(img, full)
    img2 = np.zeros((n, n), np.uint8)
    for s in d:
        draw_stroke(img2, s)
    assert np.array_equal(img2, full)


def test_spec_values():
    n = 100
    img = render([Stroke(0.1, np.array([[0.5, 0.5]]))], n)   # disc of radius 5 at (50, 50)
    # pixel (i, j) centre (j+0.5, i+0.5): distance from (50,50) of pixel (49, 49) is sqrt(0.5)
    assert img[49, 49] == 255 and img[50, 50] == 255
    d = np.hypot(58 + 0.5 - 50, 49 + 0.5 - 50)      # pixel (49, 58): coverage 5.5 - d
    assert img[49, 58] == int(np.floor(255 * np.clip(5.5 - d, 0, 1) + 0.5))
    assert img[49, 53] == 255 and img[49, 56] == 0
    # hairline: radius clamps to 0.25
    thin = render([Stroke(0.0, np.array([[0.1, 0.505], [0.9, 0.505]]))], n)
    assert thin.max() == int(np.floor(255 * 0.75 + 0.5))
    assert pen_radius(0.0, 100) == 0.25 and pen_radius(0.1, 100) == 5.0


def test_max_not_alpha_over():
    # a polyline doubling back: joints and overlaps never exceed a single capsule's value
    d = [Stroke(0.05, np.array([[0.2, 0.5], [0.8, 0.5], [0.2, 0.5], [0.5, 0.52]]))]
    one = render([Stroke(0.05, np.array([[0.2, 0.5], [0.8, 0.5]]))], 200)
    many = render(d, 200)
    assert many[100, 100] == one[100, 100] == 255


def test_dirty_rect_and_off_canvas():
    rng = np.random.default_rng(1)
    img = np.zeros((150, 150), np.uint8)
    for _ in range(300):
        a, b = rng.uniform(-0.3, 1.3, 2), rng.uniform(-0.3, 1.3, 2)
        before = img.copy()
        r = draw_segment(img, a, b, float(rng.uniform(0, 0.1)))
        ch = np.argwhere(img != before)
        if ch.size:
            assert not r.empty
            assert r.y <= ch[:, 0].min() and ch[:, 0].max() < r.y + r.h
            assert r.x <= ch[:, 1].min() and ch[:, 1].max() < r.x + r.w
        assert r.x >= 0 and r.y >= 0 and r.x + r.w <= 150 and r.y + r.h <= 150
    assert draw_segment(img, (-1, -1), (-0.9, -0.9), 0.05).empty


def test_pressure_column():
    p = np.array([[0.2, 0.5, 1.0], [0.8, 0.5, 0.5]])
    a = render([Stroke(0.1, p)], 100)
    b = render([Stroke(0.05, p[:, :2])], 100)
    assert np.array_equal(a, b)    # the segment uses its end point's pressure, like the canvas


def test_bad_input():
    with pytest.raises(ValueError):
        Stroke(0.1, np.zeros((0, 2)))
    with pytest.raises(ValueError):
        Stroke(0.1, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError):
        Stroke(-1.0, np.zeros((1, 2)))
