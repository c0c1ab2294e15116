"""SAP, the Separated Attribute Predictability score.

Kumar, Sattigeri & Balakrishnan 2018, "Variational inference of disentangled latent
concepts from unlabeled observations", ICLR, https://arxiv.org/abs/1711.00848, as
implemented in disentanglement_lib (``evaluation/metrics/sap_score.py``).

Each code is scored as a predictor of each factor on its own: for discrete factors by the
test accuracy of a one-dimensional linear SVM, for continuous factors by the squared
correlation. SAP is, per factor, the gap between the best and the second-best code, averaged
over factors.

disentanglement_lib fits one ``sklearn.svm.LinearSVC`` per (code, factor) pair. Here all those
one-feature SVMs are solved together: each is a strictly convex piecewise-quadratic problem
in two unknowns (slope and intercept), minimised by a batched generalised Newton method whose
sums over the margin-violating points are read from prefix sums over the sorted codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.metrics._utils import (
    check_codes_factors,
    check_same_codes,
    single_valued,
    skipped_factor_notes,
    top_two_gap,
    train_test,
)
from disbench.metrics.result import MetricResult

#: disentanglement_lib's threshold below which a code's variance counts as zero.
_MIN_CODE_VARIANCE = 1e-12
#: Newton stops once a step is this small relative to the iterate (liblinear's primal
#: solver stops at a gradient 1e-4 times the initial one, scaled by min(pos, neg) / l).
_NEWTON_TOL = 1e-12
_NEWTON_MAX_ITER = 100
_LINE_SEARCH_MAX = 60
_ARMIJO = 1e-4
#: Largest number of decision values held at once when predicting the test set.
_PREDICT_CHUNK = 1 << 22


def sap(
    codes: Any,
    factors: Any,
    *,
    test_codes: Any = None,
    test_factors: Any = None,
    continuous_factors: bool = False,
    C: float = 0.01,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """SAP: the mean over factors of the gap between the two codes that predict it best.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_codes)
        The representation of the training rows (a torch tensor is moved to the host).
    factors : array-like of shape (n_samples, n_factors)
        Ground-truth factors of the same rows: integer class labels, or real values with
        ``continuous_factors=True``.
    test_codes, test_factors : array-like of shape (n_test, n_codes), (n_test, n_factors)
        The held-out rows the classifiers are scored on; pass both or neither. When neither
        is given, a seeded random third of the rows is held out (discrete factors), or all
        rows are used (continuous factors, which need no test set).
    continuous_factors : bool, default=False
        Score each (code, factor) pair by the squared correlation on the training rows
        instead of by a classifier.
    C : float, default=0.01
        Inverse regularisation strength of the linear SVMs (disentanglement_lib's value).
    rng : int, numpy.random.Generator or None, default=0
        Seed of the train/test split drawn when no test set is given.

    Returns
    -------
    MetricResult
        ``scores["sap"]`` in [0, 1]; ``arrays["score_matrix"]`` of shape (n_codes,
        n_factors), the per-pair accuracy (discrete) or squared correlation (continuous), and
        ``arrays["gap"]`` (n_factors,), each factor's top-two gap (NaN where skipped).
        ``params`` records ``num_train``, ``num_test`` (0 where no test set is used) and
        ``held_out_from_codes`` (whether the test rows were split off here).

    Notes
    -----
    Discrete factors: the score of code i for factor j is the test accuracy of
    ``LinearSVC(C=C, class_weight="balanced")`` trained on column i alone. That is
    liblinear's primal problem (squared hinge loss, L2 penalty, the intercept an extra
    feature of value 1 that is penalised too), one-vs-rest over the classes of the training
    rows:

    .. math::

        \\min_{w, b} \\tfrac12 (w^2 + b^2)
        + \\sum_n C_n \\max(0, 1 - y_n (w z_n + b))^2, \\quad y_n = \\pm 1,

    with, as in liblinear's ``train``, ``C_n = C · n / (L · n_c)`` for the rows of the
    positive class ``c`` (the balanced weight of ``L`` classes) and plain ``C`` for the rest;
    with two classes a single problem, class 1 positive, each side its own balanced weight.
    The prediction is the class of the largest decision value (the first on ties), or the
    sign with two classes. The problems are solved to a step of 1e-12 (relative), far below
    liblinear's stopping tolerance, so the optimum is the true one; test points within
    liblinear's tolerance of a decision boundary may still be classified differently, which
    moves an accuracy by a few test points at most.

    Continuous factors: the score is ``cov(z_i, v_j)² / (var z_i · var v_j)`` (ddof = 1) on
    the training rows, 0 for a code whose variance is at most 1e-12.

    SAP is the mean over factors of the largest minus the second-largest score in the
    factor's column (the largest alone with a single code). A factor that takes a single
    value on the training rows is skipped with a note: its column is 0 and it is left out
    of the mean. Classes seen only in the test rows are never predicted and count as errors.

    References
    ----------
    .. [1] A. Kumar, P. Sattigeri, A. Balakrishnan. "Variational inference of disentangled
       latent concepts from unlabeled observations". ICLR 2018. arXiv:1711.00848.
    .. [2] google-research/disentanglement_lib @ 86a644d,
       ``evaluation/metrics/sap_score.py`` (``_compute_sap``, ``compute_score_matrix``,
       ``compute_avg_diff_top_two``).

    Known differences
    -----------------
    - The SVMs are solved exactly instead of by liblinear to tolerance 1e-4, so a test point
      next to a decision boundary can land on the other side: on the 3D Shapes VAE codes
      (10,000 / 5,000 rows) 2 of 60 accuracies differ by one test point and SAP by 3e-5.
    - Because the intercept is penalised, a code whose mean lies many standard deviations
      from 0 makes the problem ill-conditioned, and liblinear's default tolerance then stops
      visibly short of the optimum: accuracies moved by up to 2e-2 for codes centred at 100
      (up to 8e-2 with the dual solver of older scikit-learn releases). Here the optimum is
      always reached; LinearSVC run to convergence (``tol=1e-10``) gives the same numbers.
    - A factor with a single value is skipped with a note (disentanglement_lib raises in
      ``LinearSVC`` for discrete factors and divides by zero for continuous ones).
    - With a single code the gap is that code's score (disentanglement_lib fails).
    - Without a test set, the split is drawn here from ``rng``; disentanglement_lib samples
      separate training and test rows from the data set.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 2, size=(3000, 2))
    >>> codes = np.concatenate([factors + 0.1 * rng.normal(size=(3000, 2)),
    ...                         rng.normal(size=(3000, 1))], axis=1)
    >>> result = sap(codes, factors)
    >>> result.arrays["score_matrix"].round(2)  # accuracy of each code (row) per factor
    array([[1.  , 0.52],
           [0.52, 1.  ],
           [0.5 , 0.52]])
    >>> round(result["sap"], 3)  # per factor, 1 minus the runner-up's chance-level accuracy
    0.479
    >>> round(sap(codes, factors, continuous_factors=True)["sap"], 2)
    0.96
    """
    codes, factors = check_codes_factors(
        codes,
        factors,
        metric="sap",
        min_rows=2 if continuous_factors or test_codes is not None else 3,
        discrete_factors=not continuous_factors,
    )
    if (
        isinstance(C, bool)
        or not isinstance(C, (int, float, np.integer, np.floating))
        or not (0 < C < np.inf)
    ):
        raise ValueError(f"sap: C must be a positive finite number; got {C!r}")
    given_test = test_codes is not None and test_factors is not None
    if given_test:
        test_codes, test_factors = check_codes_factors(
            test_codes,
            test_factors,
            metric="sap",
            min_rows=1,
            discrete_factors=not continuous_factors,
            prefix="test_",
        )
        check_same_codes(codes, test_codes, "sap")
        if factors.shape[1] != test_factors.shape[1]:
            raise ValueError(
                "sap: factors and test_factors must have the same number of columns; "
                f"got {factors.shape[1]} and {test_factors.shape[1]}"
            )
    elif not continuous_factors or (test_codes is None) != (test_factors is None):
        codes, factors, test_codes, test_factors = train_test(
            codes, factors, test_codes, test_factors, np.random.default_rng(rng), metric="sap"
        )

    skipped = single_valued(factors)
    if skipped.all():
        raise ValueError(
            "sap: every factor takes a single value on the training rows; nothing to score"
        )
    if continuous_factors:
        matrix = _squared_correlation(codes, factors)
    else:
        matrix = _svm_accuracy(codes, factors, test_codes, test_factors, float(C), skipped)
    matrix[:, skipped] = 0.0
    gap = np.full(matrix.shape[1], np.nan)
    gap[~skipped] = top_two_gap(matrix[:, ~skipped], axis=0)
    return MetricResult(
        name="sap",
        scores={"sap": float(np.mean(gap[~skipped]))},
        arrays={"score_matrix": matrix, "gap": gap},
        params={
            "continuous_factors": bool(continuous_factors),
            "C": float(C),
            "num_train": int(codes.shape[0]),
            "num_test": 0 if test_codes is None else int(test_codes.shape[0]),
            "held_out_from_codes": not given_test and test_codes is not None,
        },
        notes=skipped_factor_notes(skipped),
    )


def _squared_correlation(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """cov(z_i, v_j)² / (var z_i · var v_j) for every pair at once, (n_codes, n_factors).

    ddof = 1 as ``np.cov``; 0 where var z_i ≤ 1e-12 (disentanglement_lib's rule) or the
    factor is constant.
    """
    n = codes.shape[0]
    z = codes - codes.mean(axis=0)
    v = factors - factors.mean(axis=0)
    cov = (z.T @ v) / (n - 1)
    var_z = np.einsum("ni,ni->i", z, z) / (n - 1)
    var_v = np.einsum("nj,nj->j", v, v) / (n - 1)
    denominator = var_z[:, None] * var_v[None, :]
    valid = (var_z[:, None] > _MIN_CODE_VARIANCE) & (denominator > 0)
    return np.divide(cov**2, denominator, out=np.zeros_like(cov), where=valid)


def _svm_accuracy(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    C: float,
    skipped: np.ndarray,
) -> np.ndarray:
    """Test accuracy of the one-feature LinearSVC of every (code, factor) pair."""
    sorted_codes = _SortedCodes(codes)
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    # One factor at a time bounds memory at O(n_samples · n_codes); every (code, class)
    # problem of the factor is solved in one batch.
    for k in np.flatnonzero(~skipped):
        classes, coef, intercept = _fit_linear_svc(sorted_codes, factors[:, k], C)
        matrix[:, k] = _accuracy(test_codes, test_factors[:, k], classes, coef, intercept)
    return matrix


class _SortedCodes:
    """Each code column standardised and sorted, with its prefix sums: what every factor's
    SVM problems share.

    ``x̂ = (z - mean) / std`` (std 1 for a constant code) keeps the prefix sums free of
    cancellation; ``keys`` maps row i's sorted values into [4i, 4i + 1] so a single
    ``np.searchsorted`` over the flattened rows answers threshold queries for every code
    (thresholds are clipped to [4i - 1, 4i + 2], clear of the neighbouring rows). The
    mapping can round a value lying within ~1e-16 · 4d of a threshold to either side; such a
    row sits on its margin, where its loss and its gradient are 0 (to rounding) either way.
    """

    def __init__(self, codes: np.ndarray) -> None:
        n, d = codes.shape
        self.n, self.d = n, d
        self.mean = codes.mean(axis=0)
        std = codes.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        x = ((codes - self.mean) / self.std).T  # (d, n)
        self.order = np.argsort(x, axis=1, kind="stable")
        self.x = np.take_along_axis(x, self.order, axis=1)
        self.low = self.x[:, 0]
        span = self.x[:, -1] - self.low
        self.span = np.where(span > 0, span, 1.0)
        self.rows = np.arange(d)[:, None]
        self.keys = (self._unit(self.x) + 4.0 * self.rows).ravel()
        self.sums = _prefix_sums(self.x)

    def _unit(self, values: np.ndarray) -> np.ndarray:
        """Standardised values mapped to [0, 1] per code (monotone, so order is kept)."""
        return (values - self.low[:, None]) / self.span[:, None]


def _prefix_sums(x: np.ndarray) -> np.ndarray:
    """Stacked prefix sums of x and x² along rows, each with a leading 0: (2, d, n + 1)."""
    out = np.zeros((2, x.shape[0], x.shape[1] + 1))
    np.cumsum(x, axis=1, out=out[0, :, 1:])
    np.cumsum(x * x, axis=1, out=out[1, :, 1:])
    return out


class _Problems:
    """The one-vs-rest squared-hinge problems of one factor, for every code.

    Problem (i, p) has the rows of class ``positive[p]`` as +1 and the other rows as -1,
    weights ``c_pos[p]`` and ``c_neg[p]``. Rows are grouped by class and sorted by code
    within each class, so the rows of one class on one side of a threshold are a contiguous
    run whose sums are two lookups in the prefix sums.
    """

    def __init__(self, sorted_codes: _SortedCodes, labels: np.ndarray, C: float) -> None:
        s = sorted_codes
        self.s = s
        self.classes, y = np.unique(labels, return_inverse=True)
        n_classes = self.classes.size
        counts = np.bincount(y, minlength=n_classes)
        # class_weight="balanced": n / (n_classes · n_c), scikit-learn's compute_class_weight.
        weight = s.n / (n_classes * counts)
        if n_classes == 2:
            # liblinear solves one problem; sklearn's fork makes class 1 the positive side.
            self.positive = np.array([1])
            self.c_pos = np.array([C * weight[1]])
            self.c_neg = np.array([C * weight[0]])
        else:
            # liblinear's train(): weighted_C[c] for the positives, plain C for the rest.
            self.positive = np.arange(n_classes)
            self.c_pos = C * weight
            self.c_neg = np.full(n_classes, C)
        start = np.concatenate([[0], np.cumsum(counts)])
        self.block_start = start[self.positive][None, :]
        self.block_end = start[self.positive + 1][None, :]
        self.block_key = 4.0 * (s.rows * n_classes + self.positive[None, :])
        # Group by class, keeping the code order inside each class (a stable sort).
        label_dtype = np.int16 if n_classes < 2**15 else np.int64
        along = y.astype(label_dtype)[s.order]
        group = np.argsort(along, axis=1, kind="stable")
        x = np.take_along_axis(s.x, group, axis=1)
        class_of = np.repeat(np.arange(n_classes), counts)
        self.keys = (s._unit(x) + 4.0 * (s.rows * n_classes + class_of[None, :])).ravel()
        self.sums = _prefix_sums(x)
        # Regulariser ½(w² + b²) in the standardised parametrisation m = u·x̂ + v, where
        # w = u / std and b = v - u·mean / std: ½ θᵀ R θ with R = AᵀA.
        a = np.zeros((s.d, 1, 2, 2))
        a[:, 0, 0, 0] = 1.0 / s.std
        a[:, 0, 1, 0] = -s.mean / s.std
        a[:, 0, 1, 1] = 1.0
        self.reg = np.swapaxes(a, -1, -2) @ a

    def _run_sums(
        self,
        keys: np.ndarray,
        sums: np.ndarray,
        offset: np.ndarray,
        start: Any,
        end: Any,
        threshold: np.ndarray,
        prefix: np.ndarray,
    ) -> np.ndarray:
        """Count, Σ x̂ and Σ x̂² over the run of a block below (``prefix``) or above the
        threshold: shape (3, d, n_problems)."""
        s = self.s
        unit = np.clip((threshold - s.low[:, None]) / s.span[:, None], -1.0, 2.0) + offset
        base = s.rows * s.n
        below = np.searchsorted(keys, unit, side="left") - base  # count of x̂ < t
        above = np.searchsorted(keys, unit, side="right") - base  # first x̂ > t
        lo = np.where(prefix, start, above)
        hi = np.where(prefix, below, end)
        row_start = s.rows * (s.n + 1)  # rows of ``sums`` are n + 1 long
        flat = sums.reshape(2, -1)
        run = flat[:, hi + row_start] - flat[:, lo + row_start]
        return np.concatenate([(hi - lo)[None].astype(np.float64), run])

    def _violators(self, slope: np.ndarray, bound: np.ndarray, positive: bool) -> np.ndarray:
        """Sums over the rows of the positive class (or of the rest) with slope·x̂ < bound."""
        threshold = np.divide(bound, slope, out=np.zeros_like(bound), where=slope != 0)
        # slope = 0: every row violates when 0 < bound, none otherwise.
        threshold = np.where(slope == 0, np.where(bound > 0, np.inf, -np.inf), threshold)
        prefix = slope >= 0
        own = self._run_sums(
            self.keys,
            self.sums,
            self.block_key,
            self.block_start,
            self.block_end,
            threshold,
            prefix,
        )
        if positive:
            return own
        every = self._run_sums(
            self.s.keys, self.s.sums, 4.0 * self.s.rows, 0, self.s.n, threshold, prefix
        )
        return every - own

    def evaluate(self, theta: np.ndarray, hessian: bool = True):
        """Objective, gradient and (generalised) Hessian at θ = (u, v), shape (d, P, 2)."""
        u, v = theta[..., 0], theta[..., 1]
        # Positives violate where u·x̂ + v < 1, i.e. u·x̂ < 1 - v; loss Σ (1 - v - u x̂)².
        # Negatives violate where u·x̂ + v > -1, i.e. -u·x̂ < 1 + v; loss Σ (1 + v + u x̂)².
        r_pos, r_neg = 1.0 - v, 1.0 + v
        n_p, s1_p, s2_p = self._violators(u, r_pos, positive=True)
        n_n, s1_n, s2_n = self._violators(-u, r_neg, positive=False)
        cp, cn = self.c_pos[None, :], self.c_neg[None, :]
        reg_theta = np.einsum("dpij,dpj->dpi", np.broadcast_to(self.reg, (*u.shape, 2, 2)), theta)
        f = (
            0.5 * np.einsum("dpi,dpi->dp", theta, reg_theta)
            + cp * (r_pos**2 * n_p - 2.0 * r_pos * u * s1_p + u**2 * s2_p)
            + cn * (r_neg**2 * n_n + 2.0 * r_neg * u * s1_n + u**2 * s2_n)
        )
        grad = reg_theta + 2.0 * np.stack(
            [
                cp * (u * s2_p - r_pos * s1_p) + cn * (u * s2_n + r_neg * s1_n),
                cp * (u * s1_p - r_pos * n_p) + cn * (u * s1_n + r_neg * n_n),
            ],
            axis=-1,
        )
        if not hessian:
            return f, grad, None
        h = self.reg + 2.0 * np.stack(
            [
                np.stack([cp * s2_p + cn * s2_n, cp * s1_p + cn * s1_n], axis=-1),
                np.stack([cp * s1_p + cn * s1_n, cp * n_p + cn * n_n], axis=-1),
            ],
            axis=-2,
        )
        return f, grad, h


def _newton(problems: _Problems) -> tuple[np.ndarray, bool]:
    """Minimise every problem of ``problems`` at once; θ = (u, v) of shape (d, P, 2).

    Generalised Newton on the piecewise-quadratic objective: the Hessian is that of the
    current set of margin violators (positive definite thanks to the penalty), the step is
    cut in half until it decreases the objective (Armijo) or the directional derivative at
    the trial point is still ≤ 0 (by convexity the objective has then decreased too; this
    keeps the search robust to rounding near the optimum). Once the violators no longer
    change, a full step lands on the minimiser.
    """
    theta = np.zeros((problems.s.d, problems.positive.size, 2))
    converged = False
    for _ in range(_NEWTON_MAX_ITER):
        f, grad, h = problems.evaluate(theta)
        det = h[..., 0, 0] * h[..., 1, 1] - h[..., 0, 1] * h[..., 1, 0]
        step = (
            -np.stack(
                [
                    h[..., 1, 1] * grad[..., 0] - h[..., 0, 1] * grad[..., 1],
                    h[..., 0, 0] * grad[..., 1] - h[..., 1, 0] * grad[..., 0],
                ],
                axis=-1,
            )
            / det[..., None]
        )
        size = np.abs(step).max(axis=-1)
        active = size > _NEWTON_TOL * (1.0 + np.abs(theta).max(axis=-1))
        if not active.any():
            converged = True
            break
        slope = np.einsum("dpi,dpi->dp", grad, step)
        t = np.ones_like(f)
        accept = ~active
        for _ in range(_LINE_SEARCH_MAX):
            trial = theta + t[..., None] * step
            f_t, grad_t, _ = problems.evaluate(trial, hessian=False)
            ok = (f_t <= f + _ARMIJO * t * slope) | (np.einsum("dpi,dpi->dp", grad_t, step) <= 0)
            newly = ok & ~accept
            theta = np.where(newly[..., None], trial, theta)
            accept |= ok
            if accept.all():
                break
            t = np.where(accept, t, 0.5 * t)
    return theta, converged


def _fit_linear_svc(
    sorted_codes: _SortedCodes, labels: np.ndarray, C: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LinearSVC(C=C, class_weight="balanced")`` fitted to each code alone.

    Returns the classes (n_classes,), and ``coef`` and ``intercept`` of shape
    (n_codes, n_problems): one problem for two classes, one per class otherwise, in
    scikit-learn's order and sign convention (``coef_[p, 0]``, ``intercept_[p]``).
    """
    problems = _Problems(sorted_codes, labels, C)
    theta, _ = _newton(problems)
    s = sorted_codes
    u, v = theta[..., 0], theta[..., 1]
    coef = u / s.std[:, None]
    intercept = v - u * (s.mean / s.std)[:, None]
    return problems.classes, coef, intercept


def _accuracy(
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    classes: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
) -> np.ndarray:
    """Accuracy on the test rows of every code's classifier, (n_codes,)."""
    n_test, d = test_codes.shape
    index = np.searchsorted(classes, test_labels)
    index = np.minimum(index, classes.size - 1)
    truth = np.where(classes[index] == test_labels, index, -1)  # -1: a class never trained on
    correct = np.zeros(d)
    chunk = max(1, _PREDICT_CHUNK // (d * coef.shape[1]))
    for begin in range(0, n_test, chunk):  # chunks of rows bound memory only
        z = test_codes[begin : begin + chunk]
        decision = z[:, :, None] * coef[None] + intercept[None]  # (rows, d, n_problems)
        if classes.size == 2:
            predicted = (decision[..., 0] > 0).astype(np.int64)
        else:
            predicted = np.argmax(decision, axis=-1)  # the first maximum, as scikit-learn
        correct += (predicted == truth[begin : begin + chunk, None]).sum(axis=0)
    return correct / n_test
