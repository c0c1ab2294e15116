"""``torch.export`` programs (``.pt2``), written by ``torch.export.save`` and read with
``torch.export.load``; the program's ``.module()`` is what runs.

A program runs in the mode it was exported in (export the model after ``model.eval()``),
with the batch sizes its export allowed: export with a dynamic batch dimension,
``dynamic_shapes=({0: torch.export.Dim("batch")},)``, so that every batch size runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.adapters.base import Encoder, EncoderError, resolve_device, summarize_error


class ExportedProgramEncoder(Encoder):
    """A ``torch.export.ExportedProgram`` on ``device``.

    Parameters
    ----------
    path : pathlib.Path
        The ``.pt2`` archive (checked to be one by ``load_encoder``).
    spec : str
        What the user passed.
    sha256 : str
        Hex SHA-256 of the file.
    device : str or torch.device or None, default=None
        Where to run it (``resolve_device``); the program is moved with
        ``torch.export.passes.move_to_device_pass``, which also moves the devices written
        into its graph.
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``).
    """

    adapter = "torch_export"

    def __init__(
        self, path: Path, *, spec: str, sha256: str, device: Any = None, **conventions: Any
    ) -> None:
        import torch

        resolved = resolve_device(device)
        super().__init__(
            spec=spec, name=path.stem, sha256=sha256, device=resolved, files=(path,), **conventions
        )
        try:
            # A file object, not the path: torch.export.load refuses paths not ending in .pt2.
            with open(path, "rb") as stream:
                self.program = torch.export.load(stream)
        except Exception as error:
            raise EncoderError(
                f"could not load {path} as a torch.export program (torch.export.load): "
                f"{summarize_error(error)}; the file is corrupt or was written by another torch"
            ) from error
        self.to(resolved)

    def to(self, device: Any) -> ExportedProgramEncoder:
        """Move the program to ``device`` (see ``resolve_device``) and return ``self``."""
        from torch.export.passes import move_to_device_pass

        self.device = resolve_device(device)
        self.program = move_to_device_pass(self.program, self.device)
        self.module = self.program.module()
        return self

    def _forward(self, x: Any) -> Any:
        return self.module(x)
