"""DCIMIG: a hand case, parity with Carbonneau et al.'s loop, and how the score responds to
controlled representations."""

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import mutual_info_score
from sklearn.preprocessing import minmax_scale

from disbench.metrics.dcimig import dcimig
from tests.metrics import synthetic


def carbonneau_dcimig(factors, codes, nb_bins=10):
    """ubisoft-laforge-disentanglement-metrics src/metrics/dcimig.py, continuous_factors=False,
    loop for loop, with the factor entropies in nats like the MI."""
    codes = minmax_scale(codes)
    codes = np.digitize(codes, np.linspace(0, 1, nb_bins + 1)[:-1], right=False)
    nb_factors, nb_codes = factors.shape[1], codes.shape[1]
    mi_matrix = np.zeros((nb_factors, nb_codes))
    for f_idx in range(nb_factors):
        for c_idx in range(nb_codes):
            mi_matrix[f_idx, c_idx] = mutual_info_score(factors[:, f_idx], codes[:, c_idx])
    for c_idx in range(nb_codes):
        mi_c = np.sort(mi_matrix[:, c_idx])
        max_idx = np.argmax(mi_matrix[:, c_idx])
        gap = mi_c[-1] - mi_c[-2]
        mi_matrix[:, c_idx] = mi_matrix[:, c_idx] * 0
        mi_matrix[max_idx, c_idx] = gap
    gap_sum = sum(np.max(mi_matrix[f_idx, :]) for f_idx in range(nb_factors))
    factor_entropy = sum(
        scipy.stats.entropy(np.unique(factors[:, f_idx], return_counts=True)[1])
        for f_idx in range(nb_factors)
    )
    return gap_sum / factor_entropy


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
    result = dcimig(np.stack([z0, v1, z2], 1).astype(float), np.stack([v0, v1], 1))
    # I(z0; v0) - I(z0; v1) = H(z0 | v1) - H(z0 | v0) = log(2) / 2, credited to v0; z1 = v1
    # credits log 2 to v1; z2's gap is 0. (log 2 / 2 + log 2) / (2 log 2) = 3/4.
    np.testing.assert_allclose(result.arrays["gap"], [np.log(2) / 2, np.log(2), 0], atol=1e-12)
    assert result.arrays["best_factor"].tolist() == [0, 1, 0]
    np.testing.assert_allclose(result.arrays["credit"], [np.log(2) / 2, np.log(2)], atol=1e-12)
    assert result["dcimig"] == pytest.approx(0.75, abs=1e-12)
    i00 = h(3 / 8, 5 / 8) - h(3 / 4, 1 / 4) / 2
    assert result.arrays["mi_matrix"][0, 0] == pytest.approx(i00, abs=1e-12)


def test_matches_carbonneau_et_al(rng):
    factors = synthetic.uniform_factors(rng, n=10_000)
    codes = np.concatenate(
        [synthetic.mixed_codes(factors, 0.4), synthetic.random_codes(factors, rng, 2)], 1
    )
    codes += 0.05 * rng.normal(size=codes.shape)
    expected = carbonneau_dcimig(factors, codes)
    assert dcimig(codes, factors)["dcimig"] == pytest.approx(expected, abs=1e-12)


def test_matches_carbonneau_et_al_on_real_shapes3d_codes(shapes3d_codes):
    # The first 10,000 rows; in float64, as the loop's min-max scaling then is.
    codes = shapes3d_codes.mean[:10_000].astype(np.float64)
    factors = shapes3d_codes.factors[:10_000]
    result = dcimig(codes, factors)
    assert result["dcimig"] == pytest.approx(carbonneau_dcimig(factors, codes), abs=1e-12)
    assert result["dcimig"] == pytest.approx(0.7138886877, abs=1e-9)  # stored


def test_identity_codes_score_one():
    # Ten equal-width bins give each value of a factor with at most 10 values its own bin
    # (values 1/(size - 1) >= 1/9 apart, bins 1/10 wide; 11 values would sit on the bin
    # edges, where rounding merges two of them, and more cannot fit). On a full grid no
    # code knows another factor: every gap is the whole H(v).
    factors = grid((10, 8, 5, 3))
    assert dcimig(synthetic.identity_codes(factors), factors)["dcimig"] == pytest.approx(
        1.0, abs=1e-12
    )


