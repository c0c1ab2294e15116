"""The few array operations whose numpy and torch spellings differ.

The estimators are written once against this interface, so the numpy and the torch
back ends run the same algorithm. The torch back end allocates every new tensor on the
device of its inputs and never copies to the host.
All operations work along axis 0, the sample axis, unless they say otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from disbench._validation import is_tensor

#: Values per block of ``_reduce_columns``.
_REDUCE_BLOCK_VALUES = 4096


def _reduce_columns(ufunc: np.ufunc, x: Any) -> Any:
    """``ufunc.reduce(x, axis=0)`` for an order-free ``ufunc`` (minimum, maximum), fast for
    few columns.

    numpy reduces a C-ordered (n, d) array along axis 0 one short row of d values at a
    time. Viewed as blocks of b rows, each one contiguous run of b · d values, the same
    reduction runs over long rows, and then over the b rows of partial results: about 20x
    faster for d = 10.
    """
    n, d = x.shape
    rows = max(1, _REDUCE_BLOCK_VALUES // d)
    whole = n - n % rows
    if whole == 0 or not x.flags.c_contiguous:
        return ufunc.reduce(x, axis=0)
    out = ufunc.reduce(ufunc.reduce(x[:whole].reshape(-1, rows * d), axis=0).reshape(rows, d))
    if whole < n:
        out = ufunc(out, ufunc.reduce(x[whole:], axis=0))
    return out


class NumpyOps:
    """numpy spellings; float64 accumulation."""

    xp = np

    @staticmethod
    def float64(x: Any) -> Any:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def int64(x: Any) -> Any:
        return np.asarray(x, dtype=np.int64)

    @staticmethod
    def is_float(x: Any) -> bool:
        return bool(np.issubdtype(x.dtype, np.floating))

    @staticmethod
    def cast_like(x: Any, like: Any) -> Any:
        return np.asarray(x, dtype=like.dtype)

    @staticmethod
    def to_host(x: Any) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def from_host(x: np.ndarray, like: Any) -> Any:
        return x

    @staticmethod
    def arange(n: int, like: Any) -> Any:
        return np.arange(n, dtype=np.int64)

    @staticmethod
    def full(shape: tuple[int, ...], value: float, like: Any) -> Any:
        return np.full(shape, value, dtype=np.float64)

    @staticmethod
    def amin(x: Any) -> Any:
        return _reduce_columns(np.minimum, x)

    @staticmethod
    def amax(x: Any) -> Any:
        return _reduce_columns(np.maximum, x)

    @staticmethod
    def std(x: Any) -> Any:
        return np.std(x, axis=0)

    @staticmethod
    def argsort(x: Any, *, stable: bool) -> Any:
        """Sorting permutation of each column; ``stable=False`` leaves tied values in any
        order and lets numpy use its vectorised quicksort, several times faster."""
        return np.argsort(x, axis=0, kind="stable" if stable else None)

    @staticmethod
    def flat_index(index: Any) -> Any:
        """Positions ``index[i, j]`` of column j as indices into the flattened array, for
        ``xp.take``: one index serves several gathers of same-shaped arrays."""
        flat = index * index.shape[1]
        flat += np.arange(index.shape[1])  # in place: a second temporary costs more than the sum
        return flat

    @staticmethod
    def take(x: Any, index: Any) -> Any:
        """``np.take_along_axis(x, index, 0)``, as one flat gather: about twice as fast."""
        return np.take(x, NumpyOps.flat_index(index))

    @staticmethod
    def take_rows(x: Any, rows: Any) -> Any:
        """``x[rows]`` for a 1-D ``rows``; ``np.take`` is several times faster than indexing."""
        return np.take(x, rows, axis=0)

    @staticmethod
    def scatter(index: Any, values: Any) -> Any:
        """The array ``out`` with ``out[index[i, j], j] = values[i, j]``."""
        columns = values.shape[1]
        out = np.empty(values.size, dtype=values.dtype)
        out[index * columns + np.arange(columns)] = values
        return out.reshape(values.shape)

    @staticmethod
    def cumsum(x: Any) -> Any:
        return np.cumsum(x, axis=0)

    @staticmethod
    def cummax(x: Any) -> Any:
        return np.maximum.accumulate(x, axis=0)

    @staticmethod
    def flip(x: Any) -> Any:
        return x[::-1]

    @staticmethod
    def small_int(labels: Any, n_values: int) -> Any:
        """Labels in the narrowest integer type: numpy sorts 8- and 16-bit keys by radix."""
        for dtype in (np.int8, np.int16):
            if n_values <= np.iinfo(dtype).max:
                return labels.astype(dtype)
        return labels

    @staticmethod
    def concat(arrays: list[Any]) -> Any:
        return np.concatenate(arrays, axis=0)

    @staticmethod
    def stack_columns(arrays: list[Any]) -> Any:
        return np.stack(arrays, axis=1)

    @staticmethod
    def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
        return np.bincount(x, weights=weights, minlength=minlength)

    @staticmethod
    def unique_counts(x: Any) -> tuple[Any, Any]:
        return np.unique(x, return_counts=True)

    @staticmethod
    def copy(x: Any) -> Any:
        """A C-contiguous copy, whose ``reshape(-1)`` is a view to write through."""
        return np.array(x, order="C", copy=True)

    @staticmethod
    def nonzero(x: Any) -> Any:
        return np.flatnonzero(x)

    @staticmethod
    def digamma(x: Any) -> Any:
        return scipy.special.digamma(np.asarray(x, dtype=np.float64))

    @staticmethod
    def next_below(x: Any) -> Any:
        """``np.nextafter(x, 0)``, by stepping the bit pattern: the magnitude of a float
        falls by one unit in the last place when its bits, read as an integer, fall by one.
        Several times faster than ``np.nextafter``."""
        x = np.asarray(x, dtype=np.float64)
        return (x.view(np.int64) - (x != 0)).view(np.float64)

    @staticmethod
    def search_index(sorted_columns: Any) -> Any:
        """Prepare ``sorted_columns`` (each column ascending) for ``searchsorted``.

        numpy searches one 1-D array at a time, so the columns are laid end to end after a
        monotone map of column j onto [2j, 2j + 1]: one search then answers for every
        column. The map rounds, so counts are exact only up to values within rounding of
        each other; callers that need exact boundaries correct them with their own
        predicate (see ``disbench.estimators.knn.SortedColumns``).
        """
        lo = sorted_columns[0]
        width = sorted_columns[-1] - lo
        width = np.where(width > 0, width, 1.0)
        offset = 2.0 * np.arange(sorted_columns.shape[1])

        def mapped(a: Any) -> Any:
            return (np.clip((a - lo) / width, -0.5, 1.5) + offset).T.ravel()

        return mapped, mapped(sorted_columns), sorted_columns.shape[0]

    @staticmethod
    def searchsorted(index: Any, values: Any) -> Any:
        """Per column j, how many sorted values of column j are <= each of ``values[:, j]``."""
        mapped, flat, rows = index
        columns = values.shape[1]
        keys = mapped(values)
        # numpy's binary search is about twice as fast over sorted keys, where successive
        # searches take the same path; sorting them first costs less than it saves.
        order = np.argsort(keys)
        counts = np.empty_like(order)
        counts[order] = np.searchsorted(flat, keys[order], side="right")
        counts = counts.reshape(columns, values.shape[0])
        counts -= rows * np.arange(columns)[:, None]
        return np.ascontiguousarray(np.clip(counts, 0, rows, out=counts).T)


def ops_for(x: Any) -> Any:
    """The operations for ``x``'s array library (torch's are imported only when needed)."""
    if is_tensor(x):
        from disbench.estimators._backend_torch import TorchOps

        return TorchOps
    return NumpyOps
