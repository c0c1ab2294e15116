"""InfoMEC: information-based modularity (InfoM), explicitness (InfoE) and compactness (InfoC).

K. Hsu, W. Dorrell, J. C. R. Whittington, J. Wu, C. Finn, "Disentanglement via latent
quantization", NeurIPS 2023, arXiv:2305.18378.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse

from disbench._validation import check_positive_int
from disbench.estimators import discretize, mutual_information
from disbench.metrics._utils import check_codes_factors, single_valued, skipped_factor_notes
from disbench.metrics.result import MetricResult

#: Standard deviation of the tie-breaking noise, relative to each standardised code, that
#: ``sklearn.feature_selection.mutual_info_classif`` (the reference's estimator) adds.
_JITTER = 1e-10
#: The reference's logistic regression: lbfgs, tolerance and iteration cap.
_SOLVER, _TOL, _MAX_ITER = "lbfgs", 1e-4, 100


def infomec(
    codes: Any,
    factors: Any,
    *,
    n_neighbors: int = 10,
    discrete_codes: bool = False,
    active_threshold: float = 0.05,
    rng: int | np.random.Generator = 0,
) -> MetricResult:
    """InfoM, InfoE and InfoC: modularity, explicitness and compactness measured in nats.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation: continuous codes, or discrete ones with ``discrete_codes=True``.
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors, integer classes (each distinct value is a class).
    n_neighbors : int, default=10
        k of the continuous–discrete kNN estimator of I(z_j; s_i) (the reference's value).
    discrete_codes : bool, default=False
        Take each distinct value of a code as a class: I(z_j; s_i) by the plug-in estimator,
        and the logistic regressions of InfoE on one-hot codes.
    active_threshold : float, default=0.05
        A continuous code is active when its range (max - min) exceeds this fraction of the
        largest range (the reference's 1/20). A discrete code is active when it takes more
        than one value, as in the reference. In [0, 1).
    rng : int or numpy.random.Generator, default=0
        Seeds the tie-breaking noise of the kNN estimator and the logistic regressions.

    Returns
    -------
    MetricResult
        ``scores``: ``"infom"``, ``"infoe"``, ``"infoc"``, each at most 1, 1 best (InfoE is
        about 0 for codes unrelated to the factors; InfoM and InfoC need not be, see Notes).
        ``arrays``: ``"nmi"`` (n_codes, n_factors) I(z_j; s_i) / H(s_i) (a kNN estimate may
        exceed 1 by a little), 0 for a constant code or a skipped factor; ``"active"``
        (n_codes,) the mask of active codes; ``"infoe_per_factor"`` (n_factors,) each
        factor's normalised predictive information, NaN for a skipped factor. ``notes`` name
        skipped factors, regressions stopped by the iteration cap, and a representation
        without active codes.

    Notes
    -----
    With NMI_ji = I(z_j; s_i) / H(s_i) (nats; H the plug-in entropy of the factor), over the
    L active codes and the K factors:

    .. math::

        \\mathrm{InfoM} = \\frac{1}{1 - 1/K}\\left(\\frac{1}{L} \\sum_j
            \\frac{\\max_i \\mathrm{NMI}_{ji}}{\\sum_i \\mathrm{NMI}_{ji}} - \\frac{1}{K}\\right),
        \\qquad
        \\mathrm{InfoC} = \\frac{1}{1 - 1/L}\\left(\\frac{1}{K} \\sum_i
            \\frac{\\max_j \\mathrm{NMI}_{ji}}{\\sum_j \\mathrm{NMI}_{ji}} - \\frac{1}{L}\\right)

    .. math::

        \\mathrm{InfoE} = \\frac{1}{K} \\sum_i \\frac{\\log K_i - \\mathrm{CE}_i}{\\log K_i}

    where K_i is the number of values of factor i and CE_i the mean in-sample cross-entropy
    (nats) of an unregularised multinomial logistic regression with balanced class weights
    predicting s_i from all standardised codes (lbfgs, tol 1e-4, at most 100 iterations:
    the reference's settings; one-hot codes with ``discrete_codes``).

    Continuous codes are standardised, and I(z_j; s_i) is Ross's kNN estimate (the one of
    ``sklearn.feature_selection.mutual_info_classif``) with its tie-breaking noise of
    standard deviation 1e-10 drawn from ``rng``: without it, codes with repeated values
    (e.g. quantised ones) would have k-th neighbour distances of 0 and estimates of 0.

    Conventions where the reference divides by zero:

    - a code (factor) whose NMI is 0 with every factor (active code) gets the chance ratio
      1/K (1/L), so it contributes 0 to the normalised mean, never NaN;
    - with one factor (K = 1) InfoM is the fraction of active codes that carry information
      (their ratio is 1, the uninformative ones 0), and with one active code (L = 1) InfoC is
      the fraction of factors that code carries information about: the same 1 or 0 per code
      (factor) as the general formula gives for a perfect or an empty one;
    - with no active code (every code constant) InfoM and InfoC are 0;
    - a factor with one value (H = 0) is skipped by all three scores and named in ``notes``,
      K counts the other factors; if every factor has one value, ``ValueError``.

    InfoM and InfoC compare small estimates with each other: for codes unrelated to the
    factors every NMI is a small bias of the estimator (about 0.001 at 10,000 rows, clipped
    at 0) and their ratios are noise, so InfoM and InfoC of random codes are not reliably
    near 0; InfoE is (about 0.001).

    References
    ----------
    K. Hsu et al. 2023, arXiv:2305.18378, section 5.1 and appendix. Reference
    implementation kylehkhsu/latent_quantization @4ba4c9d,
    ``disentangle/metrics/infomec.py`` (``compute_infomec``, ``compute_nmi``,
    ``compute_infoe``, ``logistic_regression``). B. C. Ross, PLoS ONE 9(2), 2014.

    Known differences
    -----------------
    - The reference's kNN noise comes from an unseeded generator, so its NMI changes from
      run to run in the last digits; here it is drawn from ``rng``.
    - The reference's denominator of InfoE is the cross-entropy of an intercept-only
      logistic regression fitted to the same factor; with balanced class weights its
      optimum is the uniform distribution, where the solver starts, so it is log K_i up to
      rounding, which is what is used here.
    - ``C=inf`` stands for the reference's ``penalty=None`` (the same objective; scikit-learn
      1.8 deprecates ``penalty``), and binary factors are fitted by a logistic rather than a
      two-class softmax regression (the reference's ``multi_class="multinomial"``, which
      scikit-learn deprecated in 1.5 and has since removed): the optimum's probabilities
      are the same.
    - The reference divides by zero for one factor, one active code, a factor with one
      value, or a code without information (NaN scores); the conventions above replace
      those cases.
    - Sampling (10,000 rows in disbench's suite) is the evaluate pipeline's job.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.integers(0, 3, size=(600, 2))
    >>> result = infomec(factors.astype(float), factors)   # one code per factor
    >>> [round(result[key], 1) for key in ("infom", "infoe", "infoc")]
    [1.0, 1.0, 1.0]
    >>> twice = infomec(np.concatenate([factors, factors], axis=1).astype(float), factors)
    >>> round(twice["infom"], 1), round(twice["infoc"], 1)   # modular, not compact
    (1.0, 0.3)
    """
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if not isinstance(discrete_codes, (bool, np.bool_)):
        raise TypeError(f"discrete_codes must be True or False; got {discrete_codes!r}")
    if isinstance(active_threshold, bool) or not isinstance(
        active_threshold, (int, float, np.number)
    ):
        raise TypeError(f"active_threshold must be a number in [0, 1); got {active_threshold!r}")
    if not 0.0 <= active_threshold < 1.0:
        raise ValueError(f"active_threshold must be in [0, 1); got {active_threshold!r}")
    params = {
        "n_neighbors": n_neighbors,
        "discrete_codes": bool(discrete_codes),
        "active_threshold": float(active_threshold),
    }
    codes, factors = check_codes_factors(
        codes,
        factors,
        metric="infomec",
        min_rows=2 if discrete_codes else n_neighbors + 1,
    )
    labels = discretize(factors, strategy="unique")
    skipped = single_valued(labels)
    if skipped.all():
        raise ValueError(
            "infomec is undefined: every factor takes a single value (entropy 0); "
            "it needs at least one factor that varies"
        )
    kept = np.flatnonzero(~skipped)
    seeds = np.random.default_rng(rng).integers(2**31 - 1, size=2)
    jitter_seed, model_seed = int(seeds[0]), int(seeds[1])

    nmi = _nmi(codes, labels, kept, discrete_codes, n_neighbors, jitter_seed)
    ranges = codes.max(axis=0) - codes.min(axis=0)
    active = ranges > (0.0 if discrete_codes else active_threshold * ranges.max())
    notes = list(skipped_factor_notes(skipped))
    if active.any():
        infom, infoc = _infom_infoc(nmi[np.ix_(active, kept)])
    else:
        infom = infoc = 0.0
        notes.append("every code is constant: no active code, infom and infoc are 0")
    infoe_per_factor = np.full(labels.shape[1], np.nan)
    features = _features(codes, discrete_codes)
    for k in kept:  # one regression per factor: the loop is over factors, not pairs
        infoe_per_factor[k], converged = _predictive_information(features, labels[:, k], model_seed)
        if not converged:
            notes.append(
                f"factor {k}: the logistic regression stopped at max_iter={_MAX_ITER} before "
                "converging, as the reference's does (InfoE is then a lower bound)"
            )
    return MetricResult(
        name="infomec",
        scores={
            "infom": float(infom),
            "infoe": float(np.mean(infoe_per_factor[kept])),
            "infoc": float(infoc),
        },
        arrays={"nmi": nmi, "active": active, "infoe_per_factor": infoe_per_factor},
        params=params,
        notes=tuple(notes),
    )


def _nmi(
    codes: np.ndarray,
    labels: np.ndarray,
    kept: np.ndarray,
    discrete_codes: bool,
    n_neighbors: int,
    seed: int,
) -> np.ndarray:
    """I(z_j; s_i) / H(s_i) (n_codes, n_factors), 0 for constant codes and skipped factors."""
    nmi = np.zeros((codes.shape[1], labels.shape[1]))
    varying = ~single_valued(codes)
    if not varying.any():
        return nmi
    if discrete_codes:
        block = mutual_information(
            codes[:, varying],
            labels[:, kept],
            estimator="plugin",
            code_discretizer="unique",
            factor_discretizer="unique",
            normalization="factor",
        )
    else:
        block = mutual_information(
            _standardize(codes[:, varying]),
            labels[:, kept],
            estimator="knn_cd",
            factor_discretizer="unique",
            n_neighbors=n_neighbors,
            normalization="factor",
            jitter=_JITTER,
            random_state=seed,
        )
    nmi[np.ix_(varying, kept)] = block
    return nmi


def _infom_infoc(nmi: np.ndarray) -> tuple[float, float]:
    """InfoM and InfoC of an (active codes, factors) NMI matrix with entries >= 0.

    InfoM normalises each code's concentration max_i / Σ_i over the factors, InfoC each
    factor's over the codes; see ``infomec`` for the conventions at zero rows and for a
    single factor or code.
    """
    return _concentration(nmi, axis=1), _concentration(nmi, axis=0)


def _concentration(nmi: np.ndarray, axis: int) -> float:
    """Mean over slices of (max / sum - 1/n) / (1 - 1/n), n the length along ``axis``.

    A slice whose sum is 0 scores 0 (its ratio is the chance value 1/n). With n = 1 the
    normaliser is 0: a slice then scores 1 if it carries information, else 0.
    """
    n = nmi.shape[axis]
    total = nmi.sum(axis=axis)
    informative = total > 0
    if n == 1:
        return float(np.mean(informative))
    ratio = np.where(informative, nmi.max(axis=axis) / np.where(informative, total, 1.0), 1.0 / n)
    return float((np.mean(ratio) - 1.0 / n) / (1.0 - 1.0 / n))


def _standardize(codes: np.ndarray) -> np.ndarray:
    """Zero mean and unit (population) standard deviation per column, as ``StandardScaler``;
    a constant column becomes 0."""
    std = codes.std(axis=0)
    return (codes - codes.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _features(codes: np.ndarray, discrete_codes: bool) -> Any:
    """The regressors of InfoE: every code standardised, or one-hot (sparse) per value."""
    if not discrete_codes:
        return _standardize(codes)
    values = discretize(codes, strategy="unique")
    offsets = np.concatenate([[0], np.cumsum(values.max(axis=0) + 1)])
    n, d = values.shape
    columns = (values + offsets[:-1]).ravel()
    rows = np.repeat(np.arange(n), d)
    return scipy.sparse.csr_matrix((np.ones(n * d), (rows, columns)), shape=(n, int(offsets[-1])))


def _predictive_information(features: Any, labels: np.ndarray, seed: int) -> tuple[float, bool]:
    """(log K - CE) / log K of one factor, and whether the regression converged.

    CE is the in-sample mean cross-entropy, in nats, of the reference's logistic regression
    (unregularised, balanced class weights, lbfgs, tol 1e-4, at most 100 iterations), with
    probabilities clipped as ``sklearn.metrics.log_loss`` clips them.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from threadpoolctl import threadpool_limits

    classes = int(labels.max()) + 1  # labels are 0..K-1, every one present
    model = LogisticRegression(
        C=np.inf,
        class_weight="balanced",
        solver=_SOLVER,
        tol=_TOL,
        max_iter=_MAX_ITER,
        random_state=seed,
    )
    # One BLAS thread: L-BFGS-B's many tiny BLAS calls run up to 30x slower with several
    # threads on a busy machine (measured: 1.5 s against 0.05 s for 2,000 rows and 12
    # classes), and one thread also fixes the summation order.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, labels)
    cross_entropy = log_loss(labels, model.predict_proba(features), labels=np.arange(classes))
    converged = bool(np.all(model.n_iter_ < _MAX_ITER))
    return (np.log(classes) - cross_entropy) / np.log(classes), converged
