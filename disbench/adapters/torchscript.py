"""TorchScript model files (``.pt``, ``.pth``), written by ``torch.jit.save`` of a scripted or
traced module and read with ``torch.jit.load``: the model's code travels in the file, so no
Python class is needed to run it.

torch deprecates TorchScript in favour of ``torch.export`` (``.pt2``); its files still load,
and the deprecation warning of ``torch.jit.load``, about which the user of a model file can
do nothing, is not shown.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from disbench.adapters.base import Encoder, EncoderError, resolve_device, summarize_error


class TorchScriptEncoder(Encoder):
    """A TorchScript module, run in eval mode on ``device``.

    Parameters
    ----------
    path : pathlib.Path
        The TorchScript archive (checked to be one by ``load_encoder``).
    spec : str
        What the user passed.
    sha256 : str
        Hex SHA-256 of the file.
    device : str or torch.device or None, default=None
        Where to load and run it (``resolve_device``: None is the CPU, ``"auto"`` a GPU when
        there is one).
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``).
    """

    adapter = "torchscript"

    def __init__(
        self, path: Path, *, spec: str, sha256: str, device: Any = None, **conventions: Any
    ) -> None:
        import torch

        resolved = resolve_device(device)
        super().__init__(
            spec=spec, name=path.stem, sha256=sha256, device=resolved, files=(path,), **conventions
        )
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", "`torch.jit.load` is deprecated", DeprecationWarning
                )
                self.module = torch.jit.load(str(path), map_location=resolved)
        except RuntimeError as error:
            raise EncoderError(
                f"could not load {path} as TorchScript (torch.jit.load): "
                f"{summarize_error(error)}; the file is corrupt or was written by another torch"
            ) from error
        self.module.eval()

    def to(self, device: Any) -> TorchScriptEncoder:
        """Move the module to ``device`` (see ``resolve_device``) and return ``self``."""
        self.device = resolve_device(device)
        self.module.to(self.device)
        return self

    def _forward(self, x: Any) -> Any:
        return self.module(x)
