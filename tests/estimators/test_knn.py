"""Nearest-neighbour estimators: Ross's continuous–discrete and KSG."""

import numpy as np
import pytest
import scipy.special
import torch
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
from sklearn.feature_selection._mutual_info import _compute_mi_cc, _compute_mi_cd

from disbench.estimators import mutual_information


def mixed_data(rng, n):
    factors = rng.integers(0, [3, 6, 10, 16], size=(n, 4))
    codes = np.concatenate(
        [
            factors[:, :3] + rng.normal(size=(n, 3)) * 0.7,
            np.sin(factors[:, 3:4]) + rng.normal(size=(n, 1)) * 0.1,
            rng.normal(size=(n, 2)),
        ],
        axis=1,
    )
    return codes, factors


def test_knn_cd_matches_sklearn_pair_by_pair(rng):
    codes, factors = mixed_data(rng, 6000)
    factors[:4, 2] = [20, 21, 22, 23]  # labels seen once are left out, as sklearn does
    for n_neighbors in (3, 1, 10):
        expected = np.array(
            [[_compute_mi_cd(c, f, n_neighbors) for f in factors.T] for c in codes.T]
        )
        got = mutual_information(codes, factors, estimator="knn_cd", n_neighbors=n_neighbors)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def ross_by_definition(z, v, n_neighbors):
    """Ross's estimate for one code and one factor, straight from the counting rule in
    ``disbench.estimators.knn``: all n² distances, |z_q - z_p| <= nextafter(r, 0)."""
    labels, sizes = np.unique(v, return_counts=True)
    kept = np.isin(v, labels[sizes > 1])
    z, v = z[kept], v[kept]
    k_all, n_v, m = [], [], []
    for p in range(z.size):
        distance = np.abs(z - z[p])
        same = distance[v == v[p]]  # the point itself, at 0, comes first once sorted
        k = min(n_neighbors, same.size - 1)
        r = np.sort(same)[k]
        k_all.append(k)
        n_v.append(same.size)
        m.append(np.count_nonzero(distance <= np.nextafter(r, 0)))
    psi = scipy.special.digamma
    mi = psi(z.size) + psi(k_all).mean() - psi(n_v).mean() - psi(m).mean()
    return max(mi, 0.0)


def test_knn_cd_follows_the_counting_rule_on_ties_and_rounding(rng):
    # Ties (values on a grid, many neighbours at distance 0), float32 values, a large offset
    # where c ± r rounds, and labels of 1, 2 and 3 points: the regimes in which the known
    # window ends and the searched boundaries need the exact check.
    n = 300
    factors = rng.integers(0, [2, 5, 12], size=(n, 3))
    factors[:6, 1] = [5, 6, 6, 7, 7, 7]
    codes = np.stack(
        [
            np.round(factors[:, 0] + rng.normal(size=n), 1),
            rng.integers(0, 6, size=n) / 4.0,
            (factors[:, 1] + rng.normal(size=n)).astype(np.float32),
            1e9 + rng.normal(size=n) * 1e-3,
            np.full(n, 2.5),
        ],
        axis=1,
    )
    for n_neighbors in (1, 3, 5):
        expected = [
            [ross_by_definition(c.astype(np.float64), f, n_neighbors) for f in factors.T]
            for c in codes.T
        ]
        got = mutual_information(codes, factors, estimator="knn_cd", n_neighbors=n_neighbors)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        on_torch = mutual_information(
            torch.from_numpy(codes),
            torch.from_numpy(factors),
            estimator="knn_cd",
            n_neighbors=n_neighbors,
        )
        np.testing.assert_allclose(on_torch.numpy(), expected, rtol=0, atol=1e-12)


