"""Modularity and explicitness: hand-computed values, parity with disentanglement_lib,
the controlled representations of Carbonneau et al., and the edge cases."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer
from threadpoolctl import threadpool_limits

from disbench.metrics.modularity import modularity_explicitness
from tests.metrics import synthetic

N = 5_000  # rows for tests that fit logistic regressions: enough, and fast


# --- disentanglement_lib @86a644d, transcribed (its (num_codes, num_points) orientation
# --- and its per-pair loops kept), as the reference for parity.


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


def _dlib_normalize_data(data, mean=None, stddev=None):
    if mean is None:
        mean = np.mean(data, axis=1)
    if stddev is None:
        stddev = np.std(data, axis=1)
    return (data - mean[:, np.newaxis]) / stddev[:, np.newaxis], mean, stddev


def _dlib_explicitness_per_factor(mus_train, y_train, mus_test, y_test):
    x_train = np.transpose(mus_train)
    x_test = np.transpose(mus_test)
    clf = LogisticRegression().fit(x_train, y_train)
    y_pred_train = clf.predict_proba(x_train)
    y_pred_test = clf.predict_proba(x_test)
    mlb = MultiLabelBinarizer()
    roc_train = roc_auc_score(mlb.fit_transform(np.expand_dims(y_train, 1)), y_pred_train)
    roc_test = roc_auc_score(mlb.fit_transform(np.expand_dims(y_test, 1)), y_pred_test)
    return roc_train, roc_test


def _dlib_modularity(mutual_information):
    squared_mi = np.square(mutual_information)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    denominator = max_squared_mi * (squared_mi.shape[1] - 1.0)
    delta = numerator / denominator
    modularity_score = 1.0 - delta
    index = max_squared_mi == 0.0
    modularity_score[index] = 0.0
    return modularity_score


def _dlib_modularity_explicitness(codes, factors, test_codes, test_factors):
    """compute_modularity_explicitness after sampling, on (n_samples, ·) inputs."""
    mus_train, ys_train, mus_test, ys_test = codes.T, factors.T, test_codes.T, test_factors.T
    mi = _dlib_discrete_mutual_info(_dlib_histogram_discretize(mus_train), ys_train)
    per_code = _dlib_modularity(mi)
    mus_train_norm, mean_mus, stddev_mus = _dlib_normalize_data(mus_train)
    mus_test_norm, _, _ = _dlib_normalize_data(mus_test, mean_mus, stddev_mus)
    train, test = np.zeros(ys_train.shape[0]), np.zeros(ys_train.shape[0])
    for i in range(ys_train.shape[0]):
        train[i], test[i] = _dlib_explicitness_per_factor(
            mus_train_norm, ys_train[i, :], mus_test_norm, ys_test[i, :]
        )
    return mi, per_code, train, test


@pytest.fixture
def factors(rng):
    return synthetic.uniform_factors(rng, n=N)


def _split(codes, factors, n_train=3_000):
    return dict(
        codes=codes[:n_train],
        factors=factors[:n_train],
        test_codes=codes[n_train:],
        test_factors=factors[n_train:],
    )


# --- hand-computed


def test_hand_computed_modularity():
    # v1 binary, v2 in 0..3, all 8 combinations 50 times each. Codes: z0 = v2 and z1 = v1
    # (each about one factor only: modularity 1), z2 = v1 + 2·[v2 = 3] (about both),
    # z3 constant (no information: 0). Each code's values fall in distinct histogram bins,
    # so the plug-in MI is that of the exact distributions:
    #   I(z2; v1) = H(z2) - H([v2 = 3]) = H(3/8, 3/8, 1/8, 1/8) - h(1/4)
    #   I(z2; v2) = H(z2) - H(v1)       = H(3/8, 3/8, 1/8, 1/8) - log 2
    grid = np.array([(a, b) for a in range(2) for b in range(4)])
    factors = np.repeat(grid, 50, axis=0)
    v1, v2 = factors[:, 0], factors[:, 1]
    codes = np.stack([v2, v1, v1 + 2.0 * (v2 == 3), np.full(len(v1), 0.7)], axis=1)

    def h(*p):
        return -sum(q * math.log(q) for q in p)

    h_z2 = h(3 / 8, 3 / 8, 1 / 8, 1 / 8)
    i_v1, i_v2 = h_z2 - h(1 / 4, 3 / 4), h_z2 - math.log(2)
    expected_mi = np.array([[0, math.log(4)], [math.log(2), 0], [i_v1, i_v2], [0, 0]])
    expected_per_code = [1.0, 1.0, 1.0 - (i_v2 / i_v1) ** 2, 0.0]

    result = modularity_explicitness(codes, factors, test_codes=codes, test_factors=factors)
    np.testing.assert_allclose(result.arrays["mi_matrix"], expected_mi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.arrays["modularity_per_code"], expected_per_code, atol=1e-12)
    assert result["modularity"] == pytest.approx(np.mean(expected_per_code), abs=1e-12)
    # z0 = v2 and z1 = v1 separate every class of both factors: AUC 1 on train and test.
    assert result["explicitness_train"] == result["explicitness_test"] == pytest.approx(1.0)


# --- parity with disentanglement_lib


def test_matches_disentanglement_lib(rng):
    factors = synthetic.uniform_factors(rng, n=N, sizes=(6, 4, 9))
    codes = synthetic.noisy_codes(factors, 0.5, rng) @ rng.normal(size=(3, 5))
    result = modularity_explicitness(**_split(codes, factors))
    mi, per_code, train, test = _dlib_modularity_explicitness(*_split(codes, factors).values())

    np.testing.assert_allclose(result.arrays["mi_matrix"], mi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.arrays["modularity_per_code"], per_code, atol=1e-12)
    np.testing.assert_allclose(result.arrays["explicitness_train_per_factor"], train, atol=1e-12)
    np.testing.assert_allclose(result.arrays["explicitness_test_per_factor"], test, atol=1e-12)
    assert result["modularity"] == pytest.approx(np.mean(per_code), abs=1e-12)
    assert result["explicitness_train"] == pytest.approx(np.mean(train), abs=1e-12)
    assert result["explicitness_test"] == pytest.approx(np.mean(test), abs=1e-12)
    # Stored values (scikit-learn 1.9's L-BFGS may move the AUCs in the 8th digit elsewhere).
    assert result["modularity"] == pytest.approx(0.9233368136140987, abs=1e-12)
    assert result["explicitness_train"] == pytest.approx(0.7678527078898495, abs=1e-6)
    assert result["explicitness_test"] == pytest.approx(0.7713766084332332, abs=1e-6)


# The reference's own fits warn; ours turn the warning into a note.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_matches_disentanglement_lib_on_real_3dshapes_codes(shapes3d_codes):
    # A trained VAE's float32 encoder means, as disentanglement_lib gets them from its
    # encoder: binned with float32 edges, standardised and classified in float32.
    codes, factors = shapes3d_codes.mean, shapes3d_codes.factors
    assert codes.dtype == np.float32
    split = _split(codes[:15_000], factors[:15_000], n_train=10_000)
    result = modularity_explicitness(**split)
    with threadpool_limits(limits=1, user_api="blas"):  # (speed only, see modularity.py)
        mi, per_code, train, test = _dlib_modularity_explicitness(*split.values())
    np.testing.assert_allclose(result.arrays["mi_matrix"], mi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.arrays["modularity_per_code"], per_code, atol=1e-12)
    np.testing.assert_allclose(result.arrays["explicitness_train_per_factor"], train, atol=1e-12)
    np.testing.assert_allclose(result.arrays["explicitness_test_per_factor"], test, atol=1e-12)
    assert result["modularity"] == pytest.approx(0.968, abs=1e-3)
    assert result["explicitness_test"] == pytest.approx(0.960, abs=1e-3)
    assert any("did not converge in 100 iterations" in note for note in result.notes)
    # In float64 the fits differ by ~2e-5 in AUC (one of them stops at 100 iterations).
    as_float64 = modularity_explicitness(**{k: v.astype(np.float64) for k, v in split.items()})
    assert as_float64["explicitness_test"] == pytest.approx(result["explicitness_test"], abs=1e-4)


# --- controlled representations


def test_identity_codes_are_modular_and_explicit(factors):
    result = modularity_explicitness(synthetic.identity_codes(factors), factors)
    # Only the plug-in bias of the MI with the other factors keeps it from exactly 1.
    assert 0.9999 < result["modularity"] <= 1.0
    # Each factor is one standardised ordinal code. One-vs-rest *binary* logistic
    # regressions would give each class a score monotone in that code, which cannot single
    # out a middle class. The default classifier is multinomial: logits a_c + b_c·x can make
    # each class the most probable on its own interval (b_c ∝ c, a_c ∝ -c²/2 ranks classes
    # by distance to x), so p_c peaks at x = c and the middle classes are separated too.
    # The AUC is 1 for the factors of 5 to 10 values; for the 12-valued one the L2 penalty
    # (C = 1) leaves the softmax flat (p_c(c) ≈ 0.4-0.8), and the small weights the fit gives
    # the other factors' codes let a few rows of a middle class rank below a neighbour's.
    for key in ("explicitness_train_per_factor", "explicitness_test_per_factor"):
        per_factor = result.arrays[key]
        np.testing.assert_array_equal(per_factor[:3], 1.0)
        assert 0.9999 < per_factor[3] <= 1.0


@pytest.mark.parametrize("make", [synthetic.duplicated_codes, synthetic.cos_sin_codes])
def test_a_factor_spread_over_several_codes_is_still_modular(factors, make):
    # Modularity asks only that each code be about one factor; [f, f] and [cos f, sin f]
    # are (they are not compact, which modularity does not measure).
    result = modularity_explicitness(make(factors), factors)
    assert result["modularity"] > 0.999
    assert result["explicitness_test"] > 0.999


def test_modularity_falls_as_codes_mix(factors):
    # Below alpha ≈ 0.5 the histogram still resolves each code's own factor and modularity
    # stays within 0.004 of 1 (up and down by binning noise); from there it falls steadily,
    # to the fully mixed alpha = 1 where every code is the same mean of all factors.
    alphas = (0.0, 0.6, 0.7, 0.8, 0.9, 1.0)
    scores = [
        modularity_explicitness(synthetic.mixed_codes(factors, a), factors)["modularity"]
        for a in alphas
    ]
    assert scores[0] > 0.9999
    assert np.all(np.diff(scores) < 0), scores
    assert scores[-1] < 0.3


def test_random_codes(rng):
    factors = synthetic.uniform_factors(rng, n=N)
    result = modularity_explicitness(synthetic.random_codes(factors, rng, n_codes=16), factors)
    # Explicitness: the classifier can only guess on held-out rows (chance AUC 0.5); on its
    # own training rows it overfits a little.
    assert abs(result["explicitness_test"] - 0.5) < 0.02
    assert 0.5 < result["explicitness_train"] < 0.6
    # Modularity is NOT about 0 for codes independent of the factors. Their plug-in MI is
    # pure estimation bias, about (B - 1)(L_k - 1) / (2n) for a factor of L_k values: the
    # factor with the most values (12) gets the largest MI from every code, and modularity
    # is 1 - Σ_{k≠k*} (L_k - 1)² / ((L* - 1)² (K - 1)) ≈ 0.6 for sizes (10, 8, 5, 12).
    bias = np.array(synthetic.SIZES) - 1.0
    expected = 1 - (np.sum(bias**2) - bias.max() ** 2) / (bias.max() ** 2 * (len(bias) - 1))
    assert expected == pytest.approx(0.598, abs=1e-3)
    assert abs(result["modularity"] - expected) < 0.05
    # With factors of equal size the bias is the same for all, and only its fluctuation
    # picks a "best" factor per code: lower, but still far from 0.
    equal = synthetic.uniform_factors(rng, n=N, sizes=(8, 8, 8, 8))
    same_size = modularity_explicitness(synthetic.random_codes(equal, rng, n_codes=16), equal)
    assert 0.15 < same_size["modularity"] < 0.35


# --- invariances and determinism


def test_permuting_codes_changes_nothing(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.4, rng)
    order = [2, 0, 3, 1]
    result = modularity_explicitness(codes, factors, rng=3)
    permuted = modularity_explicitness(codes[:, order], factors, rng=3)
    np.testing.assert_allclose(permuted.arrays["mi_matrix"], result.arrays["mi_matrix"][order])
    for key, value in result.scores.items():
        assert permuted[key] == pytest.approx(value, abs=1e-7), key


def test_seed_and_hold_out(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.6, rng)
    first = modularity_explicitness(codes, factors, rng=1)
    assert modularity_explicitness(codes, factors, rng=1).scores == first.scores
    assert modularity_explicitness(codes, factors, rng=np.random.default_rng(1)).scores == (
        first.scores
    )
    assert modularity_explicitness(codes, factors, rng=2).scores != first.scores
    # Without a test set a third of the rows is held out; modularity uses the rest.
    assert (first.params["num_train"], first.params["num_test"]) == (N - N // 3, N // 3)
    assert first.params["held_out_from_codes"] is True


def test_torch_codes_give_the_numpy_numbers(factors, rng):
    torch = pytest.importorskip("torch")
    codes = synthetic.noisy_codes(factors[:1500], 0.3, rng)
    split = _split(codes, factors[:1500], n_train=1000)
    tensors = {k: torch.as_tensor(v) for k, v in split.items()}
    assert modularity_explicitness(**tensors).scores == modularity_explicitness(**split).scores
    # float32 stays float32 (binning and fits), tensor or not.
    single = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in split.items()}
    tensors = {k: torch.as_tensor(v) for k, v in single.items()}
    assert modularity_explicitness(**tensors).scores == modularity_explicitness(**single).scores


# --- edge cases


def test_single_valued_factor_is_skipped(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.concatenate([factors, np.full((N, 1), 3)], axis=1)
    result = modularity_explicitness(codes, with_constant, rng=0)
    reference = modularity_explicitness(codes, factors, rng=0)
    assert result.scores == reference.scores
    assert result.notes == ("factor 4 skipped: it takes a single value",)
    assert np.isnan(result.arrays["explicitness_train_per_factor"][4])
    assert np.isnan(result.arrays["explicitness_test_per_factor"][4])
    np.testing.assert_array_equal(result.arrays["mi_matrix"][:, 4], 0.0)


def test_single_factor():
    # K = 1: disentanglement_lib divides 0 by 0 (NaN). An informative code is modular (1),
    # a code with no information 0.
    factor = np.repeat(np.arange(4), 100)[:, None]
    codes = np.stack([factor[:, 0] * 1.0, np.zeros(400)], axis=1)
    result = modularity_explicitness(codes, factor, test_codes=codes, test_factors=factor)
    np.testing.assert_array_equal(result.arrays["modularity_per_code"], [1.0, 0.0])
    assert result["modularity"] == 0.5


def test_constant_code_is_kept_out_of_the_classifier(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.concatenate([codes, np.full((N, 1), 2.5)], axis=1)
    result = modularity_explicitness(**_split(with_constant, factors))
    reference = modularity_explicitness(**_split(codes, factors))
    assert "codes [4] are constant in the training rows: not standardised (divided by 1)" in (
        result.notes
    )
    assert result.arrays["modularity_per_code"][4] == 0.0
    assert result["modularity"] == pytest.approx(reference["modularity"] * 4 / 5, abs=1e-12)
    # A constant (zero) feature gets weight 0: the fit is that without it.
    for key in ("explicitness_train", "explicitness_test"):
        assert result[key] == pytest.approx(reference[key], abs=1e-9)


def test_test_set_without_some_classes(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    split = _split(codes, factors)
    # Factor 2 (5 values): drop values 0 and 3 from the test set, and add a value 7 that
    # the training rows never had. disentanglement_lib's roc_auc_score call fails here.
    keep = ~np.isin(split["test_factors"][:, 2], [0, 3])
    test_codes, test_factors = split["test_codes"][keep], split["test_factors"][keep].copy()
    test_factors[:40, 2] = 7
    result = modularity_explicitness(
        split["codes"], split["factors"], test_codes=test_codes, test_factors=test_factors
    )
    with pytest.raises((ValueError, IndexError)):  # mismatched columns
        _dlib_modularity_explicitness(split["codes"], split["factors"], test_codes, test_factors)
    assert (
        "factor 2: the test set lacks training values [0, 3] and has unseen values [7]; its "
        "test ROC-AUC averages over the training values present in the test set" in result.notes
    )
    # The classes present are scored one against the rest (rows of 7 are negatives).
    train_norm, mean, std = _dlib_normalize_data(split["codes"].T)
    test_norm, _, _ = _dlib_normalize_data(test_codes.T, mean, std)
    classifier = LogisticRegression().fit(train_norm.T, split["factors"][:, 2])
    probabilities = classifier.predict_proba(test_norm.T)
    expected = np.mean(
        [
            roc_auc_score(test_factors[:, 2] == value, probabilities[:, column])
            for column, value in enumerate(classifier.classes_)
            if value in (1, 2, 4)
        ]
    )
    per_factor = result.arrays["explicitness_test_per_factor"]
    assert per_factor[2] == pytest.approx(expected, abs=1e-12)
    # The other factors, whose classes are all present, get disentanglement_lib's numbers.
    for k in (0, 1, 3):
        _, test_auc = _dlib_explicitness_per_factor(
            train_norm, split["factors"][:, k], test_norm, test_factors[:, k]
        )
        assert per_factor[k] == pytest.approx(test_auc, abs=1e-12)


def test_test_set_with_a_single_value_of_a_factor(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    split = _split(codes, factors)
    keep = split["test_factors"][:, 1] == 2
    result = modularity_explicitness(
        split["codes"],
        split["factors"],
        test_codes=split["test_codes"][keep],
        test_factors=split["test_factors"][keep],
    )
    per_factor = result.arrays["explicitness_test_per_factor"]
    assert np.isnan(per_factor[1]) and not np.isnan(per_factor[[0, 2, 3]]).any()
    assert result["explicitness_test"] == pytest.approx(np.mean(per_factor[[0, 2, 3]]))
    assert any(
        note.startswith("factor 1: takes a single value in the test set") for note in (result.notes)
    )


# --- errors


def test_errors(factors, rng):
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with pytest.raises(ValueError, match="pass test_codes and test_factors together"):
        modularity_explicitness(codes, factors, test_codes=codes)
    with pytest.raises(ValueError, match="same number of dimensions; got 4 and 3"):
        modularity_explicitness(codes, factors, test_codes=codes[:, :3], test_factors=factors)
    with pytest.raises(ValueError, match="same number of columns; got 4 and 2"):
        modularity_explicitness(codes, factors, test_codes=codes, test_factors=factors[:, :2])
    with pytest.raises(ValueError, match="needs discrete factors"):
        modularity_explicitness(codes, factors + 0.5)
    with pytest.raises(ValueError, match="test_codes has NaN or infinite values in columns"):
        bad = codes.copy()
        bad[0, 1] = np.nan
        modularity_explicitness(codes, factors, test_codes=bad, test_factors=factors)
    with pytest.raises(ValueError, match="every factor takes a single value"):
        modularity_explicitness(codes, np.zeros_like(factors))
    with pytest.raises(ValueError, match="no factor has two values in the test set"):
        modularity_explicitness(codes, factors, test_codes=codes[:1], test_factors=factors[:1])
    with pytest.raises(ValueError, match="num_bins must be an integer >= 1; got 0"):
        modularity_explicitness(codes, factors, num_bins=0)
    with pytest.raises(ValueError, match="needs at least 3 samples"):
        modularity_explicitness(codes[:2], factors[:2])
