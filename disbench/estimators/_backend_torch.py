"""torch spellings of the operations in ``_backend``; imported only for tensor inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class TorchOps:
    """torch spellings; stays on the inputs' device."""

    xp = torch

    @staticmethod
    def float64(x: Any) -> Any:
        return x.to(torch.float64)

    @staticmethod
    def int64(x: Any) -> Any:
        return x.to(torch.int64)

    @staticmethod
    def is_float(x: Any) -> bool:
        return x.dtype.is_floating_point

    @staticmethod
    def cast_like(x: Any, like: Any) -> Any:
        return x.to(like.dtype)

    @staticmethod
    def to_host(x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    @staticmethod
    def from_host(x: np.ndarray, like: Any) -> Any:
        return torch.as_tensor(x, device=like.device)

    @staticmethod
    def arange(n: int, like: Any) -> Any:
        return torch.arange(n, dtype=torch.int64, device=like.device)

    @staticmethod
    def full(shape: tuple[int, ...], value: float, like: Any) -> Any:
        return torch.full(shape, value, dtype=torch.float64, device=like.device)

    @staticmethod
    def amin(x: Any) -> Any:
        return x.amin(dim=0)

    @staticmethod
    def amax(x: Any) -> Any:
        return x.amax(dim=0)

    @staticmethod
    def std(x: Any) -> Any:
        return x.std(dim=0, correction=0)

    @staticmethod
    def argsort(x: Any, *, stable: bool) -> Any:
        return torch.argsort(x, dim=0, stable=stable)

    @staticmethod
    def flat_index(index: Any) -> Any:
        columns = index.shape[1]
        return index * columns + torch.arange(columns, device=index.device)

    @staticmethod
    def take(x: Any, index: Any) -> Any:
        return torch.gather(x, 0, index)

    @staticmethod
    def take_rows(x: Any, rows: Any) -> Any:
        return x[rows]

    @staticmethod
    def scatter(index: Any, values: Any) -> Any:
        return torch.empty_like(values).scatter_(0, index, values)

    @staticmethod
    def cumsum(x: Any) -> Any:
        return torch.cumsum(x, dim=0)

    @staticmethod
    def cummax(x: Any) -> Any:
        return torch.cummax(x, dim=0).values

    @staticmethod
    def flip(x: Any) -> Any:
        return x.flip(0)

    @staticmethod
    def small_int(labels: Any, n_values: int) -> Any:
        return labels

    @staticmethod
    def concat(arrays: list[Any]) -> Any:
        return torch.cat(arrays, dim=0)

    @staticmethod
    def stack_columns(arrays: list[Any]) -> Any:
        return torch.stack(arrays, dim=1)

    @staticmethod
    def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
        return torch.bincount(x, weights=weights, minlength=minlength)

    @staticmethod
    def unique_counts(x: Any) -> tuple[Any, Any]:
        return torch.unique(x, return_counts=True)

    @staticmethod
    def copy(x: Any) -> Any:
        return x.clone(memory_format=torch.contiguous_format)

    @staticmethod
    def nonzero(x: Any) -> Any:
        return torch.nonzero(x).flatten()

    @staticmethod
    def digamma(x: Any) -> Any:
        return torch.special.digamma(x.to(torch.float64))

    @staticmethod
    def next_below(x: Any) -> Any:
        return torch.nextafter(x, torch.zeros_like(x))

    @staticmethod
    def search_index(sorted_columns: Any) -> Any:
        """``sorted_columns`` laid out for the batched ``torch.searchsorted``."""
        return sorted_columns.T.contiguous()

    @staticmethod
    def searchsorted(index: Any, values: Any) -> Any:
        """Per column j, how many sorted values of column j are <= each of ``values[:, j]``."""
        return torch.searchsorted(index, values.T.contiguous(), right=True).T
