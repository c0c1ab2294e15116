"""The unsupervised scores: closed forms for Gaussian codes, parity with disentanglement_lib,
and the edge cases where disentanglement_lib returns NaN or infinity."""

import math

import numpy as np
import pytest
import scipy.linalg
from sklearn.metrics import mutual_info_score

from disbench.metrics.unsupervised import unsupervised
from tests.metrics import synthetic

# --- disentanglement_lib @86a644d, transcribed (its (num_codes, num_points) orientation and
# --- per-pair loops kept), as the reference for parity.


def _dlib_histogram_discretize(target, num_bins=20):
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def _dlib_discrete_mutual_info(mus, ys):
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
    return m


def _dlib_gaussian_total_correlation(cov):
    return 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])


def _dlib_gaussian_wasserstein_correlation(cov):
    sqrtm = scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))
    return 2 * np.trace(cov) - 2 * np.trace(sqrtm)


def _dlib_unsupervised_metrics(codes):
    """unsupervised_metrics after sampling, on (n_samples, n_codes) codes."""
    mus_train = codes.T
    num_codes = mus_train.shape[0]
    cov_mus = np.cov(mus_train)
    scores = {}
    scores["gaussian_total_correlation"] = _dlib_gaussian_total_correlation(cov_mus)
    scores["gaussian_wasserstein_correlation"] = _dlib_gaussian_wasserstein_correlation(cov_mus)
    scores["gaussian_wasserstein_correlation_norm"] = scores[
        "gaussian_wasserstein_correlation"
    ] / np.sum(np.diag(cov_mus))
    mus_discrete = _dlib_histogram_discretize(mus_train)
    mutual_info_matrix = _dlib_discrete_mutual_info(mus_discrete, mus_discrete)
    np.fill_diagonal(mutual_info_matrix, 0)
    scores["mutual_info_score"] = np.sum(mutual_info_matrix) / (num_codes**2 - num_codes)
    return scores


def _with_covariance(rng, covariance, n):
    """n Gaussian rows whose sample covariance (np.cov, ddof=1) is exactly ``covariance``."""
    z = rng.normal(size=(n, covariance.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample cov = I
    return z @ np.linalg.cholesky(covariance).T


# --- closed forms


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.6, 0.95])
def test_two_codes_closed_form(rng, rho):
    # Variances s1², s2², correlation ρ. Total correlation -0.5 log(1 - ρ²) (scale-free).
    # Wasserstein: Σ·diag(Σ)[:, None] is similar to M = D^½ Σ D^½, and for a 2 × 2 PSD M,
    # tr √M = √(tr M + 2 √det M), with tr M = s1⁴ + s2⁴, det M = s1⁴ s2⁴ (1 - ρ²).
    s1, s2 = 1.5, 0.4
    c = rho * s1 * s2
    covariance = np.array([[s1**2, c], [c, s2**2]])
    result = unsupervised(_with_covariance(rng, covariance, 2_000))
    np.testing.assert_allclose(result.arrays["covariance"], covariance, atol=1e-12)
    assert result["gaussian_total_correlation"] == pytest.approx(
        -0.5 * math.log(1 - rho**2), abs=1e-10
    )
    root_trace = math.sqrt(s1**4 + s2**4 + 2 * s1**2 * s2**2 * math.sqrt(1 - rho**2))
    wasserstein = 2 * (s1**2 + s2**2) - 2 * root_trace
    assert result["gaussian_wasserstein_correlation"] == pytest.approx(wasserstein, abs=1e-10)
    assert result["gaussian_wasserstein_correlation_norm"] == pytest.approx(
        wasserstein / (s1**2 + s2**2), abs=1e-10
    )


