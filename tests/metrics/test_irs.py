"""irs: disentanglement_lib parity, a hand-computed case, properties, edge cases, errors."""

import itertools

import numpy as np
import pytest

from disbench.metrics.irs import irs
from tests.metrics import synthetic


# --- disentanglement_lib, transcribed (evaluation/metrics/irs.py @a070670 and
# --- utils._histogram_discretize); (n_codes, n_samples) orientation, loops and all.
def _dlib_histogram_discretize(target, num_bins=20):
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def _dlib_drop_constant_dims(ys):
    variances = ys.var(axis=1)
    return ys[variances > 0.0, :]


def _dlib_scalable_disentanglement_score(gen_factors, latents, diff_quantile=0.99):
    num_gen = gen_factors.shape[1]
    num_lat = latents.shape[1]
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    cum_deviations = np.zeros([num_lat, num_gen])
    for i in range(num_gen):
        unique_factors = np.unique(gen_factors[:, i], axis=0)
        num_distinct_factors = unique_factors.shape[0]
        for k in range(num_distinct_factors):
            match = gen_factors[:, i] == unique_factors[k]
            e_loc = np.mean(latents[match, :], axis=0)
            diffs = np.abs(latents[match, :] - e_loc)
            max_diffs = np.percentile(diffs, q=diff_quantile * 100, axis=0)
            cum_deviations[:, i] += max_diffs
        cum_deviations[:, i] /= num_distinct_factors
    normalized_deviations = cum_deviations / max_deviations[:, np.newaxis]
    irs_matrix = 1.0 - normalized_deviations
    disentanglement_scores = irs_matrix.max(axis=1)
    if np.sum(max_deviations) > 0.0:
        avg_score = np.average(disentanglement_scores, weights=max_deviations)
    else:
        avg_score = np.mean(disentanglement_scores)
    return {
        "disentanglement_scores": disentanglement_scores,
        "avg_score": avg_score,
        "parents": irs_matrix.argmax(axis=1),
        "IRS_matrix": irs_matrix,
        "max_deviations": max_deviations,
    }


def _dlib_compute_irs(codes, factors, diff_quantile=0.99):
    """compute_irs after sampling: mus, ys are (n_codes, n) and (n_factors, n)."""
    mus, ys = codes.T, factors.T
    ys_discrete = _dlib_histogram_discretize(ys)
    active_mus = _dlib_drop_constant_dims(mus)
    if not active_mus.any():
        return {"IRS": 0.0, "num_active_dims": np.sum(active_mus)}, None
    details = _dlib_scalable_disentanglement_score(ys_discrete.T, active_mus.T, diff_quantile)
    return {"IRS": details["avg_score"], "num_active_dims": np.sum(active_mus)}, details


def _assert_matches_dlib(codes, factors, diff_quantile=0.99):
    result = irs(codes, factors, diff_quantile=diff_quantile)
    expected, details = _dlib_compute_irs(codes.astype(np.float64), factors, diff_quantile)
    assert abs(result["irs"] - expected["IRS"]) <= 1e-12
    np.testing.assert_allclose(result.arrays["irs_matrix"], details["IRS_matrix"], atol=1e-12)
    np.testing.assert_allclose(
        result.arrays["disentanglement_scores"], details["disentanglement_scores"], atol=1e-12
    )
    np.testing.assert_allclose(
        result.arrays["max_deviations"], details["max_deviations"], rtol=1e-12
    )
    np.testing.assert_array_equal(result.arrays["parents"], details["parents"])
    return result


