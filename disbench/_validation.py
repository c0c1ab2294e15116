"""Input checks shared by the estimators and the metrics.

Public functions call these once, at the edge; private helpers trust their inputs.
Arrays are oriented ``(n_samples, n_columns)`` everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a ``torch.Tensor``, without importing torch when it is not loaded."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_matrix(x: Any, name: str, *, finite: bool = True) -> Any:
    """Return ``x`` as a 2-D numeric array (numpy) or tensor (torch), or raise ``ValueError``.

    A 1-D input is taken as a single column. Empty inputs, inputs of more than two
    dimensions, non-numeric inputs and (with ``finite=True``) NaN or infinite values
    are refused with a message that names ``name`` and what was expected.
    """
    if is_tensor(x):
        if x.dtype.is_complex:
            raise TypeError(f"{name} must hold real numbers; got a tensor of dtype {x.dtype}")
    else:
        x = np.asarray(x)
        if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{name} must hold real numbers; got an array of dtype {x.dtype}")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n_samples, n_columns); got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"{name} is empty: got shape {tuple(x.shape)}; expected at least one row and one column"
        )
    if finite:
        bad = _nonfinite_columns(x)
        if bad:
            raise ValueError(
                f"{name} has NaN or infinite values in columns {bad}; "
                "remove those rows or columns, or fix the model that produced them"
            )
    return x


def check_same_rows(a: Any, b: Any, names: tuple[str, str]) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same number of rows."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have one row per sample; "
            f"got {a.shape[0]} and {b.shape[0]} rows"
        )


def check_same_backend(a: Any, b: Any, names: tuple[str, str]) -> None:
    """Raise ``TypeError`` when one input is a tensor and the other is not, or devices differ."""
    if is_tensor(a) != is_tensor(b):
        raise TypeError(
            f"{names[0]} and {names[1]} must both be numpy arrays or both be torch tensors; "
            f"got {type(a).__name__} and {type(b).__name__}"
        )
    if is_tensor(a) and a.device != b.device:
        raise ValueError(
            f"{names[0]} and {names[1]} must be on the same device; got {a.device} and {b.device}"
        )


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def _nonfinite_columns(x: Any) -> list[int]:
    if is_tensor(x):
        if not x.dtype.is_floating_point:
            return []
        ok = x.isfinite().all(dim=0)
        return [] if bool(ok.all()) else (~ok).nonzero().flatten().tolist()
    if not np.issubdtype(x.dtype, np.floating):
        return []
    ok = np.isfinite(x).all(axis=0)
    return np.flatnonzero(~ok).tolist()
