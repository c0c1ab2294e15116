"""Discretisers: continuous columns to integer labels, every column at once.

Each strategy maps an ``(n_samples, n_columns)`` array to int64 labels of the same shape,
column by column, with no Python loop over columns. Labels start at 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_choice, check_matrix, check_positive_int
from disbench.estimators._backend import ops_for

STRATEGIES = ("histogram", "equal_width", "quantile", "unique")


def discretize(x: Any, *, strategy: str = "histogram", num_bins: int = 20) -> Any:
    """Discretise each column of ``x`` into integer labels.

    Parameters
    ----------
    x : array-like or torch.Tensor of shape (n_samples, n_columns)
        Values to discretise; a 1-D input is one column. NaN and infinity are refused.
    strategy : {"histogram", "equal_width", "quantile", "unique"}, default="histogram"
        - ``"histogram"``: disentanglement_lib's rule. Edges are ``np.histogram(x_j,
          num_bins)[1]`` (``num_bins`` equal bins over min..max, min - 0.5..max + 0.5 for a
          constant column) and labels are ``np.digitize(x_j, edges[:-1]) - 1``: every value
          falls in a bin, the maximum in the last.
        - ``"equal_width"``: Carbonneau et al.'s rule. Each column is scaled to [0, 1] as
          ``sklearn.preprocessing.minmax_scale`` does (a constant column is all 0) and
          labelled by ``np.digitize`` on the ``num_bins`` equal bins of [0, 1], last edge
          dropped.
        - ``"quantile"``: equal-frequency bins: ``floor(rank * num_bins / n_samples)`` with
          ``rank`` the number of values strictly below, so tied values share a bin.
        - ``"unique"``: one label per distinct value, in increasing order (for codes or
          factors that are already discrete). ``num_bins`` is ignored.
    num_bins : int, default=20
        Number of bins.

    Returns
    -------
    labels : ndarray or torch.Tensor of shape (n_samples, n_columns), int64
        Bin labels from 0, on the device of ``x`` for tensors.

    Notes
    -----
    The histogram rule reproduces ``disentanglement_lib.evaluation.metrics.utils.
    _histogram_discretize`` (google-research/disentanglement_lib @86a644d) bin for bin,
    including float32 inputs, whose edges numpy computes in float32; disentanglement_lib's
    labels start at 1, these at 0, which changes no entropy or mutual information.

    Examples
    --------
    >>> import numpy as np
    >>> discretize(np.array([[0.0], [0.1], [0.5], [1.0]]), num_bins=2).ravel().tolist()
    [0, 0, 1, 1]
    >>> discretize(np.array([3.0, 7.0, 3.0, 5.0]), strategy="unique").ravel().tolist()
    [0, 2, 0, 1]
    """
    check_choice(strategy, "strategy", STRATEGIES)
    num_bins = check_positive_int(num_bins, "num_bins")
    x = check_matrix(x, "x")
    return _discretize(x, strategy, num_bins)[0]


def _discretize(x: Any, strategy: str, num_bins: int) -> tuple[Any, np.ndarray]:
    """Labels of each column, and how many labels each column may take (host int64 array)."""
    ops = ops_for(x)
    if strategy == "unique":
        return _unique_labels(x, ops)
    if strategy == "histogram":
        labels = _histogram_labels(x, num_bins, ops)
    elif strategy == "equal_width":
        labels = _equal_width_labels(x, num_bins, ops)
    else:
        labels = _quantile_labels(x, num_bins, ops)
    return labels, np.full(x.shape[1], num_bins, dtype=np.int64)


def _unique_labels(x: Any, ops: Any) -> tuple[Any, np.ndarray]:
    if not ops.is_float(x):
        x = ops.int64(x)
        lo = ops.amin(x)
        top = ops.to_host(ops.amax(x) - lo)
        if int(top.max()) < max(x.shape[0], 1 << 16):
            return _small_integer_labels(x - lo, top, ops)
    order = ops.argsort(x, stable=False)
    ordered = ops.take(x, order)
    starts = ops.concat([ordered[:1] == ordered[:1], ordered[1:] != ordered[:-1]])
    ranks = ops.cumsum(ops.int64(starts)) - 1
    return ops.scatter(order, ranks), ops.to_host(ranks[-1] + 1)


def _small_integer_labels(offsets: Any, top: np.ndarray, ops: Any) -> tuple[Any, np.ndarray]:
    """Labels of integers in 0..top[j] (column j) by counting, not sorting: O(n) per column."""
    n_columns = offsets.shape[1]
    span = int(top.max()) + 1
    keys = offsets + ops.arange(n_columns, offsets)[None, :] * span
    present = ops.bincount(keys.reshape(-1), minlength=n_columns * span) > 0
    rank = ops.cumsum(ops.int64(present.reshape(n_columns, span).T)) - 1
    n_values = ops.to_host(rank[-1] + 1)
    if (n_values == top + 1).all():  # every value in 0..top occurs: already labels
        return offsets, n_values
    return ops.take(rank, offsets), n_values


def _histogram_labels(x: Any, num_bins: int, ops: Any) -> Any:
    xp = ops.xp
    if not ops.is_float(x):
        x = ops.float64(x)
    lo, hi = ops.amin(x), ops.amax(x)
    constant = lo == hi
    lo = xp.where(constant, lo - 0.5, lo)
    hi = xp.where(constant, hi + 0.5, hi)
    # np.digitize(x, edges[:-1]) - 1 is the number of edges <= x after the first, with
    # edges = np.linspace(lo, hi, num_bins + 1), which numpy evaluates as i * step + lo in
    # x's dtype. Start from the arithmetic guess and correct it against those same edge
    # values, so that values on an edge fall as numpy's do. Labels stay floats (exact small
    # integers) until the end; edges below the last are compared, the last being hi.
    # (The arithmetic is done in place: a new array per step would cost as much again.)
    step = (hi - lo) / num_bins
    label = x - lo
    label /= step
    xp.floor(label, out=label)
    xp.clip(label, 0, num_bins - 1, out=label)
    edge = xp.empty_like(label)
    while True:
        xp.multiply(label, step, out=edge)
        edge += lo
        down = edge > x
        xp.add(label, 1, out=edge)
        edge *= step
        edge += lo
        up = edge <= x
        up &= label < num_bins - 1
        if not bool(up.any() | down.any()):
            return ops.int64(label)
        label += ops.cast_like(up, x)
        label -= ops.cast_like(down, x)


def _equal_width_labels(x: Any, num_bins: int, ops: Any) -> Any:
    xp = ops.xp
    x = ops.float64(x)
    lo, hi = ops.amin(x), ops.amax(x)
    span = hi - lo
    # sklearn's minmax_scale arithmetic, x * scale + min, so values on an edge bin alike.
    scale = 1.0 / xp.where(span > 0, span, 1.0)
    scaled = x * scale + (0.0 - lo * scale)
    edges = np.linspace(0.0, 1.0, num_bins + 1)[:-1]
    if xp is np:
        return np.digitize(scaled, edges) - 1
    return xp.bucketize(scaled, ops.from_host(edges, x), right=True) - 1


def _quantile_labels(x: Any, num_bins: int, ops: Any) -> Any:
    n = x.shape[0]
    order = ops.argsort(x, stable=False)
    ordered = ops.take(x, order)
    new = ops.concat([ordered[:1] == ordered[:1], ordered[1:] != ordered[:-1]])
    # The rank of a value is the position of the first of its ties in sorted order.
    rank = ops.cummax(ops.xp.where(new, ops.arange(n, x)[:, None], 0))
    return ops.scatter(order, (rank * num_bins) // n)