@pytest.mark.parametrize("diff_quantile", [0.99, 1.0, 0.5, 0.37, 0.0])
def test_matches_disentanglement_lib_on_synthetic_codes(rng, diff_quantile):
    # Unequal group sizes, a factor of 40 values (merged into 20 histogram bins), a
    # continuous factor, informative, Gaussian and uniform codes.
    n = 6000
    factors = np.concatenate(
        [rng.integers(0, [10, 8, 5, 40], size=(n, 4)), rng.uniform(size=(n, 1))], axis=1
    )
    factors[: n // 2, 2] = 0
    codes = np.concatenate(
        [
            factors[:, :3] + rng.normal(size=(n, 3)) * 0.3,
            np.sin(factors[:, 4:]) + rng.normal(size=(n, 1)) * 0.1,
            rng.normal(size=(n, 2)),
            rng.uniform(size=(n, 1)),
        ],
        axis=1,
    )
    _assert_matches_dlib(codes, factors, diff_quantile)


def test_matches_disentanglement_lib_with_very_unequal_groups(rng):
    # 95% of the rows in one value: the groups are sorted in more than one padded block.
    n = 20_000
    factors = np.where(rng.uniform(size=(n, 2)) < 0.95, 0, rng.integers(1, 20, size=(n, 2)))
    codes = factors + rng.normal(size=(n, 3))[:, [0, 1]] * [1.0, 3.0]
    _assert_matches_dlib(codes, factors)


def test_matches_disentanglement_lib_on_real_3dshapes_codes(shapes3d_codes):
    factors = shapes3d_codes.factors
    for codes in (shapes3d_codes.mean, shapes3d_codes.sampled):
        result = _assert_matches_dlib(codes, factors)
        # dlib on the encoder's float32 itself (its arithmetic in float32) is within 1e-6:
        # the documented float32 difference.
        float32, _ = _dlib_compute_irs(codes, factors)
        assert abs(result["irs"] - float32["IRS"]) < 1e-6
        assert 0.6 < result["irs"] < 0.8
        assert result["num_active_dims"] == 10.0


def test_hand_computed_case():
    # One factor v = (0, 0, 0, 1, 1, 1). Code z: E z = 7, max |z - 7| = 8; each group's
    # deviations from its mean (2 and 12) are (2, 1, 3), whose 0.99 quantile by linear
    # interpolation is 2 + 0.98 * (3 - 2) = 2.98, so IRS = 1 - 2.98 / 8. Code w = v: its
    # deviations within a group are 0, IRS 1, weight max |w - 0.5| = 0.5.
    v = np.array([0, 0, 0, 1, 1, 1])
    z = np.array([0.0, 1.0, 5.0, 10.0, 11.0, 15.0])
    result = irs(np.stack([z, v], axis=1), v)
    np.testing.assert_allclose(result.arrays["irs_matrix"], [[1 - 2.98 / 8], [1.0]], atol=1e-12)
    np.testing.assert_allclose(result.arrays["max_deviations"], [8.0, 0.5], atol=1e-12)
    expected = ((1 - 2.98 / 8) * 8 + 1.0 * 0.5) / 8.5
    assert abs(result["irs"] - expected) <= 1e-12
    # The median of (1, 2, 3) is 2: IRS = 1 - 2 / 8.
    median = irs(z, v, diff_quantile=0.5)
    assert abs(median["irs"] - 0.75) <= 1e-12


def test_identity_codes_score_one(rng):
    # z_k = v_k: holding v_k fixed holds z_k fixed, so |z_k - E[z_k | v_k]| is 0 for the
    # code's own factor, IRS_kk = 1 exactly, and each code's best entry is 1.
    factors = synthetic.uniform_factors(rng, 5000)
    result = irs(synthetic.identity_codes(factors), factors)
    assert abs(result["irs"] - 1.0) <= 1e-12  # the weighted mean of ones, up to rounding
    np.testing.assert_array_equal(result.arrays["disentanglement_scores"], 1.0)
    np.testing.assert_array_equal(result.arrays["parents"], np.arange(4))


def test_independent_codes_score_one_minus_quantile_over_maximum(rng):
    # Independent codes do not score 0: E[z | v] = E z, so d_jk is the 0.99 quantile of
    # |z - E z| and IRS_jk = 1 - that / max |z - E z|. For uniform noise the two are nearly
    # equal (0.495 vs 0.5 of the range: IRS about 0.01); for Gaussian noise at 20,000 rows
    # the quantile is about 2.6 standard deviations and the sample maximum about 4 (IRS
    # about 0.35).
    factors = synthetic.uniform_factors(rng)
    uniform = irs(rng.uniform(size=(factors.shape[0], 4)), factors)["irs"]
    gaussian = irs(synthetic.random_codes(factors, rng), factors)["irs"]
    assert 0.0 < uniform < 0.03
    assert 0.25 < gaussian < 0.45


def test_falls_as_noise_grows(rng):
    factors = synthetic.uniform_factors(rng)
    scores = [
        irs(synthetic.noisy_codes(factors, alpha, rng), factors)["irs"]
        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert abs(scores[0] - 1.0) <= 1e-12
    assert all(a > b for a, b in itertools.pairwise(scores))
    assert scores[-1] < 0.03  # uniform noise, see above


def test_constant_codes_are_dropped_and_counted(rng):
    factors = synthetic.uniform_factors(rng, 5000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    base = irs(codes, factors)
    # 0.1 repeated: np.var gives about 1e-34, not 0, so disentanglement_lib would keep it.
    with_constants = np.concatenate(
        [np.full((5000, 1), 0.1), codes[:, :2], np.zeros((5000, 1)), codes[:, 2:]], axis=1
    )
    result = irs(with_constants, factors)
    assert result["irs"] == base["irs"]
    assert result["num_active_dims"] == 4.0
    np.testing.assert_array_equal(result.arrays["active"], [0, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(result.arrays["irs_matrix"], base.arrays["irs_matrix"])
    # disentanglement_lib's num_active_dims sums the values of the active codes instead.
    expected, _ = _dlib_compute_irs(codes, factors)
    assert expected["num_active_dims"] == pytest.approx(codes.sum())


def test_every_code_constant_scores_zero(rng):
    factors = synthetic.uniform_factors(rng, 500)
    result = irs(np.ones((500, 3)), factors)
    assert result["irs"] == 0.0
    assert result["num_active_dims"] == 0.0
    assert result.arrays["irs_matrix"].shape == (0, 4)
    assert any("every code is constant" in note for note in result.notes)


def test_a_factor_with_one_value_is_skipped(rng):
    factors = synthetic.uniform_factors(rng, 3000)
    codes = synthetic.noisy_codes(factors, 0.2, rng)
    with_constant = np.concatenate([factors[:, :1], np.full((3000, 1), 7), factors[:, 1:]], 1)
    result = irs(codes, with_constant)
    base = irs(codes, factors)
    assert result["irs"] == base["irs"]
    assert np.isnan(result.arrays["irs_matrix"][:, 1]).all()
    np.testing.assert_array_equal(result.arrays["parents"], base.arrays["parents"] + [0, 1, 1, 1])
    assert result.notes == ("factor 1 skipped: it takes a single value",)
    with pytest.raises(ValueError, match="every factor takes a single value"):
        irs(codes, np.full((3000, 2), 3))


def test_permuting_codes_permutes_the_arrays(rng):
    factors = synthetic.uniform_factors(rng, 4000)
    codes = synthetic.mixed_codes(factors, 0.4) + rng.normal(size=(4000, 4)) * 0.05
    permutation = [2, 0, 3, 1]
    result, permuted = irs(codes, factors), irs(codes[:, permutation], factors)
    assert abs(result["irs"] - permuted["irs"]) <= 1e-12
    np.testing.assert_allclose(
        permuted.arrays["irs_matrix"], result.arrays["irs_matrix"][permutation], atol=1e-12
    )


def test_accepts_float32_and_torch_codes(rng):
    torch = pytest.importorskip("torch")
    factors = synthetic.uniform_factors(rng, 2000)
    codes = synthetic.noisy_codes(factors, 0.3, rng).astype(np.float32)
    expected = irs(codes.astype(np.float64), factors)["irs"]
    assert irs(codes, factors)["irs"] == expected
    assert irs(torch.from_numpy(codes), torch.from_numpy(factors))["irs"] == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"diff_quantile": 1.5}, ValueError, r"diff_quantile must be in \[0, 1\]; got 1.5"),
        ({"diff_quantile": -0.1}, ValueError, r"diff_quantile must be in \[0, 1\]"),
        ({"diff_quantile": "0.99"}, TypeError, "diff_quantile must be a number"),
        ({"diff_quantile": True}, TypeError, "diff_quantile must be a number"),
        ({"num_bins": 0}, ValueError, "num_bins must be an integer >= 1"),
    ],
)
def test_bad_options_are_refused(rng, kwargs, error, match):
    factors = synthetic.uniform_factors(rng, 100)
    with pytest.raises(error, match=match):
        irs(factors.astype(float), factors, **kwargs)


def test_bad_arrays_are_refused(rng):
    factors = synthetic.uniform_factors(rng, 100)
    codes = factors.astype(float)
    with pytest.raises(ValueError, match="one row per sample; got 99 and 100"):
        irs(codes[:99], factors)
    codes[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[2\]"):
        irs(codes, factors)
    with pytest.raises(ValueError, match="irs needs at least 2 samples"):
        irs(np.ones((1, 2)), np.ones((1, 1)))
