"""k-nearest-neighbour mutual-information estimators: continuous–discrete and KSG.

Both reproduce scikit-learn's private workers pair for pair (``_compute_mi_cd`` and
``_compute_mi_cc`` in ``sklearn/feature_selection/_mutual_info.py``), but every (code,
factor) pair is computed at once. Each pair is one-dimensional against one-dimensional, so
neighbour counts come from sorted columns, not from KD-trees.

Counting rule (scikit-learn's): with ``r`` the distance to the k-th neighbour, a point ``q``
is counted for ``p`` when ``|x_q - x_p| <= nextafter(r, 0)``, i.e. strictly closer than the
k-th neighbour. Distances are computed exactly as ``|x_q - x_p|`` in the input's float type.
Units: nats. Negative estimates are clipped to 0, as scikit-learn does.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.spatial
import scipy.special

from disbench.estimators._backend import ops_for

#: Elements per block of the exhaustive neighbour search of the torch KSG back end.
_TORCH_BLOCK_ELEMENTS = 1 << 24


class SortedColumns:
    """Columns sorted ascending, prepared once for any number of exact counts of the values
    near given centres.

    A count is found in two steps: a guess, from a binary search or from positions the
    caller already knows, then ``settle``, which checks every guess against the counting
    predicate itself, evaluated in floating point as the estimators define it, and corrects
    the few wrong ones. Rounding in a guess therefore cannot change a count.
    """

    def __init__(self, values: Any) -> None:
        ops = ops_for(values)
        self.ops = ops
        self.index = ops.search_index(values)
        # The values between a row of -inf and a row of +inf: row b holds the value just
        # below boundary b and row b + 1 the value just above it, for every b in 0..n.
        inf = ops.full((1, values.shape[1]), float("inf"), values)
        self._padded = ops.concat([-inf, values, inf])
        self.values = self._padded[1:-1]

    @functools.cached_property
    def tie_blocks(self) -> tuple[Any, Any]:
        """For each sorted position, where its block of equal values starts and ends
        (exclusive); needed only when a guess is wrong, so computed on first use."""
        return _tie_blocks(self.values, self.ops)

    def count_at_most(self, queries: Any) -> Any:
        """For each (i, j): how many values of column j are <= ``queries[i, j]``, a guess for
        ``settle`` (the search may round)."""
        return self.ops.searchsorted(self.index, queries)

    def settle(self, count: Any, centres: Any, threshold: Any, *, strict: bool) -> Any:
        """The exact number of leading values ``s`` of each column with ``s - c <= t`` (with
        ``strict``, ``s - c < t``), for ``c = centres[i, j]`` and ``t = threshold[i, j]``,
        from ``count``, a guess of it.

        The predicate is monotone along a sorted column (true, then false), so a boundary
        is right when the value just below it passes and the value just above it fails. All
        boundaries are checked at once; the wrong ones, usually few, are then gathered and
        moved one block of tied values at a time until they are right.
        """
        ops = self.ops
        xp = ops.xp
        columns = self.values.shape[1]

        def wrong_sides(below: Any, centre: Any, limit: Any) -> tuple[Any, Any]:
            """For boundaries whose lower neighbours lie at flat ``below`` of the padded
            values: whether the value just above passes (the boundary must rise) and whether
            the value just below fails (it must fall)."""
            above = xp.take(self._padded, below + columns) - centre
            under = xp.take(self._padded, below) - centre
            if strict:
                return above < limit, under >= limit
            return above <= limit, under > limit

        grow, shrink = wrong_sides(ops.flat_index(count), centres, threshold)
        wrong = ops.nonzero((grow | shrink).reshape(-1))
        if wrong.shape[0] == 0:
            return count
        column = wrong % columns
        centre = xp.take(centres, wrong)
        limit = xp.take(threshold, wrong)
        boundary = xp.take(count, wrong)
        tie_start, tie_end = self.tie_blocks
        last = self.values.shape[0] - 1
        while True:
            grow, shrink = wrong_sides(boundary * columns + column, centre, limit)
            if not bool(grow.any() | shrink.any()):
                break
            # Past the block of ties just above, or back to the start of the one just below.
            end = xp.take(tie_end, xp.clip(boundary, None, last) * columns + column)
            start = xp.take(tie_start, xp.clip(boundary - 1, 0, None) * columns + column)
            boundary = xp.where(grow, end, xp.where(shrink, start, boundary))
        count = ops.copy(count)
        count.reshape(-1)[wrong] = boundary
        return count

    def window_counts(self, centres: Any, radius: Any) -> Any:
        """For each (i, j): how many values of column j lie within ``radius[i, j]`` of
        ``centres[i, j]``, by the predicate ``|s - c| <= radius`` in floating point."""
        upper = self.settle(self.count_at_most(centres + radius), centres, radius, strict=False)
        # |s - c| <= radius fails below the window where c - s > radius, i.e. s - c < -radius.
        lower = self.settle(self.count_at_most(centres - radius), centres, -radius, strict=True)
        return upper - lower


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
    n, n_codes = codes.shape
    # The order among tied values is irrelevant: every count below is decided by values.
    by_value = ops.argsort(codes, stable=False)
    all_points = SortedColumns(ops.float64(ops.take(codes, by_value)))
    # Each m_i is an integer in 1..n: ψ is looked up, not evaluated n · n_codes times.
    digamma_of = ops.digamma(ops.arange(n + 1, codes))
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        labels = factors[:, k]
        sizes = ops.bincount(labels, minlength=int(factor_sizes[k]))
        row_size = sizes[labels]
        kept = row_size > 1
        n_kept = int(kept.sum())
        if n_kept == 0:
            columns.append(ops.full((n_codes,), 0.0, codes))
            continue
        sorted_labels = ops.small_int(labels, len(sizes))[by_value]
        if n_kept == n:
            pool = all_points
        else:
            kept_sorted = kept[by_value].T
            kept_values = all_points.values.T[kept_sorted].reshape(n_codes, n_kept).T
            pool = SortedColumns(ops.copy(kept_values))
            sorted_labels = ops.copy(sorted_labels.T[kept_sorted].reshape(n_codes, n_kept).T)
        # Labels seen once are not in the pool.
        m = _strictly_closer_counts(pool, sorted_labels, xp.where(sizes > 1, sizes, 0), n_neighbors)
        row_size = row_size[kept]
        mi = (
            float(scipy.special.digamma(n_kept))
            + ops.digamma(xp.clip(row_size - 1, None, n_neighbors)).mean()
            - ops.digamma(row_size).mean()
            - digamma_of[m].mean(0)
        )
        columns.append(mi)
    return xp.clip(ops.stack_columns(columns), 0.0, None)


def _strictly_closer_counts(
    pool: SortedColumns, sorted_labels: Any, sizes: Any, n_neighbors: int
) -> Any:
    """``m`` of Ross's estimator for every point of ``pool``, in an order of its own.

    ``sorted_labels[i, j]`` is the label of the i-th smallest value of column j and ``sizes``
    the number of points of each label (every label present occurs at least twice).

    The k nearest neighbours of a point within its label form a window of k + 1 consecutive
    points of the label's sorted run, and the window's farther end lies at the k-th
    neighbour distance ``r``. That end is a point of the pool whose sorted position is
    known, so the count's boundary on its side needs no search: it lies just past that end
    (for ``r = 0``, at it). Only the boundary on the other side is searched: one search per
    point instead of two. ``settle`` then checks both boundaries.
    """
    ops = pool.ops
    xp = ops.xp
    # Rows grouped by label, ascending within each label: a stable sort of the labels in
    # value order. The label blocks sit at the same rows in every column.
    to_sorted = ops.argsort(sorted_labels, stable=True)
    values = ops.take(pool.values, to_sorted)
    block_label = sorted_labels[to_sorted[:, 0], 0]
    block_start = (ops.cumsum(sizes) - sizes)[block_label]
    radius, ends, at_radius = _kth_neighbour_windows(
        values, block_start, sizes[block_label], n_neighbors
    )
    end_left, end_right = (xp.take(to_sorted, end) for end in ends)
    left_known, right_known = at_radius
    # Counted: |s - c| <= r', with r' the float just below r (0 when r is 0). A window end at
    # distance r > 0 is not counted, so the boundary on its side lies just past it; for
    # r = 0 the ends are tied with the point itself, and settle takes in their whole block
    # of ties. The other boundary is searched: at c + r' when the left end lies at distance
    # r, at c - r' when only the right one does.
    within = ops.next_below(radius)
    positive = radius > 0
    searched = pool.count_at_most(values + (2.0 * left_known - 1.0) * within)
    # Arithmetic selections: numpy's `where` is several times slower on irregular masks.
    lower = searched + left_known * (end_left + positive - searched)
    upper = searched + right_known * (end_right + ~positive - searched)
    upper = pool.settle(upper, values, within, strict=False)
    lower = pool.settle(lower, values, -within, strict=True)
    return upper - lower


def _kth_neighbour_windows(
    values: Any, block_start: Any, block_size: Any, n_neighbors: int
) -> tuple[Any, tuple[Any, Any], tuple[Any, Any]]:
    """The k nearest neighbours of each point within its block of rows.

    ``values`` is sorted within each block of rows; row i's block starts at row
    ``block_start[i]`` and holds ``block_size[i] >= 2`` rows, and its point has
    ``k_i = min(k, block_size[i] - 1)`` neighbours. Returns the distance ``r`` to the
    k_i-th neighbour, the two ends of the window of the k_i nearest as flat indices of
    ``values``, and whether each end lies at distance ``r`` (at least one does).
    """
    ops = ops_for(values)
    xp = ops.xp
    n, n_codes = values.shape
    k_eff = xp.clip(block_size - 1, None, n_neighbors)
    position = ops.arange(n, values)
    # Rows n and n + 1 stand in for the ends of windows that leave the block: -inf and
    # +inf, whose reach is infinite, so such windows are never chosen.
    inf = ops.full((1, n_codes), float("inf"), values)
    extended = ops.concat([values, -inf, inf])
    radius = ops.full(tuple(values.shape), float("inf"), values)
    best_shift = ops.small_int(xp.zeros_like(values, dtype=xp.int64), n_neighbors + 1)
    # The k-th neighbour distance is the smallest reach over the windows [i - s, i - s + k].
    for shift in range(n_neighbors + 1):
        left = position - shift
        right = left + k_eff
        inside = (left >= block_start) & (right < block_start + block_size)
        left = xp.where(inside, left, n)
        right = xp.where(inside, right, n + 1)
        reach = xp.maximum(
            values - ops.take_rows(extended, left), ops.take_rows(extended, right) - values
        )
        best_shift += (reach < radius) * (shift - best_shift)
        radius = xp.minimum(radius, reach)
    left = ops.flat_index(position[:, None] - best_shift)
    right = left + (k_eff * n_codes)[:, None]
    to_left = values - xp.take(values, left)
    to_right = xp.take(values, right) - values
    return radius, (left, right), (to_left >= to_right, to_right >= to_left)


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
    by_value = ops.argsort(codes, stable=False)
    sorted_codes = ops.take(codes, by_value)
    x_points = SortedColumns(sorted_codes)
    constant = float(scipy.special.digamma(n)) + float(scipy.special.digamma(n_neighbors))
    columns = []
    # One factor at a time keeps memory at O(n · n_codes); each step covers every code.
    for k in range(factors.shape[1]):
        y = factors[:, k : k + 1] + 0.0 * codes
        radius = ops.next_below(_kth_chebyshev_distance(codes, y, n_neighbors))
        # Counts are taken in value order, where the centres are the sorted values themselves.
        n_x = x_points.window_counts(sorted_codes, ops.take(radius, by_value)) - 1
        by_y = ops.argsort(factors[:, k], stable=False)
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
