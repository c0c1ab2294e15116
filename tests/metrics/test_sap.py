"""SAP against disentanglement_lib's per-pair loop, closed forms and the expected responses."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.svm import LinearSVC

from disbench.metrics.sap import _fit_linear_svc, _newton, _Problems, _SortedCodes, sap
from tests.metrics import synthetic


def dlib_score_matrix(codes, factors, test_codes, test_factors, **solver):
    """disentanglement_lib's ``compute_score_matrix`` for discrete factors: one
    ``LinearSVC(C=0.01, class_weight="balanced")`` per (code, factor) pair (``solver``:
    other LinearSVC options, e.g. a tighter tolerance)."""
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's occasional ConvergenceWarning
        for i in range(codes.shape[1]):
            for j in range(factors.shape[1]):
                classifier = LinearSVC(C=0.01, class_weight="balanced", **solver)
                classifier.fit(codes[:, i : i + 1], factors[:, j])
                predicted = classifier.predict(test_codes[:, i : i + 1])
                matrix[i, j] = np.mean(predicted == test_factors[:, j])
    return matrix


def dlib_continuous_matrix(codes, factors):
    """disentanglement_lib's ``compute_score_matrix`` for continuous factors."""
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for i in range(codes.shape[1]):
        for j in range(factors.shape[1]):
            cov = np.cov(codes[:, i], factors[:, j], ddof=1)
            if cov[0, 0] > 1e-12:
                matrix[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    return matrix


def dlib_sap(matrix):
    """disentanglement_lib's ``compute_avg_diff_top_two``."""
    ordered = np.sort(matrix, axis=0)
    return float(np.mean(ordered[-1] - ordered[-2]))


def svm_gradient(coef, intercept, code, labels, C=0.01):
    """Gradient of liblinear's primal objective at (coef, intercept), per problem, in
    extended precision: ½(w² + b²) + Σ C_n max(0, 1 - y_n (w z_n + b))²."""
    classes, y = np.unique(labels, return_inverse=True)
    weight = labels.size / (classes.size * np.bincount(y))
    positives = [1] if classes.size == 2 else range(classes.size)
    z = code.astype(np.longdouble)
    out = []
    for p, c in enumerate(positives):
        sign = np.where(y == c, 1.0, -1.0)
        if classes.size == 2:
            c_n = C * weight[y]
        else:
            c_n = np.where(y == c, C * weight[c], C)
        w, b = np.longdouble(coef[p]), np.longdouble(intercept[p])
        margin = w * z + b
        residual = np.where(sign * margin < 1, c_n * (margin - sign), 0.0)
        out.append([w + 2 * np.sum(residual * z), b + 2 * np.sum(residual)])
    return np.abs(np.array(out, dtype=np.float64))


# --- continuous factors ---------------------------------------------------------------


def orthogonal_columns(rng, n, k):
    """k centred, mutually orthogonal columns of sample variance 1 (ddof = 1)."""
    columns = rng.normal(size=(n, k))
    q, _ = np.linalg.qr(columns - columns.mean(axis=0))
    return q * np.sqrt(n - 1)


def test_continuous_closed_form(rng):
    # z = v + e with cov(v, e) = 0 exactly: R² = var v / (var v + var e).
    n = 4_000
    v0, v1, e0, e1 = orthogonal_columns(rng, n, 4).T
    codes = np.stack([v0 + 0.5 * e0, v1 + e1, np.full(n, 3.0)], axis=1)
    factors = np.stack([v0, v1], axis=1)
    result = sap(codes, factors, continuous_factors=True)
    expected = np.array([[1 / 1.25, 0.0], [0.0, 1 / 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(result.arrays["score_matrix"], expected, rtol=0, atol=1e-12)
    assert result["sap"] == pytest.approx((0.8 + 0.5) / 2, abs=1e-12)
    assert result.params == {
        "continuous_factors": True,
        "C": 0.01,
        "num_train": n,
        "num_test": 0,
        "held_out_from_codes": False,
    }
    assert result.notes == ()


def test_continuous_equals_the_reference_loop(rng):
    n = 3_000
    factors = np.column_stack([rng.normal(size=n), rng.uniform(size=n), rng.integers(0, 4, n)])
    codes = np.column_stack(
        [
            factors[:, 0] * 3 + rng.normal(size=n),
            1e3 + 1e-3 * factors[:, 1] + 1e-4 * rng.normal(size=n),
            np.sin(factors[:, 2]) + rng.normal(size=n),
            rng.normal(size=n) * 50,
            np.full(n, 7.0),  # constant: variance 0, score 0
            1.0 + 1e-7 * rng.normal(size=n),  # variance ~1e-14 <= 1e-12: score 0
        ]
    )
    result = sap(codes, factors, continuous_factors=True)
    expected = dlib_continuous_matrix(codes, factors)
    np.testing.assert_allclose(result.arrays["score_matrix"], expected, rtol=0, atol=1e-12)
    assert result["sap"] == pytest.approx(dlib_sap(expected), abs=1e-12)
    assert np.all(result.arrays["score_matrix"][4:] == 0.0)
    # A given test set changes nothing: like disentanglement_lib, R² uses the training rows.
    with_test = sap(
        codes, factors, test_codes=codes[:10], test_factors=factors[:10], continuous_factors=True
    )
    np.testing.assert_array_equal(with_test.arrays["score_matrix"], result.arrays["score_matrix"])


def test_continuous_responses(rng):
    # disentanglement_lib's sap_score_test: identity in [0.9, 1], zero and duplicated codes low.
    factors = synthetic.uniform_factors(rng, n=3000)
    identity = sap(synthetic.identity_codes(factors), factors, continuous_factors=True)
    assert 0.95 <= identity["sap"] <= 1.0
    zeros = sap(np.zeros(factors.shape), factors, continuous_factors=True)
    assert zeros["sap"] == 0.0
    duplicated = sap(synthetic.duplicated_codes(factors), factors, continuous_factors=True)
    assert duplicated["sap"] == pytest.approx(0.0, abs=1e-12)


# --- discrete factors: the solver -------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "scale", "shift"),
    [((2,), 1.0, 0.0), ((2,), 0.2, 3.0), ((3,), 1.0, 0.0), ((7,), 2.0, -5.0), ((12,), 0.5, 1.0)],
)
def test_solver_reaches_the_linear_svc_optimum(sizes, scale, shift, rng):
    n = 2_000
    # Unbalanced, non-contiguous labels: exercises the balanced weights and the label order.
    size = sizes[0]
    labels = 3 * rng.choice(size, size=n, p=np.arange(1, size + 1) / (size * (size + 1) / 2)) + 1
    codes = np.column_stack(
        [
            (labels / 3 + rng.normal(size=n)) * scale + shift,
            (labels / 3 + 2 * rng.normal(size=n)) * scale + shift,
            rng.normal(size=n) * scale + shift,
            np.full(n, shift + 1.0),  # a constant code is a legal input
        ]
    )
    sorted_codes = _SortedCodes(codes)
    _, converged = _newton(_Problems(sorted_codes, labels, 0.01))
    assert converged
    classes, coef, intercept = _fit_linear_svc(sorted_codes, labels, 0.01)
    for i in range(codes.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = LinearSVC(C=0.01, class_weight="balanced", tol=1e-10, max_iter=100_000)
            reference.fit(codes[:, i : i + 1], labels)
        np.testing.assert_array_equal(classes, reference.classes_)
        # Measured: at most 1.3e-7 apart (where liblinear's own stopping rule ends).
        np.testing.assert_allclose(coef[i], reference.coef_[:, 0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(intercept[i], reference.intercept_, rtol=0, atol=1e-5)
        # And ours is the optimum itself: the gradient vanishes (measured: at most 2e-13,
        # liblinear's up to 1.1e-6).
        assert svm_gradient(coef[i], intercept[i], codes[:, i], labels).max() < 1e-8


# --- discrete factors: parity with disentanglement_lib ----------------------------------


def test_discrete_equals_the_reference_loop(rng):
    factors = synthetic.uniform_factors(rng, n=7_500, sizes=(10, 8, 5, 12, 2))
    codes = np.column_stack(
        [
            synthetic.noisy_codes(factors, 0.3, rng),
            synthetic.mixed_codes(factors, 0.5)[:, :2] * 4 - 1,
            2 + 3 * rng.normal(size=(7_500, 2)),
            np.full(7_500, 0.5),
        ]
    )
    train, test = slice(0, 5_000), slice(5_000, None)
    result = sap(codes[train], factors[train], test_codes=codes[test], test_factors=factors[test])
    expected = dlib_score_matrix(codes[train], factors[train], codes[test], factors[test])
    # liblinear stops at tolerance 1e-4, so a test point next to a decision boundary may
    # fall on the other side. Measured: 1 of 50 pairs differs, by 1 test point (4e-4);
    # SAP by 8e-5.
    assert np.abs(result.arrays["score_matrix"] - expected).max() <= 2e-3
    assert abs(result["sap"] - dlib_sap(expected)) <= 2e-3
    assert result.params == {
        "continuous_factors": False,
        "C": 0.01,
        "num_train": 5_000,
        "num_test": 2_500,
        "held_out_from_codes": False,
    }
    np.testing.assert_array_equal(
        result.arrays["gap"],
        np.diff(np.sort(result.arrays["score_matrix"], axis=0)[-2:], axis=0)[0],
    )


def test_codes_far_from_zero_equal_a_converged_reference_loop(rng):
    # The intercept is penalised, so for a code whose mean is many standard deviations
    # from 0 the problem is ill-conditioned and liblinear's default tolerance stops short
    # of the optimum: accuracies then move by up to a few percent (measured here: 1.6e-2
    # against the default loop, 8e-2 against LinearSVC(dual=True), the solver of the
    # scikit-learn releases disentanglement_lib ran on). Run to convergence, liblinear
    # lands on the optimum computed here.
    factors = synthetic.uniform_factors(rng, n=4_500, sizes=(10, 5, 2))
    codes = 100 + np.column_stack(
        [synthetic.noisy_codes(factors, 0.3, rng)[:, :2] * 3, rng.normal(size=4_500)]
    )
    train, test = slice(0, 3_000), slice(3_000, None)
    result = sap(codes[train], factors[train], test_codes=codes[test], test_factors=factors[test])
    expected = dlib_score_matrix(
        codes[train], factors[train], codes[test], factors[test], tol=1e-10, max_iter=100_000
    )
    # Measured: identical matrices.
    assert np.abs(result.arrays["score_matrix"] - expected).max() <= 2e-3


def test_discrete_equals_the_reference_loop_on_real_codes(shapes3d_codes):
    codes, factors = shapes3d_codes.mean, shapes3d_codes.factors
    args = (codes[:10_000], factors[:10_000], codes[10_000:15_000], factors[10_000:15_000])
    result = sap(args[0], args[1], test_codes=args[2], test_factors=args[3])
    expected = dlib_score_matrix(*args)
    # Measured: 2 of 60 pairs differ by 1 test point (2e-4); SAP 0.064067 against 0.064100.
    assert np.abs(result.arrays["score_matrix"] - expected).max() <= 2e-3
    assert abs(result["sap"] - dlib_sap(expected)) <= 2e-3


def test_classes_missing_from_one_side(rng):
    n = 3_000
    factors = rng.integers(0, 4, size=(n, 2))
    codes = factors + 0.7 * rng.normal(size=(n, 2))
    test_codes, test_factors = codes[2_000:].copy(), factors[2_000:].copy()
    keep = test_factors[:, 0] != 3  # class 3 of factor 0 absent from the test rows
    test_codes, test_factors = test_codes[keep], test_factors[keep]
    test_factors[:40, 1] = 9  # a class the classifiers never saw: always wrong
    result = sap(codes[:2_000], factors[:2_000], test_codes=test_codes, test_factors=test_factors)
    expected = dlib_score_matrix(codes[:2_000], factors[:2_000], test_codes, test_factors)
    assert np.abs(result.arrays["score_matrix"] - expected).max() <= 2e-3


# --- discrete factors: responses ------------------------------------------------------------


def test_identity_codes(rng):
    # Binary factors: a one-feature SVM separates its own factor exactly (so the sign
    # convention of the two-class problem is right), while any other code is independent
    # and scores about 1/2: SAP = 1 - (runner-up's accuracy) ≈ 0.5, never 1.
    binary = synthetic.uniform_factors(rng, n=6_000, sizes=(2, 2, 2))
    result = sap(synthetic.identity_codes(binary), binary)
    matrix = result.arrays["score_matrix"]
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    runner_up = np.sort(matrix, axis=0)[-2]
    assert result["sap"] == pytest.approx(np.mean(1 - runner_up), abs=1e-12)
    assert 0.45 <= result["sap"] <= 0.55
    # Many values: a one-vs-rest linear SVM on one ordinal code cannot isolate the middle
    # values, so even the factor's own code is far from perfect (measured 0.26 to 0.62);
    # it is still the best code for its factor, and SAP is well above chance.
    factors = synthetic.uniform_factors(rng, n=6_000)
    result = sap(synthetic.identity_codes(factors), factors)
    matrix = result.arrays["score_matrix"]
    assert np.all(np.argmax(matrix, axis=0) == np.arange(factors.shape[1]))
    assert np.all(np.diag(matrix) < 0.7)
    assert result["sap"] > 0.15


def test_random_codes_score_about_zero(rng):
    factors = synthetic.uniform_factors(rng, n=6_000)
    assert sap(synthetic.random_codes(factors, rng), factors)["sap"] < 0.03


def test_duplicated_codes_score_zero(rng):
    # Two identical copies of every code: equal classifiers, top-two gap exactly 0.
    factors = synthetic.uniform_factors(rng, n=6_000)
    assert sap(synthetic.duplicated_codes(factors), factors)["sap"] == 0.0


def test_mixing_lowers_the_score(rng):
    # Carbonneau's mixing: at alpha = 1 every code is the same mean of all factors, so every
    # factor's top two codes tie and SAP is exactly 0.
    factors = synthetic.uniform_factors(rng, n=6_000)
    scores = [sap(synthetic.mixed_codes(factors, a), factors)["sap"] for a in (0.0, 0.75, 1.0)]
    assert scores[0] > scores[1] > scores[2] == 0.0, scores


def test_noise_lowers_the_score(rng):
    # Binary factors stay separable while the noise (width alpha) is below the gap between
    # the classes (1 - alpha): own accuracy exactly 1; beyond that SAP falls steadily.
    binary = synthetic.uniform_factors(rng, n=6_000, sizes=(2, 2, 2, 2))
    for alpha in (0.0, 0.2, 0.4):
        matrix = sap(synthetic.noisy_codes(binary, alpha, rng), binary).arrays["score_matrix"]
        np.testing.assert_array_equal(np.diag(matrix), 1.0)
    scores = [
        sap(synthetic.noisy_codes(binary, alpha, rng), binary)["sap"]
        for alpha in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    ]
    assert np.all(np.diff(scores) < 0), scores
    assert scores[-1] < 0.03
    # Many-valued factors: SAP falls from moderate noise on. (For small alpha it can rise
    # a little: shrinking and shifting an ordinal code changes which one-vs-rest lines win,
    # and disentanglement_lib's loop gives the same numbers.)
    factors = synthetic.uniform_factors(rng, n=6_000)
    scores = [
        sap(synthetic.noisy_codes(factors, alpha, rng), factors)["sap"]
        for alpha in (0.4, 0.6, 0.8, 1.0)
    ]
    assert np.all(np.diff(scores) < 0), scores


def test_permuting_codes_permutes_rows(rng):
    factors = synthetic.uniform_factors(rng, n=4_500)
    codes = np.column_stack([synthetic.noisy_codes(factors, 0.4, rng), rng.normal(size=4_500)])
    order = rng.permutation(codes.shape[1])
    split = {"test_codes": codes[3_000:], "test_factors": factors[3_000:]}
    result = sap(codes[:3_000], factors[:3_000], **split)
    split["test_codes"] = split["test_codes"][:, order]
    permuted = sap(codes[:3_000, order], factors[:3_000], **split)
    np.testing.assert_array_equal(
        permuted.arrays["score_matrix"], result.arrays["score_matrix"][order]
    )
    assert permuted["sap"] == result["sap"]


# --- edge cases -------------------------------------------------------------------------


@pytest.mark.parametrize("continuous", [False, True])
def test_single_valued_factor_is_skipped(continuous, rng):
    factors = synthetic.uniform_factors(rng, n=3_000, sizes=(4, 3))
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with_constant = np.column_stack([factors[:, 0], np.full(3_000, 5), factors[:, 1]])
    split = {"continuous_factors": continuous}
    if not continuous:
        split.update(test_codes=codes[2_000:], test_factors=with_constant[2_000:])
    result = sap(codes[:2_000], with_constant[:2_000], **split)
    if not continuous:
        split["test_factors"] = factors[2_000:]
    plain = sap(codes[:2_000], factors[:2_000], **split)
    np.testing.assert_array_equal(result.arrays["score_matrix"][:, 1], 0.0)
    np.testing.assert_array_equal(
        result.arrays["score_matrix"][:, [0, 2]], plain.arrays["score_matrix"]
    )
    assert result["sap"] == plain["sap"]
    assert np.isnan(result.arrays["gap"][1])
    assert result.notes == ("factor 1 skipped: it takes a single value",)


def test_default_split_is_a_seeded_third(rng):
    factors = synthetic.uniform_factors(rng, n=3_000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    result = sap(codes, factors, rng=4)
    order = np.random.default_rng(4).permutation(3_000)
    train, test = order[1_000:], order[:1_000]
    explicit = sap(codes[train], factors[train], test_codes=codes[test], test_factors=factors[test])
    np.testing.assert_array_equal(result.arrays["score_matrix"], explicit.arrays["score_matrix"])
    assert result.params["held_out_from_codes"] and not explicit.params["held_out_from_codes"]
    assert (result.params["num_train"], result.params["num_test"]) == (2_000, 1_000)
    assert sap(codes, factors, rng=4).scores == result.scores


def test_single_code(rng):
    factors = synthetic.uniform_factors(rng, n=3_000, sizes=(2, 3))
    codes = factors[:, :1] + 0.1 * rng.normal(size=(3_000, 1))
    result = sap(codes, factors, rng=1)
    assert result.arrays["score_matrix"].shape == (1, 2)
    # No second code: each factor's gap is the code's own score (disentanglement_lib fails).
    np.testing.assert_array_equal(result.arrays["gap"], result.arrays["score_matrix"][0])
    assert result["sap"] == pytest.approx(result.arrays["score_matrix"].mean(), abs=1e-15)


def test_torch_tensors_give_the_numpy_result(rng):
    factors = synthetic.uniform_factors(rng, n=1_500)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    expected = sap(codes, factors)
    assert sap(torch.from_numpy(codes), torch.from_numpy(factors)).scores == expected.scores


def test_errors(rng):
    factors = synthetic.uniform_factors(rng, n=300)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    with pytest.raises(ValueError, match="sap: pass test_codes and test_factors together"):
        sap(codes, factors, test_codes=codes)
    with pytest.raises(ValueError, match="same number of dimensions; got 4 and 3"):
        sap(codes, factors, test_codes=codes[:, :3], test_factors=factors)
    with pytest.raises(ValueError, match="same number of columns; got 4 and 2"):
        sap(codes, factors, test_codes=codes, test_factors=factors[:, :2])
    with pytest.raises(ValueError, match=r"sap needs discrete factors, but factors columns \[0\]"):
        sap(codes, factors + np.array([0.5, 0, 0, 0]))
    with pytest.raises(ValueError, match="C must be a positive finite number; got 0"):
        sap(codes, factors, C=0)
    with pytest.raises(ValueError, match="C must be a positive finite number; got inf"):
        sap(codes, factors, C=float("inf"))
    with pytest.raises(ValueError, match="every factor takes a single value on the training"):
        sap(codes, np.zeros_like(factors))
    with pytest.raises(ValueError, match="sap needs at least 3 samples; got 2 rows"):
        sap(codes[:2], factors[:2])
    with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[1\]"):
        sap(np.where(np.arange(4) == 1, np.nan, codes), factors)
