"""k-nearest-neighbour mutual-information estimators: continuous–discrete and KSG.

Both reproduce scikit-learn's private workers pair for pair (``_compute_mi_cd`` and
``_compute_mi_cc`` in ``sklearn/feature_selection/_mutual_info.py``), but every (code,
factor) pair is computed at once. Each pair is one-dimensional against one-dimensional, so
neighbour counts come from sorted columns and binary searches, not from KD-trees.

Counting rule (scikit-learn's): with ``r`` the distance to the k-th neighbour, a point ``q``
is counted for ``p`` when ``|x_q - x_p| <= nextafter(r, 0)``, i.e. strictly closer than the
k-th neighbour. Distances are computed exactly as ``|x_q - x_p|`` in the input's float type.
Units: nats. Negative estimates are clipped to 0, as scikit-learn does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.spatial
import scipy.special

from disbench.estimators._backend import ops_for

#: Elements per block of the exhaustive neighbour search of the torch KSG back end.
_TORCH_BLOCK_ELEMENTS = 1 << 24


def window_counts(sorted_columns: Any, centres: Any, radius: Any) -> Any:
    """For each (i, j): how many of ``sorted_columns[:, j]`` lie within ``radius[i, j]`` of
    ``centres[i, j]``, by the predicate ``|s - c| <= radius`` evaluated in floating point.

    The boundaries start from a binary search on ``c ± radius`` and are then moved one
    element at a time until the predicate itself agrees, so rounding in ``c ± radius``
    cannot change a count.
    """
    ops = ops_for(centres)
    rows = sorted_columns.shape[0]
    last = rows - 1

    def value_at(index: Any) -> Any:
        return ops.take(sorted_columns, ops.xp.clip(index, 0, last))

    upper = ops.searchsorted(sorted_columns, centres + radius)
    while True:
        grow = (upper < rows) & (value_at(upper) - centres <= radius)
        shrink = (upper > 0) & (value_at(upper - 1) - centres > radius)
        if not bool(grow.any() | shrink.any()):
            break
        upper = upper + ops.int64(grow) - ops.int64(shrink)
    lower = ops.searchsorted(sorted_columns, centres - radius)
    while True:
        grow = (lower < rows) & (centres - value_at(lower) > radius)
        shrink = (lower > 0) & (centres - value_at(lower - 1) <= radius)
        if not bool(grow.any() | shrink.any()):
            break
        lower = lower + ops.int64(grow) - ops.int64(shrink)
    return upper - lower


def mutual_information_knn_cd(
    codes: Any, factors: Any, factor_sizes: np.ndarray, *, n_neighbors: int
) -> Any:
    """Ross (2014) estimate of I(z_j; v_k) for continuous codes and discrete factor labels.

    For each point ``i`` with label ``v``: ``d_i`` is the distance to its ``k_i``-th nearest
    neighbour among the points of label ``v`` (``k_i = min(k, n_v - 1)``) and ``m_i`` the
    number of points of any label strictly closer than that (itself included)::

        I = ψ(N) + <ψ(k_i)> - <ψ(n_v)> - <ψ(m_i)>

    averaged over the ``N`` points whose label occurs more than once (points of a label seen
    once are left out of every count, as scikit-learn does). Returns (D, K) nats, ≥ 0.

    Known difference: for a label with at most 7 points scikit-learn's ``NearestNeighbors``
    switches to a brute-force search whose distances carry rounding error (about 1e-8);
    here every distance is exact, so such a label can move the estimate by about 1e-7.
    """
    ops = ops_for(codes)
    xp = ops.xp
    codes = ops.float64(codes)
    n, n_codes = codes.shape
    by_value = ops.argsort(codes)
    sorted_codes = ops.take(codes, by_value)
    position = ops.arange(n, codes)
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        labels = factors[:, k]
        sizes = ops.bincount(labels, minlength=int(factor_sizes[k]))
        # Rows grouped by label, by value within each label: a stable sort of the labels
        # taken in value order. The label blocks sit at the same positions in every column.
        grouped = ops.take(by_value, ops.argsort(labels[by_value]))
        values = ops.take(codes, grouped)
        block_label = labels[grouped[:, 0]]
        block_size = sizes[block_label]
        block_start = (ops.cumsum(sizes) - sizes)[block_label]
        k_eff = xp.clip(block_size - 1, None, n_neighbors)
        # The k nearest neighbours on a line form a window of k + 1 points around the point;
        # the k-th neighbour distance is the smallest reach over the k + 1 such windows.
        radius = ops.full(tuple(values.shape), float("inf"), values)
        for shift in range(n_neighbors + 1):
            left = position - shift
            right = left + k_eff
            valid = (shift <= k_eff) & (left >= block_start) & (right < block_start + block_size)
            reach = xp.maximum(
                values - values[xp.clip(left, 0, n - 1)],
                values[xp.clip(right, 0, n - 1)] - values,
            )
            radius = xp.where(valid[:, None], xp.minimum(radius, reach), radius)
        radius = ops.scatter(grouped, radius)
        row_size = sizes[labels]
        kept = row_size > 1
        n_kept = int(kept.sum())
        if n_kept == 0:
            columns.append(ops.full((n_codes,), 0.0, codes))
            continue
        if n_kept == n:
            pool = sorted_codes
        else:
            pool = sorted_codes.T[kept[by_value].T].reshape(n_codes, n_kept).T
        m = window_counts(pool, codes[kept], ops.next_below(radius[kept]))
        row_size = row_size[kept]
        mi = (
            float(scipy.special.digamma(n_kept))
            + ops.digamma(xp.clip(row_size - 1, None, n_neighbors)).mean()
            - ops.digamma(row_size).mean()
            - ops.digamma(m).mean(0)
        )
        columns.append(mi)
    return xp.clip(ops.stack_columns(columns), 0.0, None)


def mutual_information_ksg(codes: Any, factors: Any, *, n_neighbors: int) -> Any:
    """Kraskov–Stögbauer–Grassberger estimate (estimator 1) of I(z_j; v_k), both continuous.

    With ``d_i`` the max-norm distance from point ``i`` to its k-th neighbour in the plane
    ``(z_j, v_k)`` and ``n_x(i)``, ``n_y(i)`` the numbers of other points strictly closer
    than ``d_i`` along each axis alone::

        I = ψ(N) + ψ(k) - <ψ(n_x + 1)> - <ψ(n_y + 1)>

    The max-norm mixes the two axes, so the estimate depends on their relative scale:
    as scikit-learn's ``mutual_info_regression`` does, every column is first divided by its
    standard deviation (a constant column by 1). Returns (D, K) nats, ≥ 0.
    """
    ops = ops_for(codes)
    xp = ops.xp
    codes = _unit_variance(ops.float64(codes), ops)
    factors = _unit_variance(ops.float64(factors), ops)
    n = codes.shape[0]
    sorted_codes = ops.take(codes, ops.argsort(codes))
    constant = float(scipy.special.digamma(n)) + float(scipy.special.digamma(n_neighbors))
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        y = factors[:, k : k + 1] + 0.0 * codes
        radius = ops.next_below(_kth_chebyshev_distance(codes, y, n_neighbors))
        n_x = window_counts(sorted_codes, codes, radius) - 1
        n_y = window_counts(ops.take(y, ops.argsort(y)), y, radius) - 1
        mi = constant - ops.digamma(n_x + 1).mean(0) - ops.digamma(n_y + 1).mean(0)
        columns.append(mi)
    return xp.clip(ops.stack_columns(columns), 0.0, None)


def add_jitter(x: Any, jitter: float, seed: int) -> Any:
    """``x`` plus Gaussian noise of standard deviation ``jitter · max(std_j, mean_j |x|)`` per
    column: scikit-learn's tie-breaking noise (its ``jitter`` is 1e-10), seeded.

    The noise is drawn on the device of ``x``; numpy and torch draw different streams.
    """
    ops = ops_for(x)
    x = ops.float64(x)
    scale = jitter * ops.xp.maximum(ops.std(x), ops.xp.abs(x).mean(0))
    if ops.xp is np:
        return x + scale * np.random.default_rng(seed).standard_normal(x.shape)
    import torch

    generator = torch.Generator(device=x.device).manual_seed(seed)
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + scale * noise


def _unit_variance(x: Any, ops: Any) -> Any:
    std = ops.std(x)
    return x / ops.xp.where(std > 0, std, 1.0)


def _kth_chebyshev_distance(x: Any, y: Any, n_neighbors: int) -> Any:
    """For each (i, j): max-norm distance from (x_ij, y_ij) to its k-th nearest neighbour
    among the points (x_qj, y_qj) of the same column j, the point itself excluded."""
    if ops_for(x).xp is np:
        # One KD-tree for all columns: column j is lifted to height j·gap in a third
        # coordinate, with gap larger than any in-column distance, so no search crosses
        # columns while in-column distances are exact (the third coordinates are equal).
        n, n_codes = x.shape
        gap = 2.0 * float(max(np.ptp(x, axis=0).max(), np.ptp(y, axis=0).max())) + 1.0
        lift = np.broadcast_to(gap * np.arange(n_codes), (n, n_codes))
        points = np.stack([x.T.ravel(), y.T.ravel(), lift.T.ravel()], axis=1)
        tree = scipy.spatial.cKDTree(points)
        distance, _ = tree.query(points, k=n_neighbors + 1, p=np.inf, workers=-1)
        return distance[:, -1].reshape(n_codes, n).T
    return _kth_chebyshev_distance_exhaustive(x, y, n_neighbors)


def _kth_chebyshev_distance_exhaustive(x: Any, y: Any, n_neighbors: int) -> Any:
    """The torch search: exhaustive, in row blocks, on the tensors' device (a GPU's job)."""
    import torch

    n, n_codes = x.shape
    block = max(1, _TORCH_BLOCK_ELEMENTS // (n * n_codes))
    out = torch.empty_like(x)
    for start in range(0, n, block):
        rows = slice(start, start + block)
        reach = torch.maximum(
            (x[rows, None, :] - x[None, :, :]).abs(), (y[rows, None, :] - y[None, :, :]).abs()
        )
        # The point itself is at distance 0, so the (k + 1)-th smallest is the k-th neighbour.
        out[rows] = reach.kthvalue(n_neighbors + 1, dim=1).values
    return out
