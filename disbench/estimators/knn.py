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


class SortedColumns:
    """Columns sorted ascending, prepared once for any number of exact window counts."""

    def __init__(self, values: Any) -> None:
        self.values = values
        self.ops = ops_for(values)
        self.index = self.ops.search_index(values)
        self.tie_start, self.tie_end = _tie_blocks(values, self.ops)

    def window_counts(self, centres: Any, radius: Any) -> Any:
        """For each (i, j): how many values of column j lie within ``radius[i, j]`` of
        ``centres[i, j]``, by the predicate ``|s - c| <= radius`` in floating point.

        The boundaries start from a binary search on ``c ± radius`` and are then moved, one
        block of tied values at a time, until the predicate itself agrees, so rounding in
        ``c ± radius`` cannot change a count. Fastest when each column of ``centres`` is
        sorted, as the estimators pass them.
        """
        upper = self._boundary(
            self.ops.searchsorted(self.index, centres + radius),
            lambda value: value - centres <= radius,
        )
        lower = self._boundary(
            self.ops.searchsorted(self.index, centres - radius),
            lambda value: centres - value > radius,
        )
        return upper - lower

    def _boundary(self, count: Any, inside: Any) -> Any:
        """Correct ``count``, a guess of how many leading values satisfy the monotone
        predicate ``inside`` (true, then false, along each column), to the exact number."""
        ops, values = self.ops, self.values
        rows = values.shape[0]
        while True:
            below = ops.xp.clip(count - 1, 0, rows - 1)
            at = ops.xp.clip(count, 0, rows - 1)
            grow = (count < rows) & inside(ops.take(values, at))
            shrink = (count > 0) & ~inside(ops.take(values, below))
            if not bool(grow.any() | shrink.any()):
                return count
            count = ops.xp.where(
                grow,
                ops.take(self.tie_end, at),
                ops.xp.where(shrink, ops.take(self.tie_start, below), count),
            )


def _tie_blocks(sorted_columns: Any, ops: Any) -> tuple[Any, Any]:
    """For each sorted position, where its block of equal values starts and ends (exclusive)."""
    rows = sorted_columns.shape[0]
    position = ops.arange(rows, sorted_columns)[:, None]
    same = sorted_columns[1:] == sorted_columns[:-1]
    first = ops.concat([same[:1] & False, same])
    start = ops.cummax(ops.xp.where(first, 0, position))
    last = ops.concat([same, same[:1] & False])
    end = rows - ops.flip(ops.cummax(ops.flip(ops.xp.where(last, 0, rows - 1 - position))))
    return start, end


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
    all_points = SortedColumns(sorted_codes)
    position = ops.arange(n, codes)
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        labels = factors[:, k]
        sizes = ops.bincount(labels, minlength=int(factor_sizes[k]))
        # Rows grouped by label, by value within each label: a stable sort of the labels
        # taken in value order. The label blocks sit at the same positions in every column.
        to_grouped = ops.argsort(ops.small_int(labels[by_value], len(sizes)))
        grouped = ops.take(by_value, to_grouped)
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
        # Counts are taken in value order, where the searches are fastest; the averages
        # below do not depend on the order of the points.
        radius = ops.scatter(to_grouped, radius)
        row_size = sizes[labels]
        kept = row_size > 1
        n_kept = int(kept.sum())
        if n_kept == 0:
            columns.append(ops.full((n_codes,), 0.0, codes))
            continue
        if n_kept == n:
            pool, radius_kept = all_points, radius
        else:
            kept_sorted = kept[by_value].T
            pool = SortedColumns(sorted_codes.T[kept_sorted].reshape(n_codes, n_kept).T)
            radius_kept = radius.T[kept_sorted].reshape(n_codes, n_kept).T
        m = pool.window_counts(pool.values, ops.next_below(radius_kept))
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
    by_value = ops.argsort(codes)
    sorted_codes = ops.take(codes, by_value)
    x_points = SortedColumns(sorted_codes)
    constant = float(scipy.special.digamma(n)) + float(scipy.special.digamma(n_neighbors))
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        y = factors[:, k : k + 1] + 0.0 * codes
        radius = ops.next_below(_kth_chebyshev_distance(codes, y, n_neighbors))
        # Counts are taken in value order, where the searches are fastest.
        n_x = x_points.window_counts(sorted_codes, ops.take(radius, by_value)) - 1
        by_y = ops.argsort(factors[:, k])
        y_points = SortedColumns(y[by_y])
        n_y = y_points.window_counts(y_points.values, radius[by_y]) - 1
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
