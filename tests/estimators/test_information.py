"""The public mutual_information / entropy calls: options, back ends, real codes, bad input."""

import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from disbench.estimators import discretize, entropy, mutual_information

ALL_ESTIMATORS = ("plugin", "miller_madow", "knn_cd", "ksg")


def test_identity_codes_normalised_by_factor_entropy_give_one(rng):
    factors = rng.integers(0, [3, 6, 10], size=(3000, 3))
    nmi = mutual_information(
        factors.astype(float), factors, code_discretizer="unique", normalization="factor"
    )
    np.testing.assert_allclose(np.diag(nmi), 1.0, atol=1e-12)
    assert np.abs(nmi - np.diag(np.diag(nmi))).max() < 0.01


@pytest.mark.parametrize("estimator", ["plugin", "miller_madow"])
def test_normalisations_divide_by_the_stated_entropies(rng, estimator):
    factors = rng.integers(0, [4, 7], size=(2000, 2))
    codes = factors[:, [0, 1, 0]] + rng.normal(size=(2000, 3))
    mi = mutual_information(codes, factors, estimator=estimator, num_bins=10)
    h_code = entropy(codes, estimator=estimator, discretizer="histogram", num_bins=10)
    h_factor = entropy(factors, estimator=estimator)
    expected = {
        "factor": mi / h_factor[None, :],
        "code": mi / h_code[:, None],
        "arithmetic": mi / ((h_code[:, None] + h_factor[None, :]) / 2),
        "geometric": mi / np.sqrt(h_code[:, None] * h_factor[None, :]),
    }
    for normalization, value in expected.items():
        got = mutual_information(
            codes, factors, estimator=estimator, num_bins=10, normalization=normalization
        )
        np.testing.assert_allclose(got, value, rtol=1e-12, atol=0)
    for none in (None, "none"):
        np.testing.assert_array_equal(
            mutual_information(
                codes, factors, estimator=estimator, num_bins=10, normalization=none
            ),
            mi,
        )


def test_knn_cd_normalised_by_factor_entropy(rng):
    factors = rng.integers(0, 5, size=(3000, 1))
    codes = factors + rng.normal(size=(3000, 2)) * [0.05, 3.0]
    mi = mutual_information(codes, factors, estimator="knn_cd")
    nmi = mutual_information(codes, factors, estimator="knn_cd", normalization="factor")
    np.testing.assert_allclose(nmi, mi / entropy(factors)[None, :], rtol=1e-12)
    assert nmi[0, 0] > 0.95


def test_a_factor_with_one_value_normalises_to_zero_not_nan(rng):
    codes = rng.normal(size=(500, 2))
    factors = np.stack([np.zeros(500), rng.integers(0, 3, size=500)], axis=1)
    for estimator in ("plugin", "knn_cd"):
        nmi = mutual_information(codes, factors, estimator=estimator, normalization="factor")
        assert np.isfinite(nmi).all() and nmi[:, 0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("estimator", ALL_ESTIMATORS)
def test_torch_and_numpy_back_ends_agree(rng, estimator):
    factors = rng.integers(0, [3, 8, 12], size=(2500, 3))
    codes = np.concatenate([factors + rng.normal(size=(2500, 3)), rng.normal(size=(2500, 2))], 1)
    if estimator == "ksg":
        factors = factors + rng.normal(size=factors.shape)
    for normalization in (None, "factor") if estimator != "ksg" else (None,):
        expected = mutual_information(
            codes, factors, estimator=estimator, normalization=normalization
        )
        got = mutual_information(
            torch.from_numpy(codes),
            torch.from_numpy(factors),
            estimator=estimator,
            normalization=normalization,
        )
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
        assert got.device == torch.device("cpu") and tuple(got.shape) == (5, 3)
        np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)
    expected = entropy(factors, estimator="miller_madow", discretizer="quantile", num_bins=4)
    got = entropy(
        torch.from_numpy(factors), estimator="miller_madow", discretizer="quantile", num_bins=4
    )
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("estimator", ALL_ESTIMATORS)
def test_cuda_tensors_stay_on_the_gpu_and_agree(rng, estimator):
    factors = rng.integers(0, [3, 8, 12], size=(4000, 3))
    codes = factors + rng.normal(size=(4000, 3))
    if estimator == "ksg":
        factors = factors + rng.normal(size=factors.shape)
    expected = mutual_information(codes, factors, estimator=estimator)
    got = mutual_information(
        torch.from_numpy(codes).cuda(), torch.from_numpy(factors).cuda(), estimator=estimator
    )
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), expected, rtol=0, atol=1e-12)


def test_real_shapes3d_codes_match_the_sklearn_loop(shapes3d_codes):
    codes = shapes3d_codes.mean[:10_000]
    factors = shapes3d_codes.factors[:10_000]
    mi = mutual_information(codes, factors)
    assert mi.shape == (10, 6)
    labels = discretize(codes)  # disentanglement_lib's 20-bin histogram
    expected = np.array([[mutual_info_score(c, f) for f in factors.T] for c in labels.T])
    np.testing.assert_allclose(mi, expected, rtol=0, atol=1e-12)
    # a trained VAE: every factor is carried by some code, far above chance
    assert (mi.max(axis=0) > 0.5).all()


def test_bad_input_gets_a_clear_error(rng):
    codes, factors = rng.normal(size=(100, 3)), rng.integers(0, 3, size=(100, 2))
    with pytest.raises(
        ValueError,
        match=r"codes and factors must have one row per sample; "
        r"got 100 and 99 rows",
    ):
        mutual_information(codes, factors[:99])
    bad = codes.copy()
    bad[5, 2] = np.nan
    bad[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[0, 2\]"):
        mutual_information(bad, factors)
    with pytest.raises(ValueError, match=r"codes is empty: got shape \(0, 3\)"):
        mutual_information(codes[:0], factors[:0])
    with pytest.raises(
        ValueError,
        match=r"factors must be 2-D, \(n_samples, n_columns\); "
        r"got shape \(100, 2, 1\)",
    ):
        mutual_information(codes, factors[:, :, None])
    with pytest.raises(ValueError, match="estimator must be one of 'plugin', 'miller_madow'"):
        mutual_information(codes, factors, estimator="kde")
    with pytest.raises(ValueError, match="normalization='code' needs the entropy of discrete"):
        mutual_information(codes, factors, estimator="knn_cd", normalization="code")
    with pytest.raises(ValueError, match="n_neighbors=3 needs more than 3 samples; got 3"):
        mutual_information(codes[:3], factors[:3], estimator="knn_cd")
    with pytest.raises(TypeError, match="must both be numpy arrays or both be torch tensors"):
        mutual_information(torch.from_numpy(codes), factors)
    with pytest.raises(TypeError, match="codes must hold real numbers; got an array of dtype"):
        mutual_information(np.array([["a"], ["b"]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="jitter must be >= 0"):
        mutual_information(codes, factors, estimator="knn_cd", jitter=-1.0)
    with pytest.raises(ValueError, match=r"x has NaN or infinite values in columns \[0\]"):
        entropy(torch.tensor([[np.nan], [1.0]]))


def test_constant_columns_are_legal(rng):
    codes = np.stack([np.full(300, 2.0), rng.normal(size=300)], axis=1)
    factors = rng.integers(0, 3, size=(300, 1))
    for estimator in ("plugin", "miller_madow", "knn_cd"):
        mi = mutual_information(codes, factors, estimator=estimator)
        assert mi[0, 0] == 0.0 and np.isfinite(mi).all()
    assert entropy(codes, discretizer="histogram")[0] == 0.0
