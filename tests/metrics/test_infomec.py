"""infomec: the InfoM/InfoC formulas by hand, parity with Hsu et al.'s code on real codes,
how the scores respond to controlled representations, edge cases and errors."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn import feature_selection, linear_model, metrics, preprocessing

from disbench.metrics.infomec import _infom_infoc, infomec
from tests.metrics import synthetic


# --- Hsu et al.'s reference (kylehkhsu/latent_quantization @4ba4c9d,
# --- disentangle/metrics/infomec.py), transcribed: NMI is (factors, codes) there.
def _ref_nmi(sources, latents, seed):
    processed_sources = np.stack(
        [preprocessing.LabelEncoder().fit_transform(s) for s in sources.T], axis=1
    )
    processed_latents = np.concatenate(
        [preprocessing.StandardScaler().fit_transform(z[:, None]) for z in latents.T], axis=1
    )
    ret = np.empty((processed_sources.shape[1], processed_latents.shape[1]))
    for i in range(processed_sources.shape[1]):
        for j in range(processed_latents.shape[1]):
            # The reference leaves random_state unset; seeded here to be reproducible.
            ret[i, j] = feature_selection.mutual_info_classif(
                processed_latents[:, j][:, None],
                processed_sources[:, i],
                discrete_features=False,
                n_neighbors=10,
                random_state=seed,
            )[0]
        entropy = metrics.mutual_info_score(processed_sources[:, i], processed_sources[:, i])
        ret[i, :] /= entropy
    return ret


def _ref_logistic_regression(x, y):
    # The reference also passes multi_class="multinomial", which scikit-learn has removed
    # (lbfgs is multinomial anyway); penalty=None is deprecated from 1.8 (FutureWarning).
    model = linear_model.LogisticRegression(
        penalty=None,
        dual=False,
        tol=1e-4,
        fit_intercept=True,
        class_weight="balanced",
        solver="lbfgs",
        max_iter=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y)
    return metrics.log_loss(y, model.predict_proba(x))


def _ref_infoe(sources, latents):
    normalized = []
    processed_latents = preprocessing.StandardScaler().fit_transform(latents)
    for source in sources.T:
        labels = preprocessing.LabelEncoder().fit_transform(source)
        conditional = _ref_logistic_regression(processed_latents, labels)
        marginal = _ref_logistic_regression(np.zeros_like(latents), labels)
        normalized.append((marginal - conditional) / marginal)
    return np.mean(normalized)


def _ref_infomec(sources, latents, seed=0):
    nmi = _ref_nmi(sources, latents, seed)
    latent_ranges = np.max(latents, axis=0) - np.min(latents, axis=0)
    active_latents = latent_ranges > np.max(latent_ranges) / 20
    num_sources = sources.shape[1]
    num_active_latents = np.sum(active_latents)
    pruned_nmi = nmi[:, active_latents]
    infom = (np.mean(np.max(pruned_nmi, axis=0) / np.sum(pruned_nmi, axis=0)) - 1 / num_sources) / (
        1 - 1 / num_sources
    )
    infoc = (
        np.mean(np.max(pruned_nmi, axis=1) / np.sum(pruned_nmi, axis=1)) - 1 / num_active_latents
    ) / (1 - 1 / num_active_latents)
    return {"infom": infom, "infoe": _ref_infoe(sources, latents), "infoc": infoc, "nmi": nmi}


def _shapes3d(shapes3d_codes, n):
    return shapes3d_codes.mean[:n].astype(np.float64), shapes3d_codes.factors[:n]


def _scores(result):
    return result["infom"], result["infoe"], result["infoc"]


# --- The formulas.


def test_infom_infoc_by_hand():
    # Codes x factors. InfoM: code ratios 0.6/0.8 = 0.3/0.4 = 0.75, (0.75 - 1/2) / (1/2) = 0.5.
    # InfoC: factor ratios 0.6/0.7 and 0.3/0.5, mean 51/70, (51/70 - 1/2) / (1/2) = 16/35.
    nmi = np.array([[0.6, 0.2], [0.1, 0.3]])
    infom, infoc = _infom_infoc(nmi)
    assert abs(infom - 0.5) <= 1e-12
    assert abs(infoc - 16 / 35) <= 1e-12
    # The reference's own expressions (its matrix is factors x codes) give the same.
    ref = _ref_formulas(nmi.T)
    assert abs(infom - ref[0]) <= 1e-12 and abs(infoc - ref[1]) <= 1e-12


def _ref_formulas(pruned_nmi):
    k, length = pruned_nmi.shape
    infom = (np.mean(pruned_nmi.max(axis=0) / pruned_nmi.sum(axis=0)) - 1 / k) / (1 - 1 / k)
    infoc = (np.mean(pruned_nmi.max(axis=1) / pruned_nmi.sum(axis=1)) - 1 / length) / (
        1 - 1 / length
    )
    return infom, infoc


def test_uninformative_rows_count_as_chance_not_nan():
    # The third code carries nothing: its ratio is 1/K, adding 0 to the normalised sum, so
    # InfoM = (1 + 1 + 0) / 3; the first factor is caught by one of 3 codes (ratio 1 -> 1),
    # the second too: InfoC = 1.
    nmi = np.array([[0.9, 0.0], [0.0, 0.4], [0.0, 0.0]])
    infom, infoc = _infom_infoc(nmi)
    assert abs(infom - 2 / 3) <= 1e-12
    assert abs(infoc - 1.0) <= 1e-12
    assert _infom_infoc(np.zeros((2, 3))) == (0.0, 0.0)


def test_one_factor_or_one_code_scores_the_informative_fraction():
    # K = 1: 1 - 1/K = 0. A code about the factor scores 1, one without information 0.
    infom, infoc = _infom_infoc(np.array([[0.5], [0.2], [0.0]]))
    assert abs(infom - 2 / 3) <= 1e-12
    assert abs(infoc - (0.5 / 0.7 - 1 / 3) / (2 / 3)) <= 1e-12
    # L = 1: the single code is compact for every factor it informs.
    infom, infoc = _infom_infoc(np.array([[0.5, 0.0, 0.25]]))
    assert abs(infoc - 2 / 3) <= 1e-12
    assert abs(infom - (0.5 / 0.75 - 1 / 3) / (2 / 3)) <= 1e-12


# --- Parity with the reference.


def test_matches_the_reference_on_real_3dshapes_codes(shapes3d_codes):
    codes, factors = _shapes3d(shapes3d_codes, 2000)
    result = infomec(codes, factors)
    ref = _ref_infomec(factors, codes)
    # The NMI differs only by the 1e-10 tie-breaking noise (drawn from other generators):
    # about 1e-5, the size of the reference's own change from one noise seed to another.
    np.testing.assert_allclose(result.arrays["nmi"], ref["nmi"].T, atol=5e-5)
    assert abs(result["infom"] - ref["infom"]) < 1e-5
    assert abs(result["infoc"] - ref["infoc"]) < 1e-5
    # InfoE: same regressions; the reference's intercept-only denominator is log K exactly.
    assert abs(result["infoe"] - ref["infoe"]) <= 1e-9


def test_real_3dshapes_codes_in_range_and_reproducible(shapes3d_codes):
    codes, factors = _shapes3d(shapes3d_codes, None)  # all 15,008 rows
    first, again = infomec(codes, factors, rng=7), infomec(codes, factors, rng=7)
    assert _scores(first) == _scores(again)
    np.testing.assert_array_equal(first.arrays["nmi"], again.arrays["nmi"])
    infom, infoe, infoc = _scores(first)
    # This VAE: three hues each in one code, scale and shape spread (DCI and MIG agree).
    assert 0.4 < infom < 0.65 and 0.7 < infoe < 0.9 and 0.35 < infoc < 0.6
    assert first.arrays["active"].all() and first.notes == ()


# --- Controlled representations (Carbonneau et al.'s, tests/metrics/synthetic.py).


def test_identity_codes_score_about_one(rng):
    # One code per factor (up to 12 values). InfoE: for one ordinal code, the softmax of
    # K_i logits linear in z (the upper envelope of K_i lines) can give every value its own
    # interval, so each factor is linearly separable and the unregularised fit drives the
    # cross-entropy towards 0 (lbfgs stops on its tolerance, about 1e-4 nats off).
    # InfoM, InfoC: 1 minus the kNN estimator's small positive bias on unrelated pairs.
    factors = synthetic.uniform_factors(rng, 3000)
    infom, infoe, infoc = _scores(infomec(synthetic.identity_codes(factors), factors))
    assert infom > 0.98 and infoc > 0.98
    assert infoe > 0.999
    # Discrete codes: plug-in NMI is exactly 1 on the diagonal, with a plug-in bias of
    # about (|A| - 1)(|B| - 1) / 2n nats off it.
    discrete = infomec(factors, factors, discrete_codes=True)
    np.testing.assert_allclose(np.diag(discrete.arrays["nmi"]), 1.0, atol=1e-12)
    assert discrete["infom"] > 0.97 and discrete["infoc"] > 0.97 and discrete["infoe"] > 0.999


def test_codes_independent_of_the_factors(rng):
    # Every NMI is the estimator's bias (clipped at 0), and InfoE about 0. InfoM and InfoC
    # are ratios of those small numbers: a code with one positive entry and the rest 0 has
    # ratio 1. They are therefore anywhere in [0, 1] (0.3 to 0.85 across seeds), not
    # about 0; this is how the reference behaves too, and why only InfoE is checked here.
    factors = synthetic.uniform_factors(rng, 5000)
    result = infomec(synthetic.random_codes(factors, rng), factors)
    assert result.arrays["nmi"].max() < 0.02
    assert 0.0 <= result["infoe"] < 0.01
    assert 0.0 <= result["infom"] <= 1.0 and 0.0 <= result["infoc"] <= 1.0


@pytest.mark.parametrize("make", [synthetic.duplicated_codes, synthetic.cos_sin_codes])
def test_each_factor_in_two_codes_is_modular_not_compact(rng, make):
    # [f, f] and [cos, sin]: each code is about one factor (InfoM about 1) but each factor
    # sits in two of the 8 codes equally: its ratio is 1/2, InfoC = (1/2 - 1/8) / (7/8) = 3/7.
    factors = synthetic.uniform_factors(rng, 3000)
    infom, infoe, infoc = _scores(infomec(make(factors), factors))
    assert infom > 0.98
    assert abs(infoc - 3 / 7) < 0.02
    assert infoe > 0.999


def test_infoe_falls_as_noise_grows(rng):
    # Noise destroys what a linear model can read off the codes; each code stays about its
    # own factor, so InfoM and InfoC hardly move until the codes are pure noise.
    factors = synthetic.uniform_factors(rng, 3000)
    results = [
        infomec(synthetic.noisy_codes(factors, alpha, rng), factors)
        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    infoe = [r["infoe"] for r in results]
    assert all(a > b for a, b in itertools.pairwise(infoe))
    assert infoe[0] > 0.999 and infoe[-1] < 0.01
    assert min(min(r["infom"], r["infoc"]) for r in results[:4]) > 0.9


def test_infom_and_infoc_fall_as_codes_mix(rng):
    # A small continuous noise (0.05) is added: mixed codes of discrete factors are
    # otherwise finite-valued functions of all factors, whose kNN estimates depend on the
    # sample size rather than on alpha.
    factors = synthetic.uniform_factors(rng, 2000)
    noise = rng.normal(size=factors.shape) * 0.05
    results = [
        infomec(synthetic.mixed_codes(factors, alpha) + noise, factors)
        for alpha in (0.0, 1 / 3, 2 / 3, 1.0)
    ]
    for key in ("infom", "infoc"):
        scores = [r[key] for r in results]
        assert all(a > b for a, b in itertools.pairwise(scores)), (key, scores)
    assert results[0]["infom"] > 0.98 and results[-1]["infoc"] < 0.1


def test_permuting_codes_keeps_the_scores(rng):
    factors = synthetic.uniform_factors(rng, 1500)
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    permutation = [3, 1, 0, 2]
    result, permuted = infomec(codes, factors), infomec(codes[:, permutation], factors)
    np.testing.assert_allclose(permuted.arrays["nmi"], result.arrays["nmi"][permutation], atol=1e-3)
    for a, b in zip(_scores(result), _scores(permuted), strict=True):
        assert abs(a - b) < 1e-3  # the tie-breaking noise lands on other columns


# --- Edge cases.


def test_inactive_and_constant_codes(rng):
    factors = synthetic.uniform_factors(rng, 1500)
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    small = codes[:, :1] * 0.01  # range 1/100 of the others: below 1/20, inactive
    result = infomec(np.concatenate([codes, small, np.full((1500, 1), 2.0)], axis=1), factors)
    np.testing.assert_array_equal(result.arrays["active"], [1, 1, 1, 1, 0, 0])
    assert (result.arrays["nmi"][5] == 0).all()
    base = infomec(codes, factors)
    assert abs(result["infom"] - base["infom"]) < 1e-3
    assert abs(result["infoc"] - base["infoc"]) < 1e-3
    # A lower threshold makes the small code active; it duplicates code 0, so InfoC falls.
    lower = infomec(np.concatenate([codes, small], axis=1), factors, active_threshold=0.001)
    assert lower.arrays["active"].all() and lower["infoc"] < base["infoc"] - 0.1


def test_every_code_constant(rng):
    factors = synthetic.uniform_factors(rng, 500)
    result = infomec(np.zeros((500, 3)), factors)
    assert result["infom"] == 0.0 and result["infoc"] == 0.0
    assert abs(result["infoe"]) < 1e-9  # the intercept-only model predicts log K
    assert not result.arrays["active"].any()
    assert any("no active code" in note for note in result.notes)


def test_a_factor_with_one_value_is_skipped(rng):
    factors = synthetic.uniform_factors(rng, 1500)
    codes = synthetic.noisy_codes(factors, 0.5, rng)
    with_constant = np.concatenate([factors[:, :2], np.full((1500, 1), 4), factors[:, 2:]], 1)
    result = infomec(codes, with_constant)
    assert result.notes == ("factor 2 skipped: it takes a single value",)
    assert (result.arrays["nmi"][:, 2] == 0).all()
    assert np.isnan(result.arrays["infoe_per_factor"][2])
    assert not np.isnan(_scores(result)).any()
    with pytest.raises(ValueError, match="every factor takes a single value"):
        infomec(codes, np.zeros((1500, 2), dtype=int))


def test_one_factor(rng):
    factors = rng.integers(0, 4, size=(1000, 1))
    codes = np.concatenate([factors + rng.normal(size=(1000, 1)) * 0.1, factors * 0.5], 1)
    infom, infoe, infoc = _scores(infomec(codes, factors))
    assert infom == 1.0  # both codes carry information about the one factor
    assert abs(infoc - 0.0) < 0.1  # ... equally: no compactness
    assert infoe > 0.99


def test_discrete_codes_are_active_when_they_vary(rng):
    factors = synthetic.uniform_factors(rng, 1000)
    codes = np.concatenate([factors, (factors[:, :1] > 4)], axis=1)
    result = infomec(codes, factors, discrete_codes=True)
    np.testing.assert_array_equal(result.arrays["active"], [1, 1, 1, 1, 1])


# --- Errors.


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_neighbors": 0}, ValueError, "n_neighbors must be an integer >= 1"),
        ({"active_threshold": 1.0}, ValueError, r"active_threshold must be in \[0, 1\)"),
        ({"active_threshold": -0.5}, ValueError, r"active_threshold must be in \[0, 1\)"),
        ({"active_threshold": "0.05"}, TypeError, "active_threshold must be a number"),
        ({"discrete_codes": "yes"}, TypeError, "discrete_codes must be True or False"),
    ],
)
def test_bad_options_are_refused(rng, kwargs, error, match):
    factors = synthetic.uniform_factors(rng, 100)
    with pytest.raises(error, match=match):
        infomec(factors.astype(float), factors, **kwargs)


def test_bad_arrays_are_refused(rng):
    factors = synthetic.uniform_factors(rng, 100)
    codes = factors.astype(float)
    with pytest.raises(ValueError, match="infomec needs at least 11 samples; got 10"):
        infomec(codes[:10], factors[:10])
    with pytest.raises(ValueError, match=r"non-integer values"):
        infomec(codes, factors + 0.5)
    with pytest.raises(ValueError, match="one row per sample; got 99 and 100"):
        infomec(codes[:99], factors)
