"""Modularity and explicitness of Ridgeway & Mozer (2018), "Learning deep disentangled
embeddings with the F-statistic loss", arXiv:1802.05312, as computed by
disentanglement_lib (``evaluation/metrics/modularity_explicitness.py``).

Modularity asks whether each code carries information about one factor only (from the
code × factor mutual-information matrix); explicitness asks whether a linear classifier
reads each factor off the codes (one-vs-rest ROC-AUC of a logistic regression).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from disbench._validation import check_positive_int
from disbench.estimators import mutual_information
from disbench.metrics._utils import (
    check_codes_factors,
    check_same_codes,
    single_valued,
    skipped_factor_notes,
    sklearn_seed,
    train_test,
)
from disbench.metrics.result import MetricResult

_NAME = "modularity_explicitness"


def modularity_explicitness(
    codes: Any,
    factors: Any,
    *,
    test_codes: Any = None,
    test_factors: Any = None,
    num_bins: int = 20,
    rng: int | np.random.Generator | None = 0,
) -> MetricResult:
    """Modularity and explicitness (Ridgeway & Mozer 2018) as in disentanglement_lib.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation of the training rows.
    factors : array-like of shape (n_samples, n_factors), int
        Discrete ground-truth factors, one row per row of ``codes``.
    test_codes : array-like of shape (n_test, n_codes), default=None
        Held-out codes for ``explicitness_test``. With ``test_factors=None`` too, a seeded
        random third of the rows of ``codes`` is held out instead, and the other two thirds
        are the training set (for modularity as well).
    test_factors : array-like of shape (n_test, n_factors), default=None
        The factors of ``test_codes``.
    num_bins : int, default=20
        Bins of disentanglement_lib's histogram discretiser of the codes (modularity only).
    rng : int, numpy.random.Generator or None, default=0
        Seeds the hold-out split (when no test set is given) and the ``random_state`` of the
        logistic regressions.

    Returns
    -------
    MetricResult
        ``scores``: ``modularity``, ``explicitness_train``, ``explicitness_test``, each in
        [0, 1], higher is better. ``arrays``: ``mi_matrix`` (n_codes, n_factors), the
        plug-in MI of the training set in nats; ``modularity_per_code`` (n_codes,);
        ``explicitness_train_per_factor`` and ``explicitness_test_per_factor``
        (n_factors,), NaN for a factor that was skipped (see ``notes``).

    Notes
    -----
    **Modularity.** Codes are discretised per dimension by the 20-bin histogram rule
    (``np.histogram`` edges, as disentanglement_lib), factors are taken as they are, and
    ``m_jk = I(z_j; v_k)`` is the plug-in mutual information in nats (training rows only).
    For each code, with ``k*`` its most informative factor and ``K`` the number of factors,

    .. math:: \\mathrm{mod}_j = 1 - \\frac{\\sum_{k \\ne k^*} m_{jk}^2}{m_{jk^*}^2 (K - 1)},

    and ``mod_j = 0`` for a code with no information about any factor. ``modularity`` is
    the mean over codes. With a single factor (K = 1) every informative code is modular,
    ``mod_j = 1`` (disentanglement_lib divides 0 by 0 there and returns NaN).

    Modularity does not penalise a factor captured by several codes (duplicated codes
    score 1), and codes independent of the factors do not score 0: the plug-in MI of an
    independent code with a factor of ``L`` values is about ``(B - 1)(L - 1) / (2n)``
    (``B`` bins), so the bias alone makes a code look "modular" for the factor with the
    most values.

    **Explicitness.** Codes are standardised with the mean and standard deviation
    (``ddof=0``) of the training rows; the test rows use the same statistics. For each
    factor a ``sklearn.linear_model.LogisticRegression`` with scikit-learn's defaults
    (seeded ``random_state``) is fitted on the training rows; its ``predict_proba`` is
    scored by ROC-AUC of each class against the rest, averaged over the classes (the macro
    average of ``roc_auc_score`` on ``MultiLabelBinarizer`` labels, as disentanglement_lib).
    ``explicitness_train`` and ``explicitness_test`` are the means over factors. A chance
    classifier scores 0.5.

    Edge cases: a factor that takes one value in the training rows is skipped (no
    classifier can be fitted and it has no information to be modular about) and named in
    ``notes``; the scores average over the other factors. A code that is constant in the
    training rows is divided by 1 instead of 0 (it stays constant, and the classifier gives
    it weight 0). Where scikit-learn's default 100 iterations do not reach convergence,
    ``notes`` says so.

    Precision follows the codes, as in disentanglement_lib, whose encoders return float32:
    float32 codes (train and test) are binned with float32 histogram edges and are
    standardised and classified in float32; other codes in float64.

    References
    ----------
    K. Ridgeway and M. C. Mozer, "Learning deep disentangled embeddings with the
    F-statistic loss", NeurIPS 2018, arXiv:1802.05312.
    google-research/disentanglement_lib @86a644d,
    ``disentanglement_lib/evaluation/metrics/modularity_explicitness.py`` (and
    ``utils.normalize_data``, ``utils._histogram_discretize``): reproduced to 1e-12
    (tests/metrics/test_modularity.py, synthetic and real 3D Shapes codes).

    Known differences
    -----------------
    - A test set that lacks some training class (or has a class the training rows do not):
      disentanglement_lib's ``roc_auc_score`` call fails on the mismatched shapes (or, when
      the counts happen to agree, pairs up the wrong columns). Here each training class
      present in the test set is scored against the rest and the mean is over those
      classes; test rows of an unseen class count as negatives of every class. Where
      disentanglement_lib works the numbers are the same.
    - Constant codes: disentanglement_lib divides by a zero standard deviation and the
      logistic regression then fails on NaN; a single-valued factor makes it fail too;
      ``K = 1`` gives it NaN modularity. See above for what happens here.
    - ``LogisticRegression()`` means the defaults of the installed scikit-learn: since
      scikit-learn 0.22 that is L-BFGS with a multinomial (softmax) model.
      disentanglement_lib's published numbers (2018-2019) came from the older default,
      liblinear one-vs-rest, which gives somewhat lower AUCs where a factor is a
      non-monotone function of the codes' linear scores (e.g. 0.95-0.99 instead of 1 for a
      many-valued factor read off a single code).
    - Without a test set, the hold-out third is drawn from ``codes`` (disentanglement_lib
      samples 10,000 training and 5,000 test rows separately).
    - disentanglement_lib's score keys are ``modularity_score``,
      ``explicitness_score_train`` and ``explicitness_score_test``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 4, size=(600, 2))
    >>> result = modularity_explicitness(factors + 0.1 * rng.normal(size=(600, 2)), factors)
    >>> round(result["modularity"], 3), round(result["explicitness_test"], 3)
    (0.998, 1.0)
    >>> mixed = factors @ np.array([[1.0, 0.5], [0.5, 1.0]])   # each code sees both factors
    >>> round(modularity_explicitness(mixed, factors)["modularity"], 2)
    0.02
    >>> result.arrays["mi_matrix"].shape
    (2, 2)
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    given_test = test_codes is not None and test_factors is not None
    codes, factors = check_codes_factors(
        codes, factors, metric=_NAME, min_rows=2 if given_test else 3, keep_float32=True
    )
    if given_test:
        test_codes, test_factors = check_codes_factors(
            test_codes, test_factors, metric=_NAME, min_rows=1, prefix="test_", keep_float32=True
        )
        check_same_codes(codes, test_codes, _NAME)
        if factors.shape[1] != test_factors.shape[1]:
            raise ValueError(
                f"{_NAME}: factors and test_factors must have the same number of columns; "
                f"got {factors.shape[1]} and {test_factors.shape[1]}"
            )
    generator = np.random.default_rng(rng)
    codes, factors, test_codes, test_factors = train_test(
        codes, factors, test_codes, test_factors, generator, metric=_NAME
    )
    random_state = sklearn_seed(generator)
    if codes.dtype != test_codes.dtype:
        # float32 only when both sets are: binned with float32 edges, as np.histogram does,
        # and standardised and fitted in float32, as disentanglement_lib.
        codes, test_codes = codes.astype(np.float64), test_codes.astype(np.float64)

    skipped = single_valued(factors)
    if skipped.all():
        raise ValueError(
            f"{_NAME}: every factor takes a single value in the training rows; "
            "modularity and explicitness need a factor that varies"
        )
    notes = list(skipped_factor_notes(skipped))
    used = np.flatnonzero(~skipped)

    mi = mutual_information(codes, factors, num_bins=num_bins)
    per_code = _modularity_per_code(mi[:, used])

    train_auc, test_auc, explicitness_notes = _explicitness(
        codes, factors, test_codes, test_factors, used, random_state
    )
    notes.extend(explicitness_notes)
    if np.isnan(test_auc).all():
        raise ValueError(
            f"{_NAME}: no factor has two values in the test set, so no test ROC-AUC is "
            "defined; pass a test set in which the factors vary"
        )
    return MetricResult(
        name=_NAME,
        scores={
            "modularity": float(np.mean(per_code)),
            "explicitness_train": float(np.nanmean(train_auc)),
            "explicitness_test": float(np.nanmean(test_auc)),
        },
        arrays={
            "mi_matrix": mi,
            "modularity_per_code": per_code,
            "explicitness_train_per_factor": train_auc,
            "explicitness_test_per_factor": test_auc,
        },
        params={
            "num_bins": num_bins,
            "num_train": int(codes.shape[0]),
            "num_test": int(test_codes.shape[0]),
            "held_out_from_codes": not given_test,
        },
        notes=tuple(notes),
    )


