"""The Interventional Robustness Score (IRS).

R. Suter, Đ. Miladinović, B. Schölkopf, S. Bauer, "Robustly disentangled causal mechanisms:
validating deep representations for interventional robustness", ICML 2019, arXiv:1811.00007.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_positive_int
from disbench.estimators import discretize
from disbench.metrics._utils import check_codes_factors, single_valued, skipped_factor_notes
from disbench.metrics.result import MetricResult


def irs(
    codes: Any,
    factors: Any,
    *,
    num_bins: int = 20,
    diff_quantile: float = 0.99,
) -> MetricResult:
    """Interventional robustness: how little each code moves when the other factors change.

    Parameters
    ----------
    codes : array-like or torch.Tensor of shape (n_samples, n_codes)
        The representation (float). Constant codes are dropped and counted.
    factors : array-like or torch.Tensor of shape (n_samples, n_factors)
        Ground-truth factors, integer classes or continuous values: either way each column
        is discretised into ``num_bins`` histogram bins first, as disentanglement_lib does.
    num_bins : int, default=20
        Bins of the factor histogram (disentanglement_lib's ``discretizer.num_bins``).
    diff_quantile : float, default=0.99
        Which quantile of the within-group deviations stands for the "maximum" deviation:
        0.99 is disentanglement_lib's default, 1.0 the paper's maximum. In [0, 1].

    Returns
    -------
    MetricResult
        ``scores["irs"]``: the IRS, at most 1 (higher is more robust);
        ``scores["num_active_dims"]``: the number of non-constant codes (a float, as every
        score). ``arrays``: ``"irs_matrix"`` (n_active, n_factors) the IRS of each active
        code with respect to each factor, NaN for a skipped factor;
        ``"disentanglement_scores"`` (n_active,) each code's best entry; ``"parents"``
        (n_active,) the factor column of that entry; ``"max_deviations"`` (n_active,)
        max |z_j - E z_j|, the weights; ``"active"`` (n_codes,) the mask of non-constant
        codes. ``notes`` name skipped factors and an all-constant representation.

    Notes
    -----
    With v_k the k-th discretised factor, V_k its observed values, z_j an active code and
    Q_q the ``diff_quantile`` quantile (``np.percentile``'s linear interpolation),

    .. math::

        d_{jk} = \\frac{1}{|V_k|} \\sum_{v \\in V_k}
                 Q_q\\left(|z_j - E[z_j \\mid v_k = v]| \\;\\middle|\\; v_k = v\\right),
        \\qquad \\mathrm{IRS}_{jk} = 1 - \\frac{d_{jk}}{\\max_n |z_{nj} - E z_j|}

    Each code's score is ``max_k IRS_jk`` and the IRS is their mean weighted by the
    denominators ``max |z_j - E z_j|`` (the plain mean if every weight is 0). Conditioning
    on v_k = v holds that factor fixed while every other factor varies, so d_jk is how far
    z_j still moves: 0 when z_j is a function of v_k alone, giving IRS_jk = 1.

    The score of codes that carry no information is not 0: it is ``1 - Q_q / max`` of the
    code's own spread, small for bounded noise (about 0.01 for uniform noise) and larger
    for unbounded noise (about 0.35 for Gaussian codes at 10,000 rows, since the 0.99
    quantile of |z| is about 2.6 standard deviations and the sample maximum about 3.9).

    A code is constant, and dropped, when all its values are equal. If every code is
    constant, the IRS is 0 (disentanglement_lib's value). A factor that takes one value once
    discretised is skipped (named in ``notes``); if every factor does, ``ValueError``.

    Computation: one pass per factor; rows are sorted by the factor's value once, the
    conditional means come from one ``np.add.reduceat`` and the deviations of all codes are
    sorted within every group at once (``np.lexsort`` by group, then deviation), so the
    quantiles of all (value, code) pairs are read off together; the linear interpolation is
    numpy's own (``_lerp``), so the values are ``np.percentile``'s.

    References
    ----------
    R. Suter et al. 2019, arXiv:1811.00007, section 4.
    google-research/disentanglement_lib @a070670, ``evaluation/metrics/irs.py``
    (``compute_irs``, ``scalable_disentanglement_score``, ``_drop_constant_dims``) with
    ``utils.make_discretizer`` (``_histogram_discretize``, 20 bins): reproduced to 1e-12 on
    float64 codes (tests/metrics/test_irs.py, synthetic and real 3D Shapes codes).

    Known differences
    -----------------
    - ``num_active_dims`` is the number of non-constant codes. disentanglement_lib reports
      ``np.sum(active_mus)``, the sum of every value of every active code, which is not a
      count (its ``IRS`` is unaffected).
    - disentanglement_lib calls a code constant when ``np.var`` is not > 0; a constant
      column can have a variance of about 1e-34 from rounding (e.g. 10,000 copies of 0.1)
      and would count as active there. Here constant means all values equal.
    - A factor with one value is skipped here; disentanglement_lib keeps it, and its single
      group then credits every code with ``1 - Q_q(|z - E z|) / max |z - E z|``, a score
      that no intervention earned.
    - Codes are computed in float64; disentanglement_lib keeps the encoder's float32, which
      moves the score by about 1e-7.
    - The score key is ``irs`` (disentanglement_lib: ``IRS``). Sampling (``num_train =
      10000`` rows) is the evaluate pipeline's job, not this function's.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.stack(np.meshgrid(np.arange(4), np.arange(3), indexing="ij"), -1)
    >>> factors = grid.reshape(-1, 2)                 # every (v0, v1) once
    >>> result = irs(factors, factors)                # one code per factor
    >>> result["irs"], result["num_active_dims"]
    (1.0, 2.0)
    >>> result.arrays["parents"].tolist()
    [0, 1]
    """
    num_bins = check_positive_int(num_bins, "num_bins")
    if isinstance(diff_quantile, bool) or not isinstance(diff_quantile, (int, float, np.number)):
        raise TypeError(f"diff_quantile must be a number in [0, 1]; got {diff_quantile!r}")
    if not 0.0 <= diff_quantile <= 1.0:
        raise ValueError(f"diff_quantile must be in [0, 1]; got {diff_quantile!r}")
    params = {"num_bins": num_bins, "diff_quantile": float(diff_quantile)}
    codes, factors = check_codes_factors(codes, factors, metric="irs", discrete_factors=False)
    labels = discretize(factors, strategy="histogram", num_bins=num_bins)
    skipped = single_valued(labels)
    if skipped.all():
        raise ValueError(
            "irs is undefined: every factor takes a single value once discretised; "
            "it needs at least one factor that varies"
        )
    active = ~single_valued(codes)
    notes = skipped_factor_notes(skipped)
    n_factors = labels.shape[1]
    if not active.any():
        empty = np.empty((0,))
        return MetricResult(
            name="irs",
            scores={"irs": 0.0, "num_active_dims": 0.0},
            arrays={
                "irs_matrix": np.empty((0, n_factors)),
                "disentanglement_scores": empty,
                "parents": np.empty((0,), dtype=np.int64),
                "max_deviations": empty,
                "active": active,
            },
            params=params,
            notes=(*notes, "every code is constant: irs is 0, as in disentanglement_lib"),
        )
    kept = np.flatnonzero(~skipped)
    # np.percentile(q=100 * diff_quantile) divides by 100 again; do the same, so the
    # interpolation weight is bit for bit disentanglement_lib's.
    quantile = float(np.true_divide(diff_quantile * 100, 100))
    irs_kept, max_deviations = _irs_matrix(codes[:, active], labels[:, kept], quantile)
    irs_matrix = np.full((irs_kept.shape[0], n_factors), np.nan)
    irs_matrix[:, kept] = irs_kept
    scores = irs_kept.max(axis=1)
    parents = kept[irs_kept.argmax(axis=1)]
    if np.sum(max_deviations) > 0.0:
        score = np.average(scores, weights=max_deviations)
    else:
        score = np.mean(scores)
    return MetricResult(
        name="irs",
        scores={"irs": float(score), "num_active_dims": float(np.count_nonzero(active))},
        arrays={
            "irs_matrix": irs_matrix,
            "disentanglement_scores": scores,
            "parents": parents,
            "max_deviations": max_deviations,
            "active": active,
        },
        params=params,
        notes=notes,
    )


def _irs_matrix(
    codes: np.ndarray, labels: np.ndarray, quantile: float
) -> tuple[np.ndarray, np.ndarray]:
    """IRS_jk of every code with every factor (n_codes, n_factors) and the normalisers
    max |z_j - E z_j| (n_codes,). ``codes`` are non-constant float64, ``labels`` int64;
    ``quantile`` in [0, 1]."""
    max_deviations = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)
    mean_quantiles = np.empty((codes.shape[1], labels.shape[1]))
    # A loop over factors only: each pass handles every code and every value at once.
    for k in range(labels.shape[1]):
        mean_quantiles[:, k] = _mean_group_quantile(codes, labels[:, k], quantile)
    return 1.0 - mean_quantiles / max_deviations[:, None], max_deviations


def _mean_group_quantile(codes: np.ndarray, labels: np.ndarray, quantile: float) -> np.ndarray:
    """Mean over the values v of ``labels`` of the ``quantile`` quantile of
    |z_j - E[z_j | v]| within the rows of value v, for every code j at once (n_codes,).

    The quantile is ``np.percentile``'s default ("linear", Hyndman & Fan type 7): with n the
    group size, virtual index h = (n - 1) q, it interpolates between the sorted values at
    floor(h) and floor(h) + 1 by numpy's ``_lerp`` (a + (b - a) t, or b - (b - a)(1 - t)
    for t >= 0.5), and takes the largest value when h >= n - 1.
    """
    n = labels.shape[0]
    # Stable, so rows keep their order within a group (the order of dlib's boolean mask).
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(starts.size), sizes)
    z = codes[order]
    means = np.add.reduceat(z, starts, axis=0) / sizes[:, None]
    deviations = np.abs(z - means[group])
    position = np.arange(n) - starts[group]
    virtual = (sizes - 1) * quantile
    below = np.floor(virtual)
    weight = (virtual - below)[:, None]
    last = virtual >= sizes - 1
    lower = np.where(last, sizes - 1, below.astype(np.int64))
    upper = np.where(last, sizes - 1, lower + 1)
    a = np.empty((starts.size, codes.shape[1]))
    b = np.empty_like(a)
    for batch in _group_batches(sizes, budget=2 * n):
        # Every group of the batch, every code: a (groups, codes, largest size) block padded
        # with +inf, sorted along its last axis in one call; group g's sorted deviations
        # then sit at [g, :, :sizes[g]].
        if batch.size == starts.size:
            local, rows = group, slice(None)
        else:
            rows = np.isin(group, batch)
            local = np.searchsorted(batch, group[rows])
        block = np.full((batch.size, codes.shape[1], sizes[batch].max()), np.inf)
        block[local, :, position[rows]] = deviations[rows]
        block.sort(axis=-1)
        a[batch] = np.take_along_axis(block, lower[batch, None, None], axis=-1)[..., 0]
        b[batch] = np.take_along_axis(block, upper[batch, None, None], axis=-1)[..., 0]
    difference = b - a
    value = np.where(weight >= 0.5, b - difference * (1 - weight), a + difference * weight)
    # Sum the groups in increasing order of value from 0, as dlib's running "+=" does.
    return np.add.accumulate(value, axis=0)[-1] / starts.size


def _group_batches(sizes: np.ndarray, budget: int) -> list[np.ndarray]:
    """Split group indices into batches whose padded blocks (groups x largest size) hold at
    most ``budget`` cells, or one group, so that padding at most doubles the memory of the
    deviations even when group sizes are very unequal. Balanced groups make one batch."""
    batches: list[np.ndarray] = []
    pending = np.argsort(-sizes, kind="stable")
    while pending.size:
        # Sorted by decreasing size, a batch's largest group is its first.
        count = max(1, min(pending.size, budget // sizes[pending[0]]))
        batches.append(np.sort(pending[:count]))
        pending = pending[count:]
    return batches
