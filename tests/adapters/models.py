"""Small PyTorch encoders of the usual 64×64 architecture, for the adapter tests.

Four 4×4 convolutions of stride 2 (64 -> 4 pixels), two dense layers, and a (mean, log
variance) output: the encoder of disentanglement_lib's ``conv_encoder``, with few channels
so that every test runs in milliseconds. The functions at the bottom are ``module:function``
specs for torch; this module imports torch and numpy only.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

LATENT_DIM = 3


class ConvEncoder(nn.Module):
    """(B, channels, 64, 64) images -> (mean, logvar), each (B, latent_dim)."""

    def __init__(self, latent_dim: int = LATENT_DIM, channels: int = 1, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(2 * width * 4 * 4, 16)
        self.head = nn.Linear(16, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.moments(x)

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.relu(self.fc(self.conv(x).flatten(1)))
        mean, logvar = self.head(hidden).chunk(2, dim=1)
        return mean, logvar


class DictConvEncoder(ConvEncoder):
    """The same network returning ``{"mu": mean, "logvar": logvar}``."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        mean, logvar = self.moments(x)
        return {"mu": mean, "logvar": logvar}


class FeatureMapEncoder(ConvEncoder):
    """A mistake: returns the last feature map, (B, 8, 4, 4), not flat codes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.conv(x)


class Lightning(nn.Module):
    """How a LightningModule holds its networks: ``self.model`` with an encoder and decoder."""

    def __init__(self, encoder: ConvEncoder) -> None:
        super().__init__()
        self.model = nn.ModuleDict({"encoder": encoder, "decoder": nn.Linear(LATENT_DIM, 8)})


def reference_encoder(seed: int = 0, **init: int) -> ConvEncoder:
    """A ConvEncoder with weights drawn from ``seed``, in eval mode."""
    torch.manual_seed(seed)
    return ConvEncoder(**init).eval()


def images(n: int = 6, seed: int = 1) -> torch.Tensor:
    """float32 (n, 1, 64, 64) images uniform in [0, 1]."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((n, 1, 64, 64), dtype=np.float32))


def reference(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mean, logvar) of ``reference_encoder()`` on NCHW images in [0, 1], eager PyTorch."""
    with torch.no_grad():
        mean, logvar = REFERENCE(x)
    return mean.numpy(), logvar.numpy()


REFERENCE = reference_encoder()


def encode(x):
    """The reference on NCHW images in [0, 1]; unannotated: torch is this module's framework."""
    return REFERENCE(x)


def encode_nhwc(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference on channels-last images."""
    return REFERENCE(x.permute(0, 3, 1, 2))


def encode_pm1(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference on images in [-1, 1]."""
    return REFERENCE((x + 1) / 2)


def encode_255(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference on images in [0, 255]."""
    return REFERENCE(x / 255)


def encode_numpy_out(x: torch.Tensor) -> np.ndarray:
    """The reference mean as a float64 numpy array."""
    return REFERENCE(x)[0].numpy().astype(np.float64)


def encode_flat(x: torch.Tensor) -> torch.Tensor:
    """A mistake: one code per image as a 1-D tensor."""
    return REFERENCE(x)[0][:, 0]


def encode_one_row(x: torch.Tensor) -> torch.Tensor:
    """A mistake: the mean over the batch, (1, D)."""
    return REFERENCE(x)[0].mean(dim=0, keepdim=True)


def encode_string(x: torch.Tensor) -> str:
    """A mistake: not an array."""
    return "codes"


def encode_failing(x: torch.Tensor) -> torch.Tensor:
    """Raises inside the model, as a broken model would."""
    raise RuntimeError("expected 3 channels, got 1")


def encode_unnamed_dict(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """A dict whose keys are none of mean, mu, loc."""
    mean, logvar = REFERENCE(x)
    return {"z": mean, "logvar": logvar}
