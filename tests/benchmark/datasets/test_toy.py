"""Toy: the documented mixing, determinism, the grid, and the fingerprint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from disbench.benchmark.datasets.toy import Toy


def test_observations_are_the_documented_network():
    toy = Toy(factor_sizes=(3, 1, 5), observation_shape=(2, 3, 4), seed=11)
    generator = np.random.default_rng(11)
    w1 = generator.normal(0.0, 2.0 / np.sqrt(3), size=(3, 32))
    b1 = generator.normal(0.0, 0.5, size=32)
    w2 = generator.normal(0.0, 3.0 / np.sqrt(32), size=(32, 24))
    b2 = generator.normal(0.0, 0.5, size=24)
    factors = np.array([[0, 0, 0], [2, 0, 4], [1, 0, 3]])
    z = np.array([[-1.0, 0.0, -1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.5]])
    expected = 1.0 / (1.0 + np.exp(-(np.tanh(z @ w1 + b1) @ w2 + b2)))
    images = toy.observations(factors)
    assert images.dtype == np.float32 and images.shape == (3, 2, 3, 4)
    np.testing.assert_allclose(images.reshape(3, -1), expected, rtol=1e-6, atol=1e-7)


def test_same_options_same_images_and_every_factor_matters():
    rows = np.arange(120)
    first, second = Toy(), Toy()
    np.testing.assert_array_equal(first.observations_at(rows), second.observations_at(rows))
    assert not np.array_equal(Toy(seed=1).observations_at(rows), first.observations_at(rows))
    images = first.observations_at(rows)
    assert images.min() > 0.0 and images.max() < 1.0
    base = np.array([[1, 2, 3]])
    for k in range(3):
        moved = base.copy()
        moved[0, k] += 1
        change = np.abs(first.observations(moved) - first.observations(base)).mean()
        assert change > 1e-3, f"factor {k} barely moves the observation ({change})"


def test_grid_rows_are_row_major():
    toy = Toy(factor_sizes=(2, 3, 4))
    assert len(toy) == 24 and toy.is_grid
    assert toy.factor_names == ("f0", "f1", "f2")
    expected = np.array(list(itertools.product(range(2), range(3), range(4))))
    np.testing.assert_array_equal(toy.factors_at(np.arange(24)), expected)
    np.testing.assert_array_equal(toy.index(expected), np.arange(24))
    np.testing.assert_array_equal(
        toy.observations(expected[::-1]), toy.observations_at(np.arange(24)[::-1])
    )
    rows = toy.sample_indices(10, np.random.default_rng(5))
    again = toy.index(toy.sample_factors(10, np.random.default_rng(5)))
    np.testing.assert_array_equal(rows, again)


def test_fingerprint_follows_every_option():
    base = Toy()
    assert Toy().fingerprint == base.fingerprint
    assert base.params() == {
        "factor_sizes": [4, 5, 6],
        "observation_shape": [1, 16, 16],
        "seed": 0,
        "factor_names": ["f0", "f1", "f2"],
    }
    variants = [
        Toy(seed=1),
        Toy(factor_sizes=(4, 5, 7)),
        Toy(observation_shape=(1, 16, 8)),
        Toy(factor_names=("a", "b", "c")),
    ]
    prints = {base.fingerprint} | {toy.fingerprint for toy in variants}
    assert len(prints) == 5


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="factor_sizes must be positive integers"):
        Toy(factor_sizes=(4, 0))
    with pytest.raises(ValueError, match="observation_shape must be 3 positive integers"):
        Toy(observation_shape=(16, 16))
    with pytest.raises(ValueError, match="factor_names must be 3 strings"):
        Toy(factor_names=("a", "b"))
    with pytest.raises(ValueError, match="factor_names must be distinct"):
        Toy(factor_names=("a", "a", "b"))
    with pytest.raises(TypeError, match="seed must be an integer"):
        Toy(seed=0.5)
    with pytest.raises(ValueError, match=r"row indices out of range 0\.\.119"):
        Toy().observations_at([120])
