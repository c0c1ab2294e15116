"""The public estimators: ``mutual_information`` for a whole (code, factor) matrix in one
call, and ``entropy`` per column. numpy in, numpy out; torch in, torch out on the same device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import (
    check_choice,
    check_matrix,
    check_positive_int,
    check_same_backend,
    check_same_rows,
)
from disbench.estimators._backend import ops_for
from disbench.estimators.discrete import (
    entropy_from_counts,
    label_counts,
    mutual_information_discrete,
)
from disbench.estimators.discretize import STRATEGIES, _discretize
from disbench.estimators.knn import (
    add_jitter,
    mutual_information_knn_cd,
    mutual_information_ksg,
)

ESTIMATORS = ("plugin", "miller_madow", "knn_cd", "ksg")
ENTROPY_ESTIMATORS = ("plugin", "miller_madow")
NORMALIZATIONS = ("none", "factor", "code", "arithmetic", "geometric")


def mutual_information(
    codes: Any,
    factors: Any,
    *,
    estimator: str = "plugin",
    num_bins: int = 20,
    code_discretizer: str = "histogram",
    factor_discretizer: str = "unique",
    n_neighbors: int = 3,
    normalization: str | None = None,
    jitter: float = 0.0,
    random_state: int | np.random.Generator = 0,
) -> Any:
    """Mutual information I(z_j; v_k) of every code with every factor, in nats.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation. A 1-D input is one column.
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors, one row per row of ``codes``; of the same kind as ``codes``
        (both numpy or both torch on one device).
    estimator : {"plugin", "miller_madow", "knn_cd", "ksg"}, default="plugin"
        - ``"plugin"``: codes discretised by ``code_discretizer``, factors by
          ``factor_discretizer``, then the maximum-likelihood estimate
          ``Σ p(a, b) log(p(a, b) / (p(a) p(b)))``, as ``sklearn.metrics.mutual_info_score``.
        - ``"miller_madow"``: the plug-in estimate with the Miller–Madow bias correction of
          each entropy, ``H + (m - 1) / (2n)`` with ``m`` the number of occupied cells.
        - ``"knn_cd"``: continuous codes against discrete factors, the k-nearest-neighbour
          estimator of Ross (2014) with ``n_neighbors``; codes are not discretised.
        - ``"ksg"``: continuous codes against continuous factors, Kraskov et al. (2004),
          estimator 1, with ``n_neighbors``; nothing is discretised.
    num_bins : int, default=20
        Bins of the binning discretisers.
    code_discretizer, factor_discretizer : {"histogram", "equal_width", "quantile", "unique"}
        How codes (default ``"histogram"``, disentanglement_lib's) and factors (default
        ``"unique"``: each distinct value is a class) are made discrete for the plug-in
        estimators; ``knn_cd`` uses only ``factor_discretizer``. See ``discretize``.
    n_neighbors : int, default=3
        ``k`` of the nearest-neighbour estimators (scikit-learn's default).
    normalization : {None, "none", "factor", "code", "arithmetic", "geometric"}, default=None
        Divide I(z_j; v_k) by H(v_k), H(z_j), their arithmetic mean or their geometric mean
        (plug-in entropies of the discretised variables, Miller–Madow ones with that
        estimator). A pair whose normaliser is 0 has I = 0 and gets 0. ``knn_cd`` allows only
        ``"factor"``; ``ksg`` allows none.
    jitter : float, default=0.0
        Nearest-neighbour estimators only: add Gaussian noise of standard deviation
        ``jitter · max(std, mean |x|)`` to each continuous column before the search, to
        break ties (scikit-learn always adds it, with ``jitter = 1e-10``). 0 adds none.
    random_state : int or numpy.random.Generator, default=0
        Seeds the jitter.

    Returns
    -------
    mi : ndarray or torch.Tensor of shape (n_codes, n_factors), float64
        Estimates in nats (or normalised), clipped below at 0.

    Notes
    -----
    All pairs are computed together, never in a Python loop over pairs. The plug-in
    estimators count every joint histogram of one factor with one ``bincount``; the
    nearest-neighbour estimators search sorted columns, since each pair is one-dimensional.
    Memory is O(n_samples · (n_codes + n_factors)) plus the occupied joint cells.

    Tie policy of the nearest-neighbour estimators: no noise is added unless ``jitter`` asks
    for it. On tie-free data the numbers are then scikit-learn's (``mutual_info_classif``,
    ``mutual_info_regression``; their private ``_compute_mi_cd`` and ``_compute_mi_cc`` to
    1e-9), whose own 1e-10 noise changes a neighbour count only for near-equal distances.
    Tied values are counted by the rule in ``disbench.estimators.knn``: a neighbour at
    exactly the k-th distance is not "strictly closer". Heavily tied codes (quantised, or
    with many repeated values) can then make every k-th distance 0 and the estimate
    collapse to 0; pass ``jitter=1e-10`` for scikit-learn's tie-breaking, or use the
    plug-in estimator with ``code_discretizer="unique"`` for codes that are discrete.

    References
    ----------
    B. C. Ross, "Mutual information between discrete and continuous data sets", PLoS ONE
    9(2), 2014. A. Kraskov, H. Stögbauer, P. Grassberger, "Estimating mutual information",
    Phys. Rev. E 69, 2004. G. A. Miller, "Note on the bias of information estimates", 1955.
    scikit-learn ``sklearn/feature_selection/_mutual_info.py`` and
    ``sklearn/metrics/cluster/_supervised.py`` (1.9).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.repeat(np.arange(4), 24)
    >>> z = np.stack([v + 0.5, np.tile(np.arange(4), 24)], axis=1)
    >>> mutual_information(z, v, code_discretizer="unique").round(4).tolist()
    [[1.3863], [0.0]]
    >>> nmi = mutual_information(z, v, code_discretizer="unique", normalization="factor")
    >>> nmi.round(12).tolist()
    [[1.0], [0.0]]
    """
    check_choice(estimator, "estimator", ESTIMATORS)
    check_choice(code_discretizer, "code_discretizer", STRATEGIES)
    check_choice(factor_discretizer, "factor_discretizer", STRATEGIES)
    normalization = "none" if normalization is None else normalization
    check_choice(normalization, "normalization", NORMALIZATIONS)
    num_bins = check_positive_int(num_bins, "num_bins")
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if not jitter >= 0:
        raise ValueError(f"jitter must be >= 0; got {jitter!r}")
    check_same_backend(codes, factors, ("codes", "factors"))
    codes = check_matrix(codes, "codes")
    factors = check_matrix(factors, "factors")
    check_same_rows(codes, factors, ("codes", "factors"))
    allowed = {"knn_cd": ("none", "factor"), "ksg": ("none",)}.get(estimator, NORMALIZATIONS)
    if normalization not in allowed:
        raise ValueError(
            f"normalization={normalization!r} needs the entropy of discrete variables, which "
            f"estimator={estimator!r} does not have; use one of {', '.join(allowed)}"
        )
    if estimator in ("knn_cd", "ksg") and n_neighbors >= codes.shape[0]:
        raise ValueError(
            f"n_neighbors={n_neighbors} needs more than {n_neighbors} samples; got {codes.shape[0]}"
        )

    if jitter > 0 and estimator in ("knn_cd", "ksg"):
        code_seed, factor_seed = np.random.default_rng(random_state).integers(2**63, size=2)
        codes = add_jitter(codes, jitter, int(code_seed))
        if estimator == "ksg":
            factors = add_jitter(factors, jitter, int(factor_seed))
    if estimator == "ksg":
        return mutual_information_ksg(codes, factors, n_neighbors=n_neighbors)
    factor_labels, factor_sizes = _discretize(factors, factor_discretizer, num_bins)
    miller_madow = estimator == "miller_madow"
    if estimator == "knn_cd":
        mi = mutual_information_knn_cd(codes, factor_labels, factor_sizes, n_neighbors=n_neighbors)
    else:
        code_labels, code_sizes = _discretize(codes, code_discretizer, num_bins)
        mi = mutual_information_discrete(
            code_labels, code_sizes, factor_labels, factor_sizes, miller_madow=miller_madow
        )
    if normalization == "none":
        return mi
    code_entropy = None
    if normalization != "factor":
        code_entropy = _label_entropy(code_labels, code_sizes, miller_madow)
    factor_entropy = _label_entropy(factor_labels, factor_sizes, miller_madow)
    return _normalize(mi, code_entropy, factor_entropy, normalization)


def entropy(
    x: Any,
    *,
    estimator: str = "plugin",
    discretizer: str = "unique",
    num_bins: int = 20,
) -> Any:
    """Entropy H(x_j) of each column, in nats.

    Parameters
    ----------
    x : array-like or torch.Tensor of shape (n_samples, n_columns)
        Values; a 1-D input is one column.
    estimator : {"plugin", "miller_madow"}, default="plugin"
        ``H = -Σ_v p_v log p_v`` with ``p_v`` the observed frequencies, or that plus the
        Miller–Madow correction ``(m - 1) / (2n)``, ``m`` the number of observed values.
    discretizer : {"unique", "histogram", "equal_width", "quantile"}, default="unique"
        How columns are made discrete first (see ``discretize``); ``"unique"`` takes each
        distinct value as a class.
    num_bins : int, default=20
        Bins of the binning discretisers.

    Returns
    -------
    h : ndarray or torch.Tensor of shape (n_columns,), float64
        Entropies in nats. A constant column has entropy 0.

    Notes
    -----
    The plug-in value equals disentanglement_lib's ``discrete_entropy`` (there computed as
    ``mutual_info_score(y, y)``).

    Examples
    --------
    >>> import numpy as np
    >>> entropy(np.arange(8) % 4).round(6).tolist()
    [1.386294]
    >>> entropy(np.zeros(5)).tolist()
    [0.0]
    """
    check_choice(estimator, "estimator", ENTROPY_ESTIMATORS)
    check_choice(discretizer, "discretizer", STRATEGIES)
    num_bins = check_positive_int(num_bins, "num_bins")
    x = check_matrix(x, "x")
    labels, sizes = _discretize(x, discretizer, num_bins)
    return _label_entropy(labels, sizes, estimator == "miller_madow")


def _label_entropy(labels: Any, sizes: np.ndarray, miller_madow: bool) -> Any:
    counts = label_counts(labels, sizes)
    return entropy_from_counts(counts, labels.shape[0], miller_madow=miller_madow)


def _normalize(mi: Any, code_entropy: Any, factor_entropy: Any, normalization: str) -> Any:
    xp = ops_for(mi).xp
    if normalization == "factor":
        denominator = factor_entropy[None, :] + 0.0 * mi
    elif normalization == "code":
        denominator = code_entropy[:, None] + 0.0 * mi
    elif normalization == "arithmetic":
        denominator = (code_entropy[:, None] + factor_entropy[None, :]) / 2.0
    else:
        denominator = xp.sqrt(code_entropy[:, None] * factor_entropy[None, :])
    positive = denominator > 0
    return xp.where(positive, mi / xp.where(positive, denominator, 1.0), 0.0)
