"""Plug-in and Miller–Madow entropy and mutual information."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from disbench.estimators import discretize, entropy, mutual_information


def sklearn_mi_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    return np.array(
        [[mutual_info_score(c, f) for f in factors.T] for c in codes.T], dtype=np.float64
    )


def test_plugin_matches_sklearn_pair_by_pair(rng):
    factors = rng.integers(0, [3, 6, 40, 32, 2], size=(4000, 5))
    codes = np.concatenate(
        [factors[:, :3] + rng.normal(size=(4000, 3)), rng.normal(size=(4000, 4))], axis=1
    )
    expected = sklearn_mi_matrix(discretize(codes), factors)
    np.testing.assert_allclose(mutual_information(codes, factors), expected, rtol=0, atol=1e-12)


def test_plugin_matches_sklearn_with_sparse_joint_histograms(rng):
    # codes with a class per sample make joint histograms far larger than the sample: the
    # cells are then found by sorting rather than a dense count
    codes = rng.normal(size=(500, 3))
    factors = rng.integers(0, 50, size=(500, 2))
    got = mutual_information(codes, factors, code_discretizer="unique")
    expected = sklearn_mi_matrix(discretize(codes, strategy="unique"), factors)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_arbitrary_factor_values_are_classes(rng):
    factors = rng.choice([-7.5, 0.25, 1e6], size=(2000, 1))
    codes = factors + rng.normal(size=(2000, 1))
    expected = sklearn_mi_matrix(discretize(codes), discretize(factors, strategy="unique"))
    np.testing.assert_allclose(mutual_information(codes, factors), expected, atol=1e-12)


def test_entropy_closed_forms():
    n = 1200
    uniform = np.arange(n) % 6
    np.testing.assert_allclose(entropy(uniform), [np.log(6)], atol=1e-13)
    halves_quarters = np.repeat([0, 0, 1, 2], n // 4)  # p = (1/2, 1/4, 1/4)
    np.testing.assert_allclose(entropy(halves_quarters), [1.5 * np.log(2)], atol=1e-13)
    assert entropy(np.full(10, 3.0)).tolist() == [0.0]
    both = np.stack([uniform, halves_quarters], axis=1)
    np.testing.assert_allclose(entropy(both), [np.log(6), 1.5 * np.log(2)], atol=1e-13)


def test_entropy_equals_self_information(rng):
    x = rng.integers(0, 9, size=(3000, 3))
    expected = [mutual_info_score(col, col) for col in x.T]  # disentanglement_lib's entropy
    np.testing.assert_allclose(entropy(x), expected, atol=1e-12)


def test_constant_columns_have_zero_entropy_and_information(rng):
    codes = np.stack([np.full(500, 1.5), rng.normal(size=500)], axis=1)
    factors = np.stack([np.zeros(500), rng.integers(0, 4, size=500)], axis=1)
    for estimator in ("plugin", "miller_madow"):
        mi = mutual_information(codes, factors, estimator=estimator)
        assert mi[0].tolist() == [0.0, 0.0] and mi[:, 0].tolist() == [0.0, 0.0]


def test_miller_madow_removes_the_bias_of_independent_variables(rng):
    # 400 independent codes against one independent factor: the plug-in estimate's expected
    # value is (A - 1)(B - 1) / (2n) to first order; Miller–Madow subtracts exactly that.
    n, bins, classes = 2000, 10, 5
    codes = rng.normal(size=(n, 400))
    factor = rng.integers(0, classes, size=(n, 1))
    plugin = mutual_information(codes, factor, num_bins=bins).mean()
    corrected = mutual_information(codes, factor, num_bins=bins, estimator="miller_madow").mean()
    first_order_bias = (bins - 1) * (classes - 1) / (2 * n)
    assert plugin == pytest.approx(first_order_bias, rel=0.1)
    assert corrected < 0.25 * plugin


def test_miller_madow_entropy_is_closer_to_the_truth(rng):
    samples = rng.integers(0, 50, size=(200, 300))  # 300 columns, uniform on 50 values
    plugin_error = np.log(50) - entropy(samples).mean()
    corrected_error = np.log(50) - entropy(samples, estimator="miller_madow").mean()
    assert plugin_error > 0.1
    assert abs(corrected_error) < 0.2 * plugin_error