def test_knn_cd_matches_mutual_info_classif(rng):
    codes, factors = mixed_data(rng, 3000)
    expected = np.stack(
        [mutual_info_classif(codes, f, n_neighbors=3, random_state=0) for f in factors.T], axis=1
    )
    got = mutual_information(codes, factors, estimator="knn_cd")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_ksg_matches_sklearn(rng):
    codes, factors = mixed_data(rng, 3000)
    factors = factors + rng.normal(size=factors.shape) * 0.5
    expected = np.stack(
        [mutual_info_regression(codes, f, n_neighbors=3, random_state=0) for f in factors.T],
        axis=1,
    )
    np.testing.assert_allclose(
        mutual_information(codes, factors, estimator="ksg"), expected, rtol=0, atol=1e-9
    )
    # the private worker, on columns already scaled to unit variance
    scaled_codes, scaled_factors = codes / codes.std(0), factors / factors.std(0)
    private = np.array(
        [[_compute_mi_cc(c, f, 5) for f in scaled_factors.T] for c in scaled_codes.T]
    )
    got = mutual_information(codes, factors, estimator="ksg", n_neighbors=5)
    np.testing.assert_allclose(got, private, rtol=0, atol=1e-9)


def test_ksg_recovers_the_information_of_correlated_gaussians(rng):
    # I = -1/2 log(1 - rho^2); KSG's bias with k = 3 at n = 20,000 is well under 0.01 nats
    n = 20_000
    rho = np.array([0.0, 0.3, 0.6, 0.9, 0.99])
    v = rng.normal(size=(n, 1))
    codes = rho * v + np.sqrt(1 - rho**2) * rng.normal(size=(n, rho.size))
    got = mutual_information(codes, v, estimator="ksg").ravel()
    np.testing.assert_allclose(got, -0.5 * np.log(1 - rho**2), atol=0.015)


def test_knn_cd_closed_form(rng):
    # v uniform on {0, 1}; z | v uniform on [v/2, v/2 + 1]: the supports overlap on half of
    # each, so I = log 2 / 2. With disjoint supports (z | v on [v, v + 1]), I = log 2.
    n = 20_000
    v = rng.integers(0, 2, size=(n, 1))
    u = rng.uniform(size=(n, 1))
    codes = np.concatenate([v / 2 + u, v + u], axis=1)
    got = mutual_information(codes, v, estimator="knn_cd").ravel()
    np.testing.assert_allclose(got, [np.log(2) / 2, np.log(2)], atol=0.01)


def test_independent_variables_give_about_zero(rng):
    codes = rng.normal(size=(5000, 8))
    for estimator, factors in (
        ("knn_cd", rng.integers(0, 5, size=(5000, 2))),
        ("ksg", rng.normal(size=(5000, 2))),
    ):
        mi = mutual_information(codes, factors, estimator=estimator)
        assert mi.max() < 0.02 and mi.mean() < 0.006


def test_ties_without_and_with_jitter(rng):
    factors = rng.integers(0, 4, size=(2000, 2))
    codes = np.round(factors[:, :1] + rng.normal(size=(2000, 1)), 1)  # quantised: many ties
    # Without jitter the rule is deterministic, and heavy ties make every k-th distance 0.
    plain = mutual_information(codes, factors, estimator="knn_cd")
    np.testing.assert_array_equal(plain, mutual_information(codes, factors, estimator="knn_cd"))
    assert plain.tolist() == [[0.0, 0.0]]
    # Jitter breaks the ties at random, reproducibly for a seed, and recovers the
    # information that the discrete estimator sees in the same quantised codes.
    jittered = mutual_information(codes, factors, estimator="knn_cd", jitter=1e-10, random_state=7)
    again = mutual_information(codes, factors, estimator="knn_cd", jitter=1e-10, random_state=7)
    np.testing.assert_array_equal(jittered, again)
    discrete = mutual_information(
        codes, factors, code_discretizer="unique", estimator="miller_madow"
    )
    assert jittered[0, 0] == pytest.approx(discrete[0, 0], abs=0.05)
    assert jittered[0, 1] < 0.02


@pytest.mark.parametrize("estimator", ["knn_cd", "ksg"])
def test_torch_matches_numpy(rng, estimator):
    codes, factors = mixed_data(rng, 1500)
    if estimator == "ksg":
        factors = factors + rng.normal(size=factors.shape)
    expected = mutual_information(codes, factors, estimator=estimator)
    got = mutual_information(
        torch.from_numpy(codes), torch.from_numpy(factors), estimator=estimator
    )
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)