def _modularity_per_code(mi: np.ndarray) -> np.ndarray:
    """Ridgeway & Mozer's modularity of each code from its row of the (D, K) MI matrix.

    The arithmetic is disentanglement_lib's (``modularity``), so the numbers agree to the
    last bit; only the code with no information (0 there too) and K = 1 (1 here, NaN there)
    are handled explicitly.
    """
    squared = np.square(mi)
    top = np.max(squared, axis=1)
    rest = np.sum(squared, axis=1) - top
    informative = top > 0
    # With K = 1 the sum over the other factors is empty: the code is modular.
    denominator = np.where(informative, top * max(squared.shape[1] - 1.0, 1.0), 1.0)
    return np.where(informative, 1.0 - rest / denominator, 0.0)


def _explicitness(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    used: np.ndarray,
    random_state: int,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Train and test ROC-AUC per factor (NaN where skipped or undefined), and notes.

    One classifier per factor, as disentanglement_lib: each is a separate multiclass fit,
    so the loop is over factors, never over (code, factor) pairs.
    """
    mean = codes.mean(axis=0)
    std = codes.std(axis=0)
    constant = std == 0
    # disentanglement_lib divides by std unguarded: a constant code becomes 0/0 = NaN and
    # the fit fails. Dividing by 1 keeps it constant (0), which the classifier ignores.
    scale = np.where(constant, np.ones_like(std), std)
    x_train = (codes - mean) / scale
    x_test = (test_codes - mean) / scale

    notes = []
    if constant.any():
        notes.append(
            f"codes {np.flatnonzero(constant).tolist()} are constant in the training rows: "
            "not standardised (divided by 1)"
        )
    train_auc = np.full(factors.shape[1], np.nan)
    test_auc = np.full(factors.shape[1], np.nan)
    # The fits are many small L-BFGS steps on (n_samples, n_codes) matrices: multithreaded
    # BLAS only adds synchronisation, which on a busy machine made one call 50x slower
    # (90 s instead of 1.9 s at 15,000 x 64). One thread gives the same numbers.
    with threadpool_limits(limits=1, user_api="blas"):
        for k in used:
            train_auc[k], test_auc[k], factor_notes = _explicitness_of_factor(
                x_train, factors[:, k], x_test, test_factors[:, k], k, random_state
            )
            notes.extend(factor_notes)
    return train_auc, test_auc, notes


def _explicitness_of_factor(
    x_train: np.ndarray,
    labels: np.ndarray,
    x_test: np.ndarray,
    test_labels: np.ndarray,
    k: int,
    random_state: int,
) -> tuple[float, float, list[str]]:
    """Train and test mean ROC-AUC of one factor's logistic regression, and notes."""
    notes = []
    classifier = LogisticRegression(random_state=random_state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        classifier.fit(x_train, labels)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(
                f"factor {k}: the logistic regression did not converge in "
                f"{classifier.max_iter} iterations (scikit-learn's default, as "
                "disentanglement_lib)"
            )
        else:  # not ours to swallow
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    classes = classifier.classes_
    train_auc = _mean_class_auc(labels, classifier.predict_proba(x_train), classes)
    test_auc = _mean_class_auc(test_labels, classifier.predict_proba(x_test), classes)
    test_values = np.unique(test_labels)
    missing = np.setdiff1d(classes, test_values)
    unseen = np.setdiff1d(test_values, classes)
    if np.isnan(test_auc):
        notes.append(
            f"factor {k}: takes a single value in the test set, so its test ROC-AUC is "
            "undefined; explicitness_test averages over the other factors"
        )
    elif missing.size or unseen.size:
        notes.append(
            f"factor {k}: the test set lacks training values {missing.tolist()} and has "
            f"unseen values {unseen.tolist()}; its test ROC-AUC averages over the training "
            "values present in the test set"
        )
    return train_auc, test_auc, notes


def _mean_class_auc(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Mean over ``classes`` of the ROC-AUC of ``probabilities[:, c]`` for class c against
    the rest; classes absent from ``labels`` (or all of it) are left out, NaN if none is left.

    Where every class is present this is ``roc_auc_score(MultiLabelBinarizer()
    .fit_transform(labels[:, None]), probabilities)``, disentanglement_lib's call: the macro
    average of one binary ROC-AUC per column. Each binary ROC-AUC is computed here as the
    Mann–Whitney statistic (average ranks for ties), which is the area under the
    trapezoidal ROC curve that scikit-learn integrates, for all columns at once.
    """
    positive = labels[:, None] == classes[None, :]
    n_positive = positive.sum(axis=0)
    n_negative = labels.shape[0] - n_positive
    defined = (n_positive > 0) & (n_negative > 0)
    if not defined.any():
        return float("nan")
    ranks = rankdata(probabilities[:, defined], axis=0)
    n_positive, n_negative = n_positive[defined], n_negative[defined]
    # Rank sums and the subtracted term are exact in float64 (multiples of 0.5 below 2**52).
    u = np.sum(ranks * positive[:, defined], axis=0) - n_positive * (n_positive + 1) / 2.0
    return float(np.mean(u / (n_positive * n_negative)))
