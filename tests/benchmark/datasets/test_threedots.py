"""ThreeDots: against the reference renders, a brute-force supersampled union, and the grid."""

from __future__ import annotations

import numpy as np
import pytest

from disbench.benchmark.datasets.threedots import ThreeDots, render_three_dots


def brute_force(factors: np.ndarray) -> np.ndarray:
    """The documented geometry on the full 640×640 subpixel canvas, one image at a time."""
    reach = 52428 + 512  # radius in 1/1024 subpixels (reference's truncation) + half a subpixel
    position = np.arange(640) * 1024
    images = []
    for row in factors:
        black = np.zeros((640, 640), dtype=bool)
        for x, y in row.reshape(3, 2):
            cx, cy = 655360 * x // 63, 655360 * y // 63
            black |= (position[None, :] - cx) ** 2 + (position[:, None] - cy) ** 2 <= reach**2
        images.append(1.0 - black.reshape(64, 10, 64, 10).mean(axis=(1, 3)))
    return np.asarray(images, dtype=np.float32)[:, None]


def test_matches_the_reference_renders(shared_data):
    with np.load(shared_data / "threedots" / "threedots_reference_seed0_256.npz") as reference:
        factors = np.concatenate([reference["factors"], reference["probe_factors"]])
        expected = np.concatenate([reference["imgs"], reference["probe_imgs"]])
    images = ThreeDots().observations(factors)
    error = np.abs(images - np.moveaxis(expected, 3, 1))
    # Measured: mean 1.70e-4 over the 260 images, worst image 2.61e-4, 98.4% of pixels equal.
    assert error.mean() <= 2e-3
    assert error.mean() == pytest.approx(1.70e-4, abs=1e-5)
    assert error.mean(axis=(1, 2, 3)).max() < 3e-4
    assert np.mean(error == 0) > 0.98
    # The probes: corners, overlapping discs, the centre.
    assert error[-4:].mean() < 1e-4


def test_window_counting_equals_the_brute_force_union():
    rng = np.random.default_rng(7)
    factors = np.array(
        [
            [0, 0, 0, 0, 0, 0],  # three identical discs, cut by the corner
            [63, 63, 63, 0, 0, 63],  # the other corners
            [10, 10, 20, 10, 10, 20],  # pairwise overlaps
            [30, 30, 33, 31, 31, 34],  # all three overlap
            [31, 31, 31, 31, 31, 31],
            [5, 60, 6, 61, 7, 59],
        ]
    )
    factors = np.concatenate([factors, rng.integers(0, 64, size=(6, 6))])
    np.testing.assert_array_equal(render_three_dots(factors), brute_force(factors))


def test_pixels_are_hundredths_and_one_disc_has_the_disc_area():
    images = ThreeDots().observations([[31, 31, 31, 31, 31, 31], [0, 0, 63, 63, 0, 63]])
    assert images.dtype == np.float32 and images.shape == (2, 1, 64, 64)
    hundredths = np.round((1 - images) * 100)
    np.testing.assert_allclose(1 - images, hundredths / 100, atol=1e-7)
    # One disc inside the canvas: pi (5.12 + 0.05)^2 = 83.97 pixels, up to subpixel rounding.
    assert hundredths[0].sum() / 100 == pytest.approx(np.pi * 5.17**2, rel=2e-3)
    assert images[0, 0, 31, 31] == 0.0 and images[0, 0, 0, 0] == 1.0
    # Three discs centred on three corners: a quarter disc each, x is the column.
    assert hundredths[1].sum() / 100 == pytest.approx(3 * np.pi * 5.17**2 / 4, rel=1e-2)
    assert images[1, 0, 63, 0] == 0.0 and images[1, 0, 0, 63] == 1.0


def test_grid_index_round_trip_and_observations_at():
    dots = ThreeDots()
    assert len(dots) == 64**6 and dots.is_grid
    rng = np.random.default_rng(0)
    factors = dots.sample_factors(50, rng)
    rows = dots.index(factors)
    np.testing.assert_array_equal(dots.factors_at(rows), factors)
    assert dots.index([1, 0, 0, 0, 0, 2]).tolist() == [64**5 + 2]
    np.testing.assert_array_equal(dots.observations_at(rows), dots.observations(factors))
    assert dots.factors_at([len(dots) - 1]).tolist() == [[63] * 6]
    again = dots.sample_indices(50, np.random.default_rng(0))
    np.testing.assert_array_equal(again, rows)


def test_chunking_does_not_change_the_images():
    factors = np.random.default_rng(3).integers(0, 64, size=(37, 6))
    np.testing.assert_array_equal(
        ThreeDots(chunk_size=5).observations(factors), ThreeDots().observations(factors)
    )


def test_provenance_and_fingerprint():
    dots = ThreeDots()
    record = dots.provenance()
    assert record["name"] == "threedots" and record["files"] == []
    assert record["factor_names"] == ["x0", "y0", "x1", "y1", "x2", "y2"]
    assert record["params"] == {"radius": 0.08, "supersampling": 10, "renderer": 1}
    assert ThreeDots(chunk_size=7).fingerprint == dots.fingerprint


def test_bad_input_is_refused():
    dots = ThreeDots()
    with pytest.raises(ValueError, match="out of range in columns 1"):
        dots.observations([[0, 64, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match=r"\(n, 6\) array"):
        dots.observations([[0, 1, 2]])
    with pytest.raises(ValueError, match="row indices out of range"):
        dots.observations_at([-1])
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        ThreeDots(chunk_size=0)
