"""Models shipped with disbench, so that an evaluation runs offline on a fresh install.

``threedots_vae``: a beta-VAE encoder (disentanglement_lib's 64x64 conv architecture, 10
latents, beta = 4) trained on three-dots by ``scripts/train_threedots_encoder.py``, saved as
TorchScript returning (mean, log-variance). See the README for what its scores mean.
"""

from __future__ import annotations

from pathlib import Path

_FOLDER = Path(__file__).resolve().parent

#: Built-in model names and their files.
BUILTIN_MODELS: dict[str, Path] = {"threedots_vae": _FOLDER / "threedots_vae.pt"}


def builtin_model(name: str) -> Path:
    """The file of the built-in model ``name``; ``ValueError`` listing the names otherwise."""
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown built-in model {name!r}; built-in models: {', '.join(BUILTIN_MODELS)}"
        ) from None
