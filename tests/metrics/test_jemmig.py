"""JEMMIG: a hand case, parity with a pair-by-pair loop after Carbonneau et al., and how the
score responds to controlled representations."""

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import mutual_info_score
from sklearn.preprocessing import minmax_scale

from disbench.estimators import entropy, mutual_information
from disbench.metrics.jemmig import jemmig
from tests.metrics import synthetic

LOG10 = np.log(10)


def reference_jemmig(factors, codes, nb_bins=10):
    """ubisoft-laforge-disentanglement-metrics src/metrics/jemmig.py, continuous_factors=False,
    loop for loop, with every term in nats (the joint entropy counted from the (factor, code)
    pairs, log(nb_bins) natural). Returns 1 - JEMMIG, their direction."""
    codes = minmax_scale(codes)
    codes = np.digitize(codes, np.linspace(0, 1, nb_bins + 1)[:-1], right=False)
    n_factors, n_codes = factors.shape[1], codes.shape[1]
    mi_matrix = np.zeros((n_factors, n_codes))
    je_matrix = np.zeros((n_factors, n_codes))
    for f in range(n_factors):
        for c in range(n_codes):
            mi_matrix[f, c] = mutual_info_score(factors[:, f], codes[:, c])
            pairs = np.stack((factors[:, f], codes[:, c]), 1)
            je_matrix[f, c] = scipy.stats.entropy(np.unique(pairs, axis=0, return_counts=True)[1])
    sum_gap = 0
    for f in range(n_factors):
        mi_f = np.sort(mi_matrix[f, :])
        je_idx = np.argsort(mi_matrix[f, :])[-1]
        jemmig_not_normalized = je_matrix[f, je_idx] - mi_f[-1] + mi_f[-2]
        h_f = scipy.stats.entropy(np.unique(factors[:, f], return_counts=True)[1])
        sum_gap += 1 - jemmig_not_normalized / (h_f + np.log(nb_bins))
    return sum_gap / n_factors


def grid(sizes):
    """Every combination of factor values once: exactly independent factors (plug-in MI 0)."""
    return np.indices(sizes).reshape(len(sizes), -1).T


def h(*p):
    return -sum(q * np.log(q) for q in p)


def test_hand_case():
    # Two independent binary factors; z0 a noisy copy of v0, z1 = v1, z2 independent of both.
    v0 = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    v1 = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    z0 = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    z2 = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    codes, factors = np.stack([z0, v1, z2], 1).astype(float), np.stack([v0, v1], 1)
    h_z0 = h(3 / 8, 5 / 8)
    i00 = h_z0 - h(3 / 4, 1 / 4) / 2  # I(z0; v0)
    i01 = h_z0 - np.log(2) / 2 - h(3 / 4, 1 / 4) / 2  # I(z0; v1)
    result = jemmig(codes, factors)
    # v0: best z0, no second; v1: best z1 = v1 (H(z1, v1) = I = log 2), second z0.
    per_factor = [(h_z0 + np.log(2) - 2 * i00) / (np.log(2) + LOG10), i01 / (np.log(2) + LOG10)]
    np.testing.assert_allclose(result.arrays["jemmig"], per_factor, atol=1e-12)
    np.testing.assert_allclose(
        result.arrays["joint_entropy"], [h_z0 + np.log(2) - i00, np.log(2)], atol=1e-12
    )
    np.testing.assert_allclose(result.arrays["code_entropy"], [h_z0, np.log(2), np.log(2)])
    assert result.arrays["best_code"].tolist() == [0, 1]
    assert result["jemmig"] == pytest.approx(np.mean(per_factor), abs=1e-12)
    assert result["jemmig_score"] == pytest.approx(1 - np.mean(per_factor), abs=1e-12)


def test_matches_the_pair_by_pair_loop(rng):
    factors = synthetic.uniform_factors(rng, n=10_000)
    codes = np.concatenate(
        [synthetic.noisy_codes(factors, 0.4, rng), synthetic.random_codes(factors, rng, 2)], 1
    )
    result = jemmig(codes, factors)
    assert result["jemmig_score"] == pytest.approx(reference_jemmig(factors, codes), abs=1e-12)


def test_matches_the_pair_by_pair_loop_on_real_shapes3d_codes(shapes3d_codes):
    # The first 10,000 rows; in float64, as the loop's min-max scaling then is.
    codes = shapes3d_codes.mean[:10_000].astype(np.float64)
    factors = shapes3d_codes.factors[:10_000]
    result = jemmig(codes, factors)
    assert result["jemmig_score"] == pytest.approx(reference_jemmig(factors, codes), abs=1e-12)
    assert result["jemmig"] == pytest.approx(0.3130582594, abs=1e-9)  # stored


def test_identity_codes_score_one():
    # Ten equal-width bins give each value of a factor with at most 10 values its own bin
    # (values 1/(size - 1) >= 1/9 apart, bins 1/10 wide; 11 values would sit on the bin
    # edges, where rounding merges two of them, and more cannot fit). On a full grid no
    # code knows another factor, so H(z*, v) = I(z*; v) = H(v) and I(z°; v) = 0.
    factors = grid((10, 8, 5, 3))
    result = jemmig(synthetic.identity_codes(factors), factors)
    assert result["jemmig"] == pytest.approx(0.0, abs=1e-12)
    assert result["jemmig_score"] == pytest.approx(1.0, abs=1e-12)


