"""The reference encoder of ``models`` written in numpy: a ``module:function`` spec whose
module imports numpy only, so that its framework is detected as numpy."""

from __future__ import annotations

import numpy as np

from tests.adapters import models

WEIGHTS = {key: value.numpy() for key, value in models.REFERENCE.state_dict().items()}


def conv(x, weight, bias):
    """4×4 convolution, stride 2, padding 1, NCHW: windows (B, C, H/2, W/2, 4, 4)."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
    return np.einsum("bchwij,ocij->bohw", windows, weight) + bias[None, :, None, None]


def encode(x):
    """(B, 1, 64, 64) float32 -> (mean, logvar) of the reference encoder."""
    for layer in (0, 2, 4, 6):
        x = np.maximum(conv(x, WEIGHTS[f"conv.{layer}.weight"], WEIGHTS[f"conv.{layer}.bias"]), 0)
    hidden = np.maximum(x.reshape(len(x), -1) @ WEIGHTS["fc.weight"].T + WEIGHTS["fc.bias"], 0)
    out = hidden @ WEIGHTS["head.weight"].T + WEIGHTS["head.bias"]
    half = out.shape[1] // 2
    return out[:, :half], out[:, half:]