def test_factor_without_a_code_earns_nothing():
    factors = grid((10, 8, 5, 3))
    result = dcimig(synthetic.identity_codes(factors)[:, :3], factors)
    h_v = np.log([10, 8, 5, 3])
    np.testing.assert_allclose(result.arrays["credit"], [*h_v[:3], 0.0], atol=1e-12)
    assert result["dcimig"] == pytest.approx(h_v[:3].sum() / h_v.sum(), abs=1e-12)


def test_random_codes_score_about_zero(rng):
    factors = synthetic.uniform_factors(rng)
    assert dcimig(synthetic.random_codes(factors, rng), factors)["dcimig"] < 0.005


@pytest.mark.parametrize("family", ["noisy", "mixed"])
def test_score_falls_as_codes_degrade(family, rng):
    factors = synthetic.uniform_factors(rng)
    alphas = np.linspace(0.0, 1.0, 6)
    if family == "noisy":
        reps = [synthetic.noisy_codes(factors, a, np.random.default_rng(1)) for a in alphas]
    else:
        reps = [synthetic.mixed_codes(factors, a) for a in alphas]
    scores = [dcimig(codes, factors)["dcimig"] for codes in reps]
    assert np.all(np.diff(scores) < 0), scores
    assert scores[0] > 0.95 and scores[-1] < 0.05, scores


def test_duplicated_codes_are_not_charged():
    # Each copy's gap is the whole MI and each factor keeps its best copy: DCIMIG, unlike
    # MIG, does not see redundancy.
    factors = grid((10, 8, 5, 3))
    result = dcimig(synthetic.duplicated_codes(factors), factors)
    assert result["dcimig"] == pytest.approx(1.0, abs=1e-12)
    assert result.arrays["best_factor"].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]


def test_invariant_to_permuting_codes(rng):
    factors = synthetic.uniform_factors(rng, n=5000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    order = [2, 0, 3, 1]
    plain, permuted = dcimig(codes, factors), dcimig(codes[:, order], factors)
    assert permuted["dcimig"] == pytest.approx(plain["dcimig"], abs=1e-12)
    np.testing.assert_allclose(permuted.arrays["gap"], plain.arrays["gap"][order], atol=1e-15)


def test_single_factor_gap_is_the_mutual_information():
    factors = grid((6, 4))[:, :1]
    codes = np.stack([factors[:, 0] // 2, factors[:, 0]], 1).astype(float)  # half, all of v
    result = dcimig(codes, factors)
    np.testing.assert_allclose(result.arrays["gap"], [np.log(3), np.log(6)], atol=1e-12)
    assert result["dcimig"] == pytest.approx(1.0, abs=1e-12)


def test_single_valued_factor_is_skipped_with_a_note(rng):
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.concatenate([factors, np.full((3000, 1), 7)], 1)
    result = dcimig(codes, with_constant)
    assert result["dcimig"] == pytest.approx(dcimig(codes, factors)["dcimig"], abs=1e-12)
    assert result.notes == ("factor 4 skipped: it takes a single value",)
    assert np.isnan(result.arrays["credit"][4])


def test_bad_input_is_refused_with_a_clear_message(rng):
    factors = synthetic.uniform_factors(rng, n=500)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with pytest.raises(
        ValueError, match="estimator must be one of 'plugin', 'miller_madow', 'knn_cd'; got 'ksg'"
    ):
        dcimig(codes, factors, estimator="ksg")
    with pytest.raises(ValueError, match="n_neighbors must be an integer >= 1; got 0"):
        dcimig(codes, factors, estimator="knn_cd", n_neighbors=0)
    with pytest.raises(
        ValueError,
        match=r"factors columns \[2\] hold non-integer values; "
        "pass factor_discretizer='histogram'",
    ):
        dcimig(codes, factors + np.array([0, 0, 0.5, 0]))
    with pytest.raises(ValueError, match="dcimig is undefined: every factor takes a single"):
        dcimig(codes, np.zeros((500, 2)))
    inf = codes.copy()
    inf[0, 3] = np.inf
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[3\]"):
        dcimig(inf, factors)
