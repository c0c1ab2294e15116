"""Serialised ``jax.export`` artifacts (``.jaxexport``): the bytes of
``jax.export.export(jax.jit(f))(spec).serialize()`` written to a file, read back with
``jax.export.deserialize``. The artifact carries the compiled computation (StableHLO) and
no Python code, so it runs without the model's source.

Export with a symbolic batch dimension so that every batch size runs::

    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("b, 1, 64, 64"), jnp.float32)
    Path("model.jaxexport").write_bytes(jax.export.export(jax.jit(encode))(spec).serialize())

and for the platforms it will run on (``platforms=("cpu", "cuda")``); the default is the
platform it was exported on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from disbench.adapters.base import Encoder, EncoderError, summarize_error
from disbench.adapters.function import jax_device

#: The file suffix of a serialised ``jax.export.Exported``.
SUFFIX = ".jaxexport"


class JaxExportEncoder(Encoder):
    """A deserialised ``jax.export.Exported`` of one argument, called under ``jax.jit``.

    Parameters
    ----------
    path : pathlib.Path
        The serialised artifact.
    spec : str
        What the user passed.
    sha256 : str
        Hex SHA-256 of the file.
    device : str or None, default=None
        The JAX device it runs on (``function.jax_device``: None is the CPU, ``"auto"``
        JAX's default); ``encode`` takes CPU tensors whatever it is.
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``).
    """

    adapter = "jax_export"

    def __init__(
        self, path: Path, *, spec: str, sha256: str, device: Any = None, **conventions: Any
    ) -> None:
        import jax
        import torch

        super().__init__(
            spec=spec,
            name=path.stem,
            sha256=sha256,
            device=torch.device("cpu"),
            files=(path,),
            **conventions,
        )
        self.jax_device = jax_device(device)
        try:
            self.exported = jax.export.deserialize(bytearray(path.read_bytes()))
        except Exception as error:
            raise EncoderError(
                f"could not load {path} as a serialised jax.export artifact "
                f"(jax.export.deserialize of Exported.serialize()): {summarize_error(error)}; "
                "the file is truncated or corrupt, or another format"
            ) from error
        if len(self.exported.in_avals) != 1:
            raise EncoderError(
                f"{path} takes {len(self.exported.in_avals)} arrays "
                f"{self.exported.in_avals}; disbench passes one, the batch of images"
            )
        self._call = jax.jit(self.exported.call)

    def _forward(self, x: Any) -> Any:
        import jax

        return self._call(jax.device_put(x.numpy(), self.jax_device))
