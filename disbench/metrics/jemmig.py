"""JEMMIG, the joint-entropy-minus-mutual-information gap.

K. Do, T. Tran, "Theory and evaluation metrics for learning disentangled representations",
ICLR 2020, arXiv:1908.09961.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_choice
from disbench.metrics._utils import skipped_factor_notes, top_two_gap
from disbench.metrics.mig import _information
from disbench.metrics.result import MetricResult

#: JEMMIG needs the entropy of each binned code, so only the binning estimators apply.
JEMMIG_ESTIMATORS = ("plugin", "miller_madow")
#: ``log(num_bins)`` bounds a code's entropy only when the code is cut into ``num_bins`` bins.
JEMMIG_CODE_DISCRETIZERS = ("equal_width", "histogram", "quantile")


def jemmig(
    codes: Any,
    factors: Any,
    *,
    num_bins: int = 10,
    estimator: str = "plugin",
    code_discretizer: str = "equal_width",
    factor_discretizer: str = "unique",
) -> MetricResult:
    """JEMMIG: per factor, the joint entropy with its best code minus that code's MI, plus
    the MI of the second code, normalised; ``jemmig_score = 1 - jemmig``.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation (float).
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors: integer class labels, or continuous values when
        ``factor_discretizer`` bins them.
    num_bins : int, default=10
        Bins per code (and per factor with a binning ``factor_discretizer``); also the
        ``log(num_bins)`` of the normaliser.
    estimator : {"plugin", "miller_madow"}, default="plugin"
        Entropy and MI estimator of the binned variables (Miller–Madow adds the bias
        correction to every entropy, and so to the MI).
    code_discretizer : {"equal_width", "histogram", "quantile"}, default="equal_width"
        How codes are cut into ``num_bins`` bins: ``"equal_width"`` is Carbonneau et al.'s
        (min-max scaled, ``num_bins`` equal bins of [0, 1]).
    factor_discretizer : {"unique", "equal_width", "histogram", "quantile"}, default="unique"
        ``"unique"``: each factor value is a class, non-integer factors refused; a binning
        strategy accepts continuous factors (``"equal_width"`` is Carbonneau et al.'s
        ``continuous_factors=True``).

    Returns
    -------
    MetricResult
        ``scores``: ``"jemmig"``, the paper's number (0 best, 1 worst), and
        ``"jemmig_score"`` = 1 - jemmig (1 best). ``arrays``: ``"mi_matrix"``
        (n_codes, n_factors) in nats, ``"factor_entropy"`` (n_factors,) and
        ``"code_entropy"`` (n_codes,) in nats, ``"joint_entropy"`` (n_factors,)
        H(z*, v_k) in nats, ``"best_code"`` (n_factors,) the index of z*, ``"jemmig"``
        (n_factors,) each factor's normalised JEMMIG. A skipped factor has NaN (best code
        -1). ``notes`` name skipped factors.

    Notes
    -----
    For factor k with best code z* and second-best code z° (by MI, natural log):

    .. math:: \\mathrm{JEMMIG}(v_k) = \\frac{H(z^*, v_k) - I(z^*; v_k) + I(z^\\circ; v_k)}
              {H(v_k) + \\log(\\mathrm{num\\_bins})}

    averaged over factors. The joint entropy comes from the entropies and the MI matrix,
    ``H(z*, v) = H(z*) + H(v) - I(z*; v)``, so the numerator is
    ``H(z*) + H(v) - 2 I(z*; v) + I(z°; v)`` and no joint histogram is counted twice.
    ``H(z*, v) - I(z*; v) = H(z* | v) + H(v | z*)`` is 0 exactly when the best code and the
    factor determine each other, and ``I(z°; v)`` is 0 when no other code knows the
    factor: a perfect code scores jemmig = 0. Since ``H(z*) <= log(num_bins)`` the plug-in
    value lies in [0, 1]; rounding below 0 (~1e-16) is clipped. A code spread evenly over
    its bins but unrelated to the factor scores about 1 (``jemmig_score`` about 0), but an
    unrelated code of low entropy (e.g. Gaussian, with most of its mass in the middle bins)
    scores below 1: JEMMIG also charges a code for its unused entropy.

    Ties for the best code go to the lowest code index. With a single code z° is absent and
    I(z°; v) = 0. A factor with one value (H = 0) is skipped and named in ``notes``.

    References
    ----------
    K. Do, T. Tran 2020, arXiv:1908.09961, section 5 (JEMMIG, normalised by
    H(v_k) + log(#bins)). M.-A. Carbonneau et al., "Measuring disentanglement: a review of
    metrics", IEEE TNNLS 2022, arXiv:2012.09276, and their code
    ubisoft/ubisoft-laforge-disentanglement-metrics @05d5667, ``src/metrics/jemmig.py``:
    codes min-max scaled into ``nb_bins = 10`` equal bins, MI by pyitlib's
    ``information_mutual`` (``utils.get_mutual_information(..., normalize=False)``), best
    code by MI, the score reported as ``1 - JEMMIG``.

    Known differences
    -----------------
    - Units: none. Their terms are all pyitlib's, in bits (MI, ``entropy_joint`` of the
      factor and the code, the normaliser ``entropy_joint(factor) + log2(nb_bins)``); here
      all are in nats. The ratio is unit-free, so the scores agree.
    - Their best code is the last of ``np.argsort`` among exact MI ties, here the first;
      this matters only for tied codes of different entropy.
    - Carbonneau et al.'s function bins the factors by default (``continuous_factors=True``);
      ``factor_discretizer="equal_width"`` does that here.
    - Bin edges: a code value lying exactly on an equal-width bin edge (evenly spaced
      discrete codes with 11 or 21 values, say) can land in the neighbouring bin of
      theirs; see ``mig_sup``. Continuous codes are binned alike.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.stack(np.meshgrid(np.arange(4), np.arange(3), indexing="ij"), -1)
    >>> factors = grid.reshape(-1, 2)                 # every (v0, v1) once: independent
    >>> result = jemmig(factors, factors)             # one code per factor
    >>> round(result["jemmig"], 12), round(result["jemmig_score"], 12)
    (0.0, 1.0)
    """
    params = {
        "num_bins": num_bins,
        "estimator": estimator,
        "code_discretizer": code_discretizer,
        "factor_discretizer": factor_discretizer,
    }
    check_choice(code_discretizer, "code_discretizer", JEMMIG_CODE_DISCRETIZERS)
    mi, factor_entropy, skipped, code_entropy = _information(
        codes,
        factors,
        metric="jemmig",
        estimators=JEMMIG_ESTIMATORS,
        num_bins=num_bins,
        estimator=estimator,
        code_discretizer=code_discretizer,
        factor_discretizer=factor_discretizer,
        code_entropy=True,
    )
    kept = ~skipped
    matrix = mi[:, kept]
    best = np.argmax(matrix, axis=0)
    first = matrix[best, np.arange(matrix.shape[1])]
    second = first - top_two_gap(matrix, axis=0)
    h_v = factor_entropy[kept]
    joint = code_entropy[best] + h_v - first
    per_factor = np.clip((joint - first + second) / (h_v + np.log(num_bins)), 0.0, None)

    k = mi.shape[1]
    best_code = np.full(k, -1, dtype=np.int64)
    best_code[kept] = best
    joint_entropy, jemmig_per_factor = np.full(k, np.nan), np.full(k, np.nan)
    joint_entropy[kept], jemmig_per_factor[kept] = joint, per_factor
    score = float(np.mean(per_factor))
    return MetricResult(
        name="jemmig",
        scores={"jemmig": score, "jemmig_score": 1.0 - score},
        arrays={
            "mi_matrix": mi,
            "factor_entropy": factor_entropy,
            "code_entropy": code_entropy,
            "joint_entropy": joint_entropy,
            "best_code": best_code,
            "jemmig": jemmig_per_factor,
        },
        params=params,
        notes=skipped_factor_notes(skipped),
    )