def test_known_covariance(rng):
    # Gaussian total correlation 0.5 (Σ log Σ_ii - log det Σ), from a large sample.
    a = rng.normal(size=(5, 5))
    covariance = a @ a.T + np.diag([0.5, 1.0, 2.0, 0.1, 3.0])
    expected = 0.5 * (np.sum(np.log(np.diag(covariance))) - np.linalg.slogdet(covariance)[1])
    codes = rng.multivariate_normal(np.zeros(5), covariance, size=200_000)
    assert unsupervised(codes)["gaussian_total_correlation"] == pytest.approx(expected, rel=0.02)
    exact = unsupervised(_with_covariance(rng, covariance, 500))
    assert exact["gaussian_total_correlation"] == pytest.approx(expected, abs=1e-10)


def test_independent_codes_score_about_zero(rng):
    n = 20_000
    result = unsupervised(rng.normal(size=(n, 4)) * [1.0, 3.0, 0.2, 5.0])
    # Sampling noise only: E[total correlation] ≈ (pairs) / (2n) = 6 / 40,000.
    assert 0 <= result["gaussian_total_correlation"] < 1e-3
    assert 0 <= result["gaussian_wasserstein_correlation_norm"] < 1e-3
    # Plug-in MI of independent histograms: its bias, at most (B - 1)² / (2n) ≈ 0.009.
    assert 0 < result["mutual_info_score"] < (20 - 1) ** 2 / (2 * n)


def test_dependent_codes_score_higher(rng):
    factors = synthetic.uniform_factors(rng, n=5_000)
    independent = unsupervised(synthetic.identity_codes(factors))
    mixed = unsupervised(synthetic.mixed_codes(factors, 0.8))
    for key, value in independent.scores.items():
        assert mixed[key] > 10 * value, key


# --- parity with disentanglement_lib


def test_matches_disentanglement_lib(rng):
    codes = rng.normal(size=(3_000, 6)) @ rng.normal(size=(6, 6)) + rng.uniform(size=(3_000, 6))
    result = unsupervised(codes)
    reference = _dlib_unsupervised_metrics(codes)
    for key, value in reference.items():
        assert np.imag(value) == 0, key  # a complex sqrtm would show here
        assert result[key] == pytest.approx(np.real(value), abs=1e-12), key
    # Stored values.
    expected = {
        "gaussian_total_correlation": 3.0981838723030313,
        "gaussian_wasserstein_correlation": 12.990627169571297,
        "gaussian_wasserstein_correlation_norm": 0.33617411475492753,
        "mutual_info_score": 0.17815768409844188,
    }
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, abs=1e-10), key


def test_matches_disentanglement_lib_on_real_3dshapes_codes(shapes3d_codes):
    codes = shapes3d_codes.mean[:10_000]
    assert codes.dtype == np.float32  # binned with float32 edges, as disentanglement_lib
    result = unsupervised(codes)
    for key, value in _dlib_unsupervised_metrics(codes).items():
        assert result[key] == pytest.approx(np.real(value), abs=1e-12), key
    assert result["gaussian_total_correlation"] == pytest.approx(0.857, abs=1e-3)
    assert result["mutual_info_score"] == pytest.approx(0.311, abs=1e-3)


def test_mi_matrix(rng):
    codes = rng.normal(size=(2_000, 3))
    codes[:, 2] = codes[:, 0] + 0.3 * codes[:, 2]
    result = unsupervised(codes, num_bins=7)
    discrete = _dlib_histogram_discretize(codes.T, num_bins=7)
    np.testing.assert_allclose(
        result.arrays["mi_matrix"], _dlib_discrete_mutual_info(discrete, discrete), atol=1e-12
    )
    assert result.params == {"num_bins": 7}


# --- invariances, the unused factors


def test_permuting_codes_changes_nothing(rng):
    codes = rng.normal(size=(2_000, 4)) @ rng.normal(size=(4, 4))
    order = [3, 1, 0, 2]
    result, permuted = unsupervised(codes), unsupervised(codes[:, order])
    for key, value in result.scores.items():
        assert permuted[key] == pytest.approx(value, abs=1e-12), key


