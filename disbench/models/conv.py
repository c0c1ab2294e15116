"""disentanglement_lib's convolutional encoder for 64x64 images, in PyTorch.

The architecture of most published disentanglement results (Locatello et al. 2019): four
4x4 convolutions with stride 2 (32, 32, 64, 64 channels, ReLU), a dense layer of 256 (ReLU)
and two dense heads for the mean and the log-variance of the latents. Usable as a
``module:Class`` model (``disbench evaluate disbench.models.conv:ConvEncoder --weights
model.ckpt --init '{"latents": 10}'``); the built-in model and the benchmarks use it.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvEncoder(nn.Module):
    """(B, C, 64, 64) images in [0, 1] -> (mean, log-variance), each (B, latents)."""

    def __init__(self, channels: int = 1, latents: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 256),
            nn.ReLU(),
        )
        self.mean = nn.Linear(256, latents)
        self.log_var = nn.Linear(256, latents)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.features(x)
        return self.mean(hidden), self.log_var(hidden)
