"""MIG and MIG-sup: parity with disentanglement_lib's and Carbonneau et al.'s loops, a hand
case, and how the scores respond to controlled representations."""

import numpy as np
import pytest
import scipy.stats
from sklearn.feature_selection._mutual_info import _compute_mi_cd
from sklearn.metrics import mutual_info_score
from sklearn.preprocessing import minmax_scale

from disbench.estimators import discretize, entropy, mutual_information
from disbench.metrics.mig import mig, mig_sup
from tests.metrics import synthetic

# --- References, transcribed loop for loop. disentanglement_lib works on (n_codes, n) arrays.


def dlib_histogram_discretize(target, num_bins=20):
    """disentanglement_lib @86a644d utils._histogram_discretize, target (n_codes, n)."""
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def dlib_discrete_mutual_info(mus, ys):
    """utils.discrete_mutual_info: sklearn's mutual_info_score per (code, factor) pair."""
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
    return m


def dlib_discrete_entropy(ys):
    """utils.discrete_entropy: H(y) as mutual_info_score(y, y)."""
    return np.array([mutual_info_score(y, y) for y in ys])


def dlib_compute_mig(mus_train, ys_train):
    """mig._compute_mig; returns the score, the MI matrix and the factor entropies."""
    discretized_mus = dlib_histogram_discretize(mus_train)
    m = dlib_discrete_mutual_info(discretized_mus, ys_train)
    entropy_ = dlib_discrete_entropy(ys_train)
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.mean(np.divide(sorted_m[0, :] - sorted_m[1, :], entropy_[:])), m, entropy_


def carbonneau_information(factors, codes, nb_bins=10):
    """ubisoft-laforge-disentanglement-metrics @05d5667 with continuous_factors=False: codes
    min-max scaled, get_bin_index, then utils.get_mutual_information, pyitlib's
    information_mutual_normalised(factor, code, norm_factor='Y') = I(v; z) / H(z)."""
    codes = minmax_scale(codes)
    codes = np.digitize(codes, np.linspace(0, 1, nb_bins + 1)[:-1], right=False)
    mi_matrix = np.zeros((factors.shape[1], codes.shape[1]))
    for f_idx in range(factors.shape[1]):
        for c_idx in range(codes.shape[1]):
            counts = np.unique(codes[:, c_idx], return_counts=True)[1]
            mi = mutual_info_score(factors[:, f_idx], codes[:, c_idx])
            mi_matrix[f_idx, c_idx] = mi / scipy.stats.entropy(counts)
    return mi_matrix


def carbonneau_mig_sup(factors, codes, nb_bins=10):
    """src/metrics/mig_sup.py: per code, the top-two gap over factors, averaged."""
    mi_matrix = carbonneau_information(factors, codes, nb_bins)
    sum_gap = 0
    for c_idx in range(codes.shape[1]):
        mi_c = np.sort(mi_matrix[:, c_idx])
        sum_gap += mi_c[-1] - mi_c[-2]
    return sum_gap / codes.shape[1]


def carbonneau_mig(factors, codes, nb_bins=10):
    """src/metrics/mig.py: per factor, the top-two gap over codes, averaged."""
    mi_matrix = carbonneau_information(factors, codes, nb_bins)
    sum_gap = 0
    for f_idx in range(factors.shape[1]):
        mi_f = np.sort(mi_matrix[f_idx, :])
        sum_gap += mi_f[-1] - mi_f[-2]
    return sum_gap / factors.shape[1]


def grid(sizes):
    """Every combination of factor values once: the factors are exactly independent, so the
    plug-in MI of a code copying one factor with any other factor is 0."""
    return np.indices(sizes).reshape(len(sizes), -1).T


def hand_case():
    """Two independent binary factors and three codes: z0 a noisy copy of v0, z1 = v1, z2
    independent of both."""
    v0 = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    v1 = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    z0 = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    z2 = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    return np.stack([z0, v1, z2], axis=1).astype(float), np.stack([v0, v1], axis=1)


def h(*p):
    return -sum(q * np.log(q) for q in p)


# I(z0; v0) = H(z0) - H(z0 | v0) and I(z0; v1) likewise, by hand from the table of hand_case.
I00 = h(3 / 8, 5 / 8) - h(3 / 4, 1 / 4) / 2
I01 = h(3 / 8, 5 / 8) - np.log(2) / 2 - h(3 / 4, 1 / 4) / 2


