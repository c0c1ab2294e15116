"""The mutual information gap (MIG) and its per-code counterpart MIG-sup.

MIG: R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud, "Isolating sources of disentanglement in
variational autoencoders", NeurIPS 2018, arXiv:1802.04942.
MIG-sup: Z. Li, J. V. Murkute, P. K. Gyawali, L. Wang, "Progressive learning and
disentanglement of hierarchical representations", ICLR 2020, arXiv:2002.10549.

The helper ``_information`` (validation and estimation) is shared by the whole MI-gap
family: ``jemmig`` and ``dcimig`` build on the same validated MI matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_choice, check_positive_int
from disbench.estimators import DISCRETIZERS, discretize, entropy, mutual_information
from disbench.metrics._utils import (
    check_codes_factors,
    continuous_columns,
    single_valued,
    skipped_factor_notes,
    top_two_gap,
)
from disbench.metrics.result import MetricResult

#: MI estimators of the MI-gap metrics: discrete plug-in, Miller–Madow, and Ross's
#: continuous–discrete kNN (codes not binned).
GAP_ESTIMATORS = ("plugin", "miller_madow", "knn_cd")
#: ``"factor"``: I(z_j; v_k) / H(v_k), Chen et al.'s normalisation; ``"code"``:
#: I(z_j; v_k) / H(z_j), Carbonneau et al.'s code's; ``"none"``: nats.
GAP_NORMALIZATIONS = ("factor", "code", "none")


def mig(
    codes: Any,
    factors: Any,
    *,
    num_bins: int = 20,
    estimator: str = "plugin",
    normalization: str = "factor",
    code_discretizer: str = "histogram",
    factor_discretizer: str = "unique",
    n_neighbors: int = 3,
) -> MetricResult:
    """Mutual information gap: per factor, the MI of its best code minus that of its second.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation (float). float32 codes are binned in float32, as numpy and so
        disentanglement_lib bin them.
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors: integer class labels, or continuous values when
        ``factor_discretizer`` bins them.
    num_bins : int, default=20
        Bins per code (and per factor with a binning ``factor_discretizer``).
    estimator : {"plugin", "miller_madow", "knn_cd"}, default="plugin"
        MI estimator (see ``disbench.estimators.mutual_information``): the plug-in estimate
        on binned codes (disentanglement_lib's), with the Miller–Madow bias correction (then
        H(v_k) is corrected too), or Ross's continuous–discrete kNN estimator on the raw
        codes (no binning; ``num_bins`` and ``code_discretizer`` then apply to nothing but
        binned factors).
    normalization : {"factor", "code", "none"}, default="factor"
        Divide each factor's gap by H(v_k) (the definition), divide each MI by the binned
        code's entropy H(z_j) before taking the gap (Carbonneau et al.'s code), or report
        the gap in nats.
    code_discretizer : {"histogram", "equal_width", "quantile", "unique"}, default="histogram"
        How codes are binned (``disbench.estimators.discretize``); ``"histogram"`` is
        disentanglement_lib's ``_histogram_discretize``.
    factor_discretizer : {"unique", "histogram", "equal_width", "quantile"}, default="unique"
        ``"unique"``: each distinct factor value is a class (dlib's choice: factors are not
        discretised), and non-integer factors are refused. A binning strategy accepts
        continuous factors: MIG is defined on discretised factors.
    n_neighbors : int, default=3
        k of the ``"knn_cd"`` estimator.

    Returns
    -------
    MetricResult
        ``scores["mig"]``: the mean gap over factors, in [0, 1] (nats with
        ``normalization="none"``). ``arrays``: ``"mi_matrix"`` (n_codes, n_factors) I(z_j; v_k)
        in nats; ``"factor_entropy"`` (n_factors,) H(v_k) in nats; ``"gap"`` (n_factors,) each
        factor's (normalised) gap, NaN for a skipped factor. ``notes`` name skipped factors.

    Notes
    -----
    With I the (n_codes, n_factors) MI matrix in nats and H(v_k) the plug-in entropy of
    factor k (natural log),

    .. math:: \\mathrm{MIG} = \\frac{1}{K} \\sum_k
              \\frac{I(z_{j^{(1)}}; v_k) - I(z_{j^{(2)}}; v_k)}{H(v_k)}

    where j^(1), j^(2) are the codes with the largest and second-largest MI with v_k. A
    representation with a single code has no second code: its gap is I / H(v_k). Two codes
    that copy one factor tie, so a duplicated factor gets a gap of 0.

    A factor that takes one value (H = 0, where disentanglement_lib would divide by zero) is
    skipped: it is left out of the mean and named in ``notes``. If every factor is
    single-valued the metric is undefined and ``ValueError`` is raised.

    Dividing by H(v_k) rescales one factor's gap without changing which code is best;
    ``normalization="code"`` divides each entry by its code's entropy, which ranks the codes
    by another criterion. It is what Carbonneau et al.'s implementation computes
    (``get_mutual_information``: pyitlib's ``information_mutual_normalised(factor, code,
    norm_factor='Y')``), so ``gin/carbonneau.gin`` selects it; a code with H(z_j) = 0 counts
    0. It needs binned codes (not ``estimator="knn_cd"``).

    References
    ----------
    R. T. Q. Chen et al. 2018, arXiv:1802.04942, section 4.1.
    google-research/disentanglement_lib @86a644d, ``evaluation/metrics/mig.py::_compute_mig``
    with ``utils._histogram_discretize`` (``discretizer.num_bins = 20``),
    ``utils.discrete_mutual_info`` and ``utils.discrete_entropy``: reproduced to 1e-12 by
    the defaults (tests/metrics/test_mig.py, synthetic and real 3D Shapes codes).

    Known differences
    -----------------
    - disentanglement_lib fails for a single code (``sorted_m[1]`` is out of range) and
      returns NaN or infinity for a factor with one value; here the second MI is 0 and the
      factor is skipped with a note.
    - disentanglement_lib's score key is ``discrete_mig``; here it is ``mig``.
    - Sampling (``num_train = 10000`` rows) is the evaluate pipeline's job, not this function's.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.stack(np.meshgrid(np.arange(4), np.arange(3), indexing="ij"), -1)
    >>> factors = grid.reshape(-1, 2)                 # every (v0, v1) once: independent
    >>> round(mig(factors, factors)["mig"], 12)       # one code per factor
    1.0
    >>> both = np.concatenate([factors, factors[:, :1]], axis=1)   # v0 captured twice
    >>> mig(both, factors).arrays["gap"].round(12).tolist()
    [0.0, 1.0]
    """
    params = {
        "num_bins": num_bins,
        "estimator": estimator,
        "normalization": normalization,
        "code_discretizer": code_discretizer,
        "factor_discretizer": factor_discretizer,
        "n_neighbors": n_neighbors,
    }
    mi, factor_entropy, skipped, matrix = _normalized_information(codes, factors, "mig", params)
    kept = ~skipped
    gap = np.full(mi.shape[1], np.nan)
    gap[kept] = top_two_gap(matrix, axis=0)
    return MetricResult(
        name="mig",
        scores={"mig": float(np.mean(gap[kept]))},
        arrays={"mi_matrix": mi, "factor_entropy": factor_entropy, "gap": gap},
        params=params,
        notes=skipped_factor_notes(skipped),
    )


def mig_sup(
    codes: Any,
    factors: Any,
    *,
    num_bins: int = 10,
    estimator: str = "plugin",
    normalization: str = "code",
    code_discretizer: str = "equal_width",
    factor_discretizer: str = "unique",
    n_neighbors: int = 3,
) -> MetricResult:
    """MIG-sup: per code, the normalised MI of its best factor minus that of its second.

    Version 2: the default normalisation is the code's entropy, as in the reference code
    (version 1 divided by the factor's entropy, from a wrong reading of that code).

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation (float).
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors: integer class labels, or continuous values when
        ``factor_discretizer`` bins them.
    num_bins : int, default=10
        Bins per code (and per factor with a binning ``factor_discretizer``).
    estimator : {"plugin", "miller_madow", "knn_cd"}, default="plugin"
        MI estimator, as in ``mig``.
    normalization : {"code", "factor", "none"}, default="code"
        Compare I(z_j; v_k) / H(z_j) across factors (Carbonneau et al.'s code: for one code
        this only rescales its gap), I(z_j; v_k) / H(v_k), or raw nats.
    code_discretizer : {"equal_width", "histogram", "quantile", "unique"}, default="equal_width"
        How codes are binned: ``"equal_width"`` is Carbonneau et al.'s ``minmax_scale`` then
        ``get_bin_index`` (``num_bins`` equal bins of [0, 1]).
    factor_discretizer : {"unique", "equal_width", "histogram", "quantile"}, default="unique"
        As in ``mig``; ``"equal_width"`` is Carbonneau et al.'s ``continuous_factors=True``.
    n_neighbors : int, default=3
        k of the ``"knn_cd"`` estimator.

    Returns
    -------
    MetricResult
        ``scores["mig_sup"]``: the mean gap over codes, in [0, 1]. ``arrays``:
        ``"mi_matrix"`` (n_codes, n_factors) in nats, ``"factor_entropy"`` (n_factors,) in
        nats, ``"gap"`` (n_codes,) each code's gap. ``notes`` name skipped factors.

    Notes
    -----
    .. math:: \\mathrm{MIG\\text{-}sup} = \\frac{1}{D} \\sum_j
              \\frac{I(z_j; v_{k^{(1)}}) - I(z_j; v_{k^{(2)}})}{H(z_j)}

    with k^(1), k^(2) the factors of largest and second-largest MI with code j, and H(z_j)
    the plug-in entropy of the binned code (0 / 0 counts 0).
    It rewards modularity (each code about one factor) where MIG rewards compactness (each
    factor in one code): a factor copied into two codes keeps MIG-sup high and MIG at 0.
    A code that carries no information (e.g. a constant one) contributes a gap of 0 and
    stays in the mean. With a single factor the second MI is 0. Factors with one value
    (H = 0, their MI with every code 0) are skipped and named in ``notes``.

    References
    ----------
    Z. Li et al. 2020, arXiv:2002.10549. M.-A. Carbonneau, J. Zaidi, J. Boilard, G. Gagnon,
    "Measuring disentanglement: a review of metrics", IEEE TNNLS 2022, arXiv:2012.09276, and
    their code ubisoft/ubisoft-laforge-disentanglement-metrics @05d5667,
    ``src/metrics/mig_sup.py`` with ``src/utils.py::get_mutual_information``: pyitlib's
    ``information_mutual_normalised(factor, code, norm_factor='Y')``, the MI divided by the
    code's entropy, codes min-max scaled and cut into ``nb_bins = 10`` equal bins, the mean
    over codes of the top-two gap over factors. The defaults reproduce it with
    ``continuous_factors=False`` (tests/metrics/test_mig.py re-implements that loop and
    agrees to 1e-12).

    Known differences
    -----------------
    - Carbonneau et al.'s function defaults to ``continuous_factors=True``, binning the
      factors too (a factor with more than 10 values then loses some); here factors are
      classes by default, as in disentanglement_lib's MIG. ``factor_discretizer=
      "equal_width"`` reproduces their default.
    - Their loop fails for a single factor (no second entry); here the second MI is 0.
    - Bin edges. Carbonneau et al. scale with sklearn's ``minmax_scale`` (``x * s + m``,
      in float32 for float32 codes); the equal-width rule of ``disbench.estimators``
      computes ``(x - min) / (max - min)`` in float64. A value that lands exactly on an edge
      i / num_bins can then go to the neighbouring bin: evenly spaced discrete codes with
      11 or 21 values, say (11 values: theirs keeps all 11 apart, here 2 and 3, 5 and 6,
      9 and 10 merge). Continuous codes are binned alike (the tests agree to 1e-12).

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.stack(np.meshgrid(np.arange(4), np.arange(3), indexing="ij"), -1)
    >>> factors = grid.reshape(-1, 2)
    >>> both = np.concatenate([factors, factors[:, :1]], axis=1)   # v0 captured twice
    >>> round(mig_sup(both, factors)["mig_sup"], 12)             # every code is modular
    1.0
    """
    params = {
        "num_bins": num_bins,
        "estimator": estimator,
        "normalization": normalization,
        "code_discretizer": code_discretizer,
        "factor_discretizer": factor_discretizer,
        "n_neighbors": n_neighbors,
    }
    mi, factor_entropy, skipped, matrix = _normalized_information(codes, factors, "mig_sup", params)
    gap = top_two_gap(matrix, axis=1)
    return MetricResult(
        name="mig_sup",
        scores={"mig_sup": float(np.mean(gap))},
        arrays={"mi_matrix": mi, "factor_entropy": factor_entropy, "gap": gap},
        params=params,
        notes=skipped_factor_notes(skipped),
    )


def _normalized_information(
    codes: Any, factors: Any, metric: str, params: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_information`` for an MI-gap metric, plus the MI of the factors kept, normalised
    as ``params["normalization"]`` says: / H(v_k), / H(z_j) (a code with H = 0, which has
    MI 0, counts 0), or in nats."""
    normalization = params["normalization"]
    check_choice(normalization, "normalization", GAP_NORMALIZATIONS)
    if normalization == "code" and params["estimator"] == "knn_cd":
        raise ValueError(
            "normalization='code' divides by the entropy of the binned code, which the "
            "kNN estimator does not bin; use estimator='plugin', or normalization='factor'"
        )
    mi, factor_entropy, skipped, code_entropy = _information(
        codes,
        factors,
        metric=metric,
        estimators=GAP_ESTIMATORS,
        code_entropy=normalization == "code",
        **{key: value for key, value in params.items() if key != "normalization"},
    )
    matrix = mi[:, ~skipped]
    if normalization == "factor":
        matrix = matrix / factor_entropy[~skipped]
    elif normalization == "code":
        assert code_entropy is not None
        scale = code_entropy[:, None]
        matrix = np.divide(matrix, scale, out=np.zeros_like(matrix), where=scale > 0)
    return mi, factor_entropy, skipped, matrix


