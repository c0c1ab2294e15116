"""Small real model files for the pipeline tests: TorchScript encoders with known maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


class LinearEncoder(nn.Module):
    """codes = flatten(x) @ weight; returns (mean, log-variance) as VAEs do."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = x.flatten(1) @ self.weight
        return mean, torch.zeros_like(mean)


class NaNEncoder(nn.Module):
    """Finite codes except dimension 1, which is NaN."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = x.flatten(1)[:, :3].clone()
        codes[:, 1] = float("nan")
        return codes


def linear_weight(n_pixels: int, n_codes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n_pixels, n_codes)).astype(np.float32)


def save_linear_encoder(path: Path, n_pixels: int, n_codes: int = 4, seed: int = 0) -> np.ndarray:
    """Script a ``LinearEncoder`` to ``path``; returns its weight for independent checks."""
    weight = linear_weight(n_pixels, n_codes, seed)
    torch.jit.script(LinearEncoder(torch.from_numpy(weight))).save(str(path))
    return weight


def save_nan_encoder(path: Path) -> None:
    torch.jit.script(NaNEncoder()).save(str(path))
