"""DCIMIG: MIG gaps taken per code and credited to factors.

A. Sepliarskaia, J. Kiseleva, M. de Rijke, "How to not measure disentanglement" (also
circulated as "Evaluating disentangled representations"), arXiv:1910.05587, 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench.metrics._utils import skipped_factor_notes, top_two_gap
from disbench.metrics.mig import GAP_ESTIMATORS, _information
from disbench.metrics.result import MetricResult


def dcimig(
    codes: Any,
    factors: Any,
    *,
    num_bins: int = 10,
    estimator: str = "plugin",
    code_discretizer: str = "equal_width",
    factor_discretizer: str = "unique",
    n_neighbors: int = 3,
) -> MetricResult:
    """DCIMIG: each code's MI gap between its best and second factor, credited to its best
    factor; per factor the largest credit; their sum over the sum of factor entropies.

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
    code_discretizer : {"equal_width", "histogram", "quantile", "unique"}, default="equal_width"
        How codes are binned: ``"equal_width"`` is Carbonneau et al.'s (min-max scaled,
        ``num_bins`` equal bins of [0, 1]).
    factor_discretizer : {"unique", "equal_width", "histogram", "quantile"}, default="unique"
        ``"unique"``: each factor value is a class, non-integer factors refused; a binning
        strategy accepts continuous factors (``"equal_width"`` is Carbonneau et al.'s
        ``continuous_factors=True``).
    n_neighbors : int, default=3
        k of the ``"knn_cd"`` estimator.

    Returns
    -------
    MetricResult
        ``scores["dcimig"]`` in [0, 1]. ``arrays``: ``"mi_matrix"`` (n_codes, n_factors) in
        nats; ``"factor_entropy"`` (n_factors,) in nats; ``"gap"`` (n_codes,) each code's
        gap in nats; ``"best_factor"`` (n_codes,) the factor it is credited to;
        ``"credit"`` (n_factors,) each factor's largest credited gap in nats (NaN for a
        skipped factor). ``notes`` name skipped factors.

    Notes
    -----
    For code j let k_j be the factor of largest MI and
    ``g_j = I(z_j; v_{k_j}) - max_{k != k_j} I(z_j; v_k)`` (nats). Factor k's credit is
    ``c_k = max {g_j : k_j = k}`` (0 when no code picks it), and

    .. math:: \\mathrm{DCIMIG} = \\frac{\\sum_k c_k}{\\sum_k H(v_k)}

    Each code counts for one factor only, so a code that mixes factors earns little, and
    each factor counts its best code only, so a factor spread over several codes earns
    less than its entropy. A factor copied into two codes loses nothing (each copy's gap is
    the full MI): DCIMIG, like MIG-sup, does not penalise redundancy, unlike MIG. With a
    single factor every gap is the code's MI. Ties for a code's best factor go to the
    lowest index (the gap is then 0). A factor with one value (H = 0) is skipped and named
    in ``notes``.

    References
    ----------
    A. Sepliarskaia et al. 2019, arXiv:1910.05587, section 5. M.-A. Carbonneau et al.,
    "Measuring disentanglement: a review of metrics", IEEE TNNLS 2022, arXiv:2012.09276, and
    their code ubisoft/ubisoft-laforge-disentanglement-metrics, ``src/metrics/dcimig.py``
    @05d5667: unnormalised MI by pyitlib's ``information_mutual``
    (``utils.get_mutual_information(..., normalize=False)``) on codes min-max scaled into
    ``nb_bins = 10`` equal bins; per code the gap replaces the best entry and the others
    are zeroed; the sum over factors of the column maxima, divided by the sum of the factor
    entropies.

    Known differences
    -----------------
    - Units: none. Their MI and factor entropies are both pyitlib's, in bits; here both
      are in nats. The ratio is unit-free, so the scores agree and a perfect code scores 1.
    - Carbonneau et al.'s function bins the factors by default (``continuous_factors=True``);
      ``factor_discretizer="equal_width"`` does that here. Their loop fails for a single
      factor (no second entry); here the gap is the MI itself.
    - Bin edges: a code value lying exactly on an equal-width bin edge (evenly spaced
      discrete codes with 11 or 21 values, say) can land in the neighbouring bin of
      theirs; see ``mig_sup``. Continuous codes are binned alike.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.stack(np.meshgrid(np.arange(4), np.arange(3), indexing="ij"), -1)
    >>> factors = grid.reshape(-1, 2)                 # every (v0, v1) once: independent
    >>> round(dcimig(factors, factors)["dcimig"], 12)
    1.0
    >>> round(dcimig(factors[:, :1], factors)["dcimig"], 6)  # no code for v1: log 4 / log 12
    0.557886
    """
    params = {
        "num_bins": num_bins,
        "estimator": estimator,
        "code_discretizer": code_discretizer,
        "factor_discretizer": factor_discretizer,
        "n_neighbors": n_neighbors,
    }
    mi, factor_entropy, skipped, _ = _information(
        codes,
        factors,
        metric="dcimig",
        estimators=GAP_ESTIMATORS,
        num_bins=num_bins,
        estimator=estimator,
        code_discretizer=code_discretizer,
        factor_discretizer=factor_discretizer,
        n_neighbors=n_neighbors,
    )
    kept = np.flatnonzero(~skipped)
    matrix = mi[:, kept]
    best = np.argmax(matrix, axis=1)
    gap = top_two_gap(matrix, axis=1)
    # Each code's gap in its best factor's column, zero elsewhere; a factor's credit is the
    # column maximum (0 when no code picked it, as gaps are >= 0).
    credited = np.zeros_like(matrix)
    credited[np.arange(matrix.shape[0]), best] = gap
    credit = np.full(mi.shape[1], np.nan)
    credit[kept] = credited.max(axis=0)
    score = float(credit[kept].sum() / factor_entropy[kept].sum())
    return MetricResult(
        name="dcimig",
        scores={"dcimig": score},
        arrays={
            "mi_matrix": mi,
            "factor_entropy": factor_entropy,
            "gap": gap,
            "best_factor": kept[best],
            "credit": credit,
        },
        params=params,
        notes=skipped_factor_notes(skipped),
    )