@pytest.fixture
def shapes3d(shapes3d_codes):
    """The first 10,000 rows of the real 3D Shapes codes (float32 encoder means)."""
    return shapes3d_codes.mean[:10_000], shapes3d_codes.factors[:10_000]


# --- MIG


def test_mig_hand_case():
    codes, factors = hand_case()
    result = mig(codes, factors)
    # v0: best z0, the others know nothing of it; v1: best z1 (log 2), second z0.
    expected_gap = [I00 / np.log(2), (np.log(2) - I01) / np.log(2)]
    np.testing.assert_allclose(result.arrays["gap"], expected_gap, atol=1e-12)
    assert result["mig"] == pytest.approx(np.mean(expected_gap), abs=1e-12)
    np.testing.assert_allclose(result.arrays["factor_entropy"], [np.log(2)] * 2, atol=1e-12)
    expected_mi = [[I00, I01], [0, np.log(2)], [0, 0]]
    np.testing.assert_allclose(result.arrays["mi_matrix"], expected_mi, atol=1e-12)
    none = mig(codes, factors, normalization="none")
    assert none["mig"] == pytest.approx((I00 + np.log(2) - I01) / 2, abs=1e-12)


def check_dlib_parity(codes, factors):
    expected, m, entropy_ = dlib_compute_mig(codes.T, factors.T)
    result = mig(codes, factors)
    assert abs(result["mig"] - expected) <= 1e-12
    np.testing.assert_allclose(result.arrays["mi_matrix"], m, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.arrays["factor_entropy"], entropy_, rtol=0, atol=1e-12)
    return result


def test_mig_matches_disentanglement_lib_on_synthetic_codes(rng):
    factors = synthetic.uniform_factors(rng, n=10_000)
    codes = np.concatenate(
        [synthetic.noisy_codes(factors, 0.4, rng), synthetic.random_codes(factors, rng, 2)],
        axis=1,
    )
    check_dlib_parity(codes, factors)
    check_dlib_parity(codes.astype(np.float32), factors)


def test_mig_matches_disentanglement_lib_on_real_shapes3d_codes(shapes3d):
    codes, factors = shapes3d
    assert codes.dtype == np.float32  # binned with float32 edges, as dlib bins them
    result = check_dlib_parity(codes, factors)
    # Stored, so that a change shows even if the metric and the reference loop moved together.
    assert result["mig"] == pytest.approx(0.6114048169, abs=1e-9)


def test_mig_identity_codes_score_one():
    # 20-bin histograms over min..max keep apart the values of any factor with at most 20
    # values (spacing (size - 1) / 20 < 1), so the grid's 12-valued factor is kept whole.
    factors = grid(synthetic.SIZES)
    result = mig(synthetic.identity_codes(factors), factors)
    assert result["mig"] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(result.arrays["gap"], 1.0, atol=1e-12)


def test_mig_random_codes_score_about_zero(rng):
    factors = synthetic.uniform_factors(rng)
    assert mig(synthetic.random_codes(factors, rng), factors)["mig"] < 0.005


@pytest.mark.parametrize("family", ["noisy", "mixed"])
def test_mig_and_mig_sup_fall_as_codes_degrade(family, rng):
    factors = synthetic.uniform_factors(rng)
    alphas = np.linspace(0.0, 1.0, 6)
    if family == "noisy":
        reps = [synthetic.noisy_codes(factors, a, np.random.default_rng(1)) for a in alphas]
    else:
        reps = [synthetic.mixed_codes(factors, a) for a in alphas]
    for metric in (mig, mig_sup):
        scores = [metric(codes, factors)[metric.__name__] for codes in reps]
        assert np.all(np.diff(scores) < 0), (metric.__name__, scores)
        assert scores[0] > 0.95 and scores[-1] < 0.05, (metric.__name__, scores)


def test_duplicated_codes_tie_for_mig_but_not_for_mig_sup():
    factors = grid((10, 8, 5, 3))
    codes = synthetic.duplicated_codes(factors)
    # The two copies of a factor have the same MI with it: its gap is exactly 0.
    assert mig(codes, factors)["mig"] == pytest.approx(0.0, abs=1e-12)
    # Each copy still knows one factor only: MIG-sup does not charge for redundancy.
    assert mig_sup(codes, factors)["mig_sup"] == pytest.approx(1.0, abs=1e-12)