def test_unrelated_codes_score_about_zero(rng):
    factors = synthetic.uniform_factors(rng)
    # Uniform codes fill their 10 bins evenly: H(z*, v) ~ log 10 + H(v), the normaliser.
    uniform = rng.uniform(size=(len(factors), 4))
    assert jemmig(uniform, factors)["jemmig_score"] < 0.005
    # Gaussian codes leave the outer bins nearly empty (H(z) ~ 1.6 < log 10): JEMMIG charges
    # only the entropy a code uses, so unrelated low-entropy codes do not score 0.
    gaussian = jemmig(synthetic.random_codes(factors, rng), factors)
    assert 0.1 < gaussian["jemmig_score"] < 0.2


@pytest.mark.parametrize("family", ["noisy", "mixed"])
def test_score_falls_as_codes_degrade(family, rng):
    factors = synthetic.uniform_factors(rng)
    alphas = np.linspace(0.0, 1.0, 6)
    if family == "noisy":
        reps = [synthetic.noisy_codes(factors, a, np.random.default_rng(1)) for a in alphas]
    else:
        reps = [synthetic.mixed_codes(factors, a) for a in alphas]
    scores = [jemmig(codes, factors)["jemmig_score"] for codes in reps]
    assert np.all(np.diff(scores) < 0), scores
    assert scores[0] > 0.95 and scores[-1] < 0.15, scores


def test_duplicated_codes_are_charged_the_second_copy():
    factors = grid((10, 8, 5, 3))
    result = jemmig(synthetic.duplicated_codes(factors), factors)
    # The copy is the second-best code: I(z°; v) = H(v), so JEMMIG(v) = H(v) / (H(v) + log 10).
    h_v = np.log([10, 8, 5, 3])
    np.testing.assert_allclose(result.arrays["jemmig"], h_v / (h_v + LOG10), atol=1e-12)
    assert result.arrays["best_code"].tolist() == [0, 1, 2, 3]  # ties go to the first copy


def test_invariant_to_permuting_codes(rng):
    factors = synthetic.uniform_factors(rng, n=5000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    order = [2, 0, 3, 1]
    plain, permuted = jemmig(codes, factors), jemmig(codes[:, order], factors)
    assert permuted.scores == pytest.approx(plain.scores, abs=1e-12)
    np.testing.assert_array_equal(
        np.asarray(order)[permuted.arrays["best_code"]], plain.arrays["best_code"]
    )


def test_single_code_has_no_second_code():
    factors = grid((4, 3))
    result = jemmig(factors[:, :1].astype(float), factors)
    # v0: perfect; v1: H(z*, v1) - I = log 4 + log 3 with z* the only code.
    expected = [0.0, (np.log(4) + np.log(3)) / (np.log(3) + LOG10)]
    np.testing.assert_allclose(result.arrays["jemmig"], expected, atol=1e-12)


def test_miller_madow_uses_corrected_entropies_throughout(rng):
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    result = jemmig(codes, factors, estimator="miller_madow")
    options = {"estimator": "miller_madow", "num_bins": 10}
    mi = mutual_information(codes, factors, code_discretizer="equal_width", **options)
    h_z = entropy(codes, discretizer="equal_width", **options)
    h_v = entropy(factors, estimator="miller_madow")
    best = mi.argmax(0)
    first = mi.max(0)
    second = np.sort(mi, 0)[-2]
    expected = (h_z[best] + h_v - 2 * first + second) / (h_v + LOG10)
    np.testing.assert_allclose(result.arrays["jemmig"], expected, atol=1e-12)


def test_single_valued_factor_is_skipped_with_a_note(rng):
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.concatenate([np.zeros((3000, 1), dtype=int), factors], 1)
    result = jemmig(codes, with_constant)
    assert result.scores == pytest.approx(jemmig(codes, factors).scores, abs=1e-12)
    assert result.notes == ("factor 0 skipped: it takes a single value",)
    assert np.isnan(result.arrays["jemmig"][0]) and result.arrays["best_code"][0] == -1


def test_bad_input_is_refused_with_a_clear_message(rng):
    factors = synthetic.uniform_factors(rng, n=500)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with pytest.raises(
        ValueError,
        match="code_discretizer must be one of 'equal_width', "
        "'histogram', 'quantile'; got 'unique'",
    ):
        jemmig(codes, factors, code_discretizer="unique")
    with pytest.raises(
        ValueError, match="estimator must be one of 'plugin', 'miller_madow'; got 'knn_cd'"
    ):
        jemmig(codes, factors, estimator="knn_cd")
    with pytest.raises(ValueError, match="factor_discretizer='histogram'"):
        jemmig(codes, factors + 0.5)
    with pytest.raises(ValueError, match="codes and factors must have one row per sample"):
        jemmig(codes[:10], factors)
    with pytest.raises(ValueError, match="jemmig is undefined: every factor takes a single"):
        jemmig(codes, np.zeros((500, 3)))