def _information(
    codes: Any,
    factors: Any,
    *,
    metric: str,
    estimators: tuple[str, ...],
    num_bins: int,
    estimator: str,
    code_discretizer: str,
    factor_discretizer: str,
    n_neighbors: int = 3,
    code_entropy: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate the inputs and options of an MI-gap metric, then estimate.

    Returns the MI matrix I(z_j; v_k) (n_codes, n_factors) in nats, the factor entropies
    H(v_k) (n_factors,) in nats, the mask of factors skipped for taking one value once
    discretised and, with ``code_entropy``, the entropies H(z_j) (n_codes,) in nats of the
    binned codes (else None). Entropies are Miller–Madow ones with that estimator, else
    plug-in. Raises ``ValueError`` for bad options, bad arrays, non-integer factors under
    ``factor_discretizer="unique"``, and when every factor is single-valued.
    """
    check_choice(estimator, "estimator", estimators)
    check_choice(code_discretizer, "code_discretizer", DISCRETIZERS)
    check_choice(factor_discretizer, "factor_discretizer", DISCRETIZERS)
    num_bins = check_positive_int(num_bins, "num_bins")
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    codes, factors = check_codes_factors(
        codes, factors, metric=metric, discrete_factors=False, keep_float32=True
    )
    if factor_discretizer == "unique":
        continuous = continuous_columns(factors)
        if continuous:
            raise ValueError(
                f"{metric} takes each factor value as a class (factor_discretizer='unique'), "
                f"but factors columns {continuous} hold non-integer values; pass "
                f"factor_discretizer='histogram' to bin them into num_bins={num_bins} bins"
            )
    # Labels once: the skipped factors are those with one label after discretisation (their
    # entropy is 0, where a computed one may be ~1e-16), and the estimators take them as is.
    labels = discretize(factors, strategy=factor_discretizer, num_bins=num_bins)
    skipped = single_valued(labels)
    if skipped.all():
        raise ValueError(
            f"{metric} is undefined: every factor takes a single value (entropy 0); "
            "it needs at least one factor that varies"
        )
    mi = mutual_information(
        codes,
        labels,
        estimator=estimator,
        num_bins=num_bins,
        code_discretizer=code_discretizer,
        factor_discretizer="unique",
        n_neighbors=n_neighbors,
    )
    entropy_estimator = "miller_madow" if estimator == "miller_madow" else "plugin"
    factor_entropy = entropy(labels, estimator=entropy_estimator)
    factor_entropy[skipped] = 0.0
    code_entropies = None
    if code_entropy:
        code_entropies = entropy(
            codes, estimator=entropy_estimator, discretizer=code_discretizer, num_bins=num_bins
        )
    return mi, factor_entropy, skipped, code_entropies