def test_factors_are_ignored(rng):
    codes = rng.normal(size=(500, 3))
    factors = rng.integers(0, 5, size=(500, 2))
    assert unsupervised(codes, factors).scores == unsupervised(codes).scores
    with pytest.raises(ValueError, match="codes and factors must have one row per sample"):
        unsupervised(codes, factors[:400])


def test_torch_codes(rng):
    torch = pytest.importorskip("torch")
    codes = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 3))
    assert unsupervised(torch.as_tensor(codes)).scores == unsupervised(codes).scores


# --- edge cases: never NaN or infinity


def test_constant_codes_are_left_out_of_the_covariance_scores(rng):
    codes = rng.normal(size=(2_000, 3)) @ rng.normal(size=(3, 3))
    with_constant = np.insert(codes, 1, 4.2, axis=1)
    result = unsupervised(with_constant)
    reference = unsupervised(codes)
    assert result.notes == ("codes [1] are constant: left out of the covariance scores",)
    np.testing.assert_array_equal(result.arrays["constant_codes"], [False, True, False, False])
    for key in (
        "gaussian_total_correlation",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
    ):
        assert result[key] == pytest.approx(reference[key], abs=1e-12), key
    # mutual_info_score keeps the constant code, as disentanglement_lib (MI 0 with it).
    dlib_mi = _dlib_unsupervised_metrics(with_constant)["mutual_info_score"]
    assert result["mutual_info_score"] == pytest.approx(dlib_mi, abs=1e-12)
    assert result["mutual_info_score"] == pytest.approx(
        reference["mutual_info_score"] * 6 / 12, abs=1e-12
    )


def test_every_code_constant():
    result = unsupervised(np.ones((100, 3)))
    assert result.scores == {
        "gaussian_total_correlation": 0.0,
        "gaussian_wasserstein_correlation": 0.0,
        "gaussian_wasserstein_correlation_norm": 0.0,
        "mutual_info_score": 0.0,
    }


def test_single_code(rng):
    result = unsupervised(rng.normal(size=(100, 1)))
    assert result.scores == {
        "gaussian_total_correlation": 0.0,
        "gaussian_wasserstein_correlation": 0.0,
        "gaussian_wasserstein_correlation_norm": 0.0,
        "mutual_info_score": 0.0,
    }
    assert result.notes == ("a single code: mutual_info_score has no pairs and is 0",)


def test_linearly_dependent_codes(rng):
    # [z, z]: Σ = v [[1, 1], [1, 1]] is singular, the Gaussian total correlation infinite
    # (disentanglement_lib: inf). Reported: -0.5 Σ log max(λ, 2 eps) over the correlation
    # matrix's eigenvalues (2, ~0), i.e. -0.5 (log 2 + log(2 eps)).
    z = rng.normal(size=(1_000, 1)) * 2.0
    result = unsupervised(np.concatenate([z, z], axis=1))
    eps = np.finfo(np.float64).eps
    assert result["gaussian_total_correlation"] == pytest.approx(
        -0.5 * (math.log(2) + math.log(2 * eps)), rel=1e-6
    )
    assert "the covariance of the codes is singular" in result.notes[0]
    # Wasserstein: 2 tr Σ - 2 tr √(v² J) = 4v - 2√2 v, normalised 2 - √2.
    v = np.var(z, ddof=1)
    assert result["gaussian_wasserstein_correlation"] == pytest.approx(
        (4 - 2 * math.sqrt(2)) * v, rel=1e-9
    )
    assert result["gaussian_wasserstein_correlation_norm"] == pytest.approx(
        2 - math.sqrt(2), rel=1e-9
    )


# --- errors


def test_errors(rng):
    codes = rng.normal(size=(50, 3))
    with pytest.raises(ValueError, match="needs at least 2 samples for a covariance; got 1 rows"):
        unsupervised(codes[:1])
    bad = codes.copy()
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[2\]"):
        unsupervised(bad)
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1; got 0"):
        unsupervised(codes, num_bins=0)
    with pytest.raises(ValueError, match="codes must be 2-D"):
        unsupervised(np.zeros((4, 3, 2)))
