"""Input checks and small pieces of maths shared by the metrics.

Public metric functions call ``check_codes_factors`` once; everything else here trusts
its inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from disbench._validation import check_matrix, check_same_rows, is_tensor


def as_numpy(x: Any) -> Any:
    """A torch tensor as a numpy array (metrics run on the host); anything else unchanged."""
    return x.detach().cpu().numpy() if is_tensor(x) else x


def check_codes(codes: Any, name: str = "codes", *, keep_float32: bool = False) -> np.ndarray:
    """Validate codes and return them as a float64 (n_samples, n_codes) numpy array.

    With ``keep_float32``, float32 codes stay float32: disentanglement_lib bins its
    encoders' float32 outputs with float32 histogram edges (numpy's ``np.histogram`` works
    in the input's precision), and metrics that reproduce it to the last bin need the same.
    Raises ``ValueError`` for NaN or infinite values, naming the dimensions.
    """
    codes = check_matrix(as_numpy(codes), name)
    single = keep_float32 and codes.dtype == np.float32
    return np.asarray(codes, dtype=np.float32 if single else np.float64)


def check_codes_factors(
    codes: Any,
    factors: Any,
    *,
    metric: str,
    min_rows: int = 2,
    discrete_factors: bool = True,
    prefix: str = "",
    keep_float32: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (codes, factors) pair for ``metric`` and return them as numpy arrays.

    codes become float64 (n_samples, n_codes), or stay float32 with ``keep_float32`` (see
    ``check_codes``); factors (n_samples, n_factors) become int64 when ``discrete_factors``
    (refusing non-integral values with a message that says how to proceed), else float64.
    Raises ``ValueError`` for NaN or infinite codes (naming the dimensions), mismatched
    rows, or fewer than ``min_rows`` rows.
    """
    codes_name, factors_name = f"{prefix}codes", f"{prefix}factors"
    codes = check_codes(codes, codes_name, keep_float32=keep_float32)
    factors = check_matrix(as_numpy(factors), factors_name)
    check_same_rows(codes, factors, (codes_name, factors_name))
    if codes.shape[0] < min_rows:
        raise ValueError(
            f"{metric} needs at least {min_rows} samples; got {codes.shape[0]} rows of {codes_name}"
        )
    if not discrete_factors:
        return codes, np.asarray(factors, dtype=np.float64)
    continuous = continuous_columns(factors)
    if continuous:
        raise ValueError(
            f"{metric} needs discrete factors, but {factors_name} columns {continuous} hold "
            "non-integer values; pass class labels (e.g. "
            "disbench.estimators.discretize(factors, strategy='histogram'))"
        )
    return codes, np.asarray(factors, dtype=np.int64)


def continuous_columns(factors: np.ndarray) -> list[int]:
    """Indices of the columns that hold non-integer values."""
    if not np.issubdtype(factors.dtype, np.floating):
        return []
    return np.flatnonzero((factors != np.round(factors)).any(axis=0)).tolist()


def check_same_codes(codes: np.ndarray, test_codes: np.ndarray, metric: str) -> None:
    """Raise unless train and test codes have the same number of dimensions."""
    if codes.shape[1] != test_codes.shape[1]:
        raise ValueError(
            f"{metric}: codes and test_codes must have the same number of dimensions; "
            f"got {codes.shape[1]} and {test_codes.shape[1]}"
        )


def sklearn_seed(rng: int | np.random.Generator | None) -> int:
    """A ``random_state`` for scikit-learn estimators, derived from the run's seed."""
    return int(np.random.default_rng(rng).integers(2**31 - 1))


def train_test(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray | None,
    test_factors: np.ndarray | None,
    rng: np.random.Generator,
    *,
    metric: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The train and test sets: the given test set, or else a seeded random third of the
    rows held out (the 10,000 : 5,000 proportion of disentanglement_lib's study)."""
    if (test_codes is None) != (test_factors is None):
        raise ValueError(f"{metric}: pass test_codes and test_factors together, or neither")
    if test_codes is not None:
        return codes, factors, test_codes, test_factors
    order = rng.permutation(codes.shape[0])
    n_test = codes.shape[0] // 3
    train, test = order[n_test:], order[:n_test]
    return codes[train], factors[train], codes[test], factors[test]


def single_valued(factors: np.ndarray) -> np.ndarray:
    """Boolean mask of the factor columns that take one value only."""
    return (factors == factors[:1]).all(axis=0)


def skipped_factor_notes(
    mask: np.ndarray, reason: str = "it takes a single value"
) -> tuple[str, ...]:
    """One note per skipped factor column, e.g. ``"factor 2 skipped: it takes a single value"``."""
    return tuple(f"factor {k} skipped: {reason}" for k in np.flatnonzero(mask))


def top_two_gap(matrix: np.ndarray, axis: int) -> np.ndarray:
    """Largest minus second-largest entry along ``axis`` (the largest itself if only one)."""
    if matrix.shape[axis] < 2:
        return np.take(matrix, 0, axis=axis)
    top = -np.partition(-matrix, 1, axis=axis)
    return np.take(top, 0, axis=axis) - np.take(top, 1, axis=axis)