def test_mig_is_invariant_to_permuting_codes(rng):
    factors = synthetic.uniform_factors(rng, n=5000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    order = [2, 0, 3, 1]
    for metric in (mig, mig_sup):
        plain, permuted = metric(codes, factors), metric(codes[:, order], factors)
        assert permuted.scores == pytest.approx(plain.scores, abs=1e-12)
        np.testing.assert_allclose(permuted.arrays["mi_matrix"], plain.arrays["mi_matrix"][order])


def test_single_code_has_no_second_code():
    codes, factors = hand_case()
    result = mig(codes[:, :1], factors)
    np.testing.assert_allclose(result.arrays["gap"], [I00 / np.log(2), I01 / np.log(2)])


def test_mig_options_change_only_what_they_name(rng):
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    # Miller-Madow: the corrected MI, normalised by the corrected factor entropy.
    mm = mig(codes, factors, estimator="miller_madow")
    mi = mutual_information(codes, factors, estimator="miller_madow")
    h_mm = entropy(factors, estimator="miller_madow")
    gap = -np.diff(np.sort(mi, axis=0)[::-1][:2], axis=0)[0] / h_mm
    assert mm["mig"] == pytest.approx(gap.mean(), abs=1e-12)
    # Ross's kNN estimator on the raw codes, pair by pair as scikit-learn computes it.
    knn = mig(codes, factors, estimator="knn_cd", n_neighbors=3)
    expected = np.array([[_compute_mi_cd(c, f, 3) for f in factors.T] for c in codes.T])
    np.testing.assert_allclose(knn.arrays["mi_matrix"], expected, rtol=0, atol=1e-9)
    gap = -np.diff(np.sort(expected, axis=0)[::-1][:2], axis=0)[0] / knn.arrays["factor_entropy"]
    assert knn["mig"] == pytest.approx(gap.mean(), abs=1e-9)
    # Fewer bins: the same computation on a coarser histogram.
    coarse = mig(codes, factors, num_bins=5)
    assert coarse["mig"] == pytest.approx(dlib_mig_with_bins(codes, factors, 5), abs=1e-12)
    assert coarse.params["num_bins"] == 5


def dlib_mig_with_bins(codes, factors, num_bins):
    m = dlib_discrete_mutual_info(dlib_histogram_discretize(codes.T, num_bins), factors.T)
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.mean((sorted_m[0] - sorted_m[1]) / dlib_discrete_entropy(factors.T))


def test_continuous_factors_need_a_factor_discretizer(rng):
    factors = rng.uniform(size=(2000, 2))
    codes = factors + 0.05 * rng.normal(size=(2000, 2))
    with pytest.raises(
        ValueError,
        match=r"columns \[0, 1\] hold non-integer values; pass "
        r"factor_discretizer='histogram'",
    ):
        mig(codes, factors)
    binned = mig(codes, factors, factor_discretizer="histogram")
    labels = discretize(factors, strategy="histogram", num_bins=20)
    assert binned.scores == mig(codes, labels).scores
    assert binned["mig"] > 0.3


def test_single_valued_factor_is_skipped_with_a_note(rng):
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.concatenate([factors[:, :2], np.full((3000, 1), 4), factors[:, 2:]], 1)
    for metric in (mig, mig_sup):
        plain, skipped = metric(codes, factors), metric(codes, with_constant)
        assert skipped.scores == pytest.approx(plain.scores, abs=1e-12)
        assert skipped.notes == ("factor 2 skipped: it takes a single value",)
    gap = mig(codes, with_constant).arrays["gap"]
    assert np.isnan(gap[2]) and np.isfinite(np.delete(gap, 2)).all()
    with pytest.raises(ValueError, match="mig is undefined: every factor takes a single value"):
        mig(codes, np.ones((3000, 2)))


def test_torch_codes_give_the_numpy_result(rng):
    torch = pytest.importorskip("torch")
    factors = synthetic.uniform_factors(rng, n=2000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    for metric in (mig, mig_sup):
        assert (
            metric(torch.from_numpy(codes), torch.from_numpy(factors)).scores
            == metric(codes, factors).scores
        )


def test_bad_input_is_refused_with_a_clear_message(rng):
    factors = synthetic.uniform_factors(rng, n=500)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with pytest.raises(
        ValueError, match="codes and factors must have one row per sample; got 500 and 499 rows"
    ):
        mig(codes, factors[:499])
    nan = codes.copy()
    nan[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[1\]"):
        mig_sup(nan, factors)
    with pytest.raises(
        ValueError, match="estimator must be one of 'plugin', 'miller_madow', 'knn_cd'; got 'ksg'"
    ):
        mig(codes, factors, estimator="ksg")
    with pytest.raises(
        ValueError, match="normalization must be one of 'factor', 'code', 'none'; got 'h'"
    ):
        mig_sup(codes, factors, normalization="h")
    with pytest.raises(ValueError, match="normalization='code' divides by the entropy"):
        mig(codes, factors, normalization="code", estimator="knn_cd")
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1; got 0"):
        mig(codes, factors, num_bins=0)
    with pytest.raises(ValueError, match="code_discretizer must be one of"):
        mig(codes, factors, code_discretizer="kmeans")
    with pytest.raises(ValueError, match="mig needs at least 2 samples; got 1 rows of codes"):
        mig(codes[:1], factors[:1])


# --- MIG-sup


def test_mig_sup_hand_case():
    codes, factors = hand_case()
    result = mig_sup(codes, factors, normalization="factor", code_discretizer="unique")
    # z0: (I00 - I01) / log 2 = 1/2; z1: 1 - 0; z2: knows nothing.
    np.testing.assert_allclose(result.arrays["gap"], [0.5, 1.0, 0.0], atol=1e-12)
    assert result["mig_sup"] == pytest.approx(0.5, abs=1e-12)


def test_mig_sup_matches_carbonneau_et_al(rng):
    factors = synthetic.uniform_factors(rng, n=10_000)
    codes = np.concatenate(
        [synthetic.mixed_codes(factors, 0.4), synthetic.random_codes(factors, rng, 2)], axis=1
    )
    codes += 0.05 * rng.normal(size=codes.shape)
    expected = carbonneau_mig_sup(factors, codes)
    assert mig_sup(codes, factors)["mig_sup"] == pytest.approx(expected, abs=1e-12)
    # and their MIG: the same code-normalised matrix, gaps over codes
    carbonneau = {"num_bins": 10, "code_discretizer": "equal_width", "normalization": "code"}
    assert mig(codes, factors, **carbonneau)["mig"] == pytest.approx(
        carbonneau_mig(factors, codes), abs=1e-12
    )


def test_mig_sup_matches_carbonneau_et_al_on_real_shapes3d_codes(shapes3d):
    # In float64, as Carbonneau et al.'s min-max scaling then is.
    real_codes, real_factors = shapes3d
    real_codes = real_codes.astype(np.float64)
    result = mig_sup(real_codes, real_factors)
    assert result["mig_sup"] == pytest.approx(
        carbonneau_mig_sup(real_factors, real_codes), abs=1e-12
    )
    assert result["mig_sup"] == pytest.approx(0.5022964474, abs=1e-9)


def test_mig_sup_identity_codes_score_one():
    # Ten equal-width bins over min..max give every value of a factor with at most 10 values
    # its own bin: the values sit 1/(size - 1) >= 1/9 apart, more than the bin width 1/10
    # by far more than rounding. With 11 values they sit exactly on the edges i/10 and
    # rounding decides ((x - min) / (max - min) gives 0.3, below the edge
    # 0.30000000000000004, so values 2 and 3 share a bin); more than 10 cannot fit. So the
    # grid's sizes stay <= 10.
    factors = grid((10, 8, 5, 3))
    result = mig_sup(synthetic.identity_codes(factors), factors)
    assert result["mig_sup"] == pytest.approx(1.0, abs=1e-12)
    # The 12-valued factor of synthetic.SIZES loses information in 10 bins; the binned code
    # is still a function of the factor, so I / H(code) stays 1 while I / H(factor) drops.
    twelve = grid(synthetic.SIZES)
    gap = mig_sup(synthetic.identity_codes(twelve), twelve).arrays["gap"]
    np.testing.assert_allclose(gap, 1.0, atol=1e-12)
    by_factor = mig_sup(synthetic.identity_codes(twelve), twelve, normalization="factor")
    np.testing.assert_allclose(by_factor.arrays["gap"][:3], 1.0, atol=1e-12)
    assert by_factor.arrays["gap"][3] < 0.95


def test_mig_sup_random_codes_score_about_zero(rng):
    factors = synthetic.uniform_factors(rng)
    assert mig_sup(synthetic.random_codes(factors, rng), factors)["mig_sup"] < 0.005


def test_mig_sup_uninformative_code_counts_zero():
    factors = grid((10, 8, 5, 3))
    codes = np.concatenate([synthetic.identity_codes(factors), np.ones((len(factors), 1))], 1)
    result = mig_sup(codes, factors)
    np.testing.assert_allclose(result.arrays["gap"], [1, 1, 1, 1, 0], atol=1e-12)
    assert result["mig_sup"] == pytest.approx(0.8, abs=1e-12)
