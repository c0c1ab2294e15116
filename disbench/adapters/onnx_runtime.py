"""ONNX models (``.onnx``) run by onnxruntime.

The model must take one input, the batch of images (float32 unless the model says
otherwise); export it with a dynamic batch dimension so that every batch size runs. Its
outputs come back as a tuple in the model's order, so the first output is the default and
``output=`` may name an output (``"logvar"``) as well as index it. Weights stored beside the
model (ONNX external data, e.g. torch's ``model.onnx.data``) are part of its SHA-256: the
model file followed by its data files, found with the ``onnx`` package when it is installed,
else the file ``<model file>.data`` when there is one.

Providers: the CPU by default; ``device="cuda[:N]"`` asks for the CUDA provider (an error
when this onnxruntime has none: install ``onnxruntime-gpu``), ``"auto"`` takes it when
present. ``encode`` takes CPU tensors either way; onnxruntime copies to the GPU itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from disbench.adapters.base import Encoder, EncoderError, summarize_error


class OnnxEncoder(Encoder):
    """An ONNX model in an ``onnxruntime.InferenceSession``.

    Parameters
    ----------
    path : pathlib.Path
        The ``.onnx`` file.
    spec : str
        What the user passed.
    device : str or None, default=None
        None or ``"cpu"``: the CPU provider; ``"cuda[:N]"``: the CUDA provider on GPU N;
        ``"auto"``: CUDA when onnxruntime has it.
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``); a str ``output``
        names one of the model's outputs.
    """

    adapter = "onnx"

    def __init__(self, path: Path, *, spec: str, device: Any = None, **conventions: Any) -> None:
        import onnxruntime
        import torch

        from disbench.adapters._files import sha256_files

        files = (path, *_external_data(path))
        super().__init__(
            spec=spec,
            name=path.stem,
            sha256=sha256_files(files),
            device=torch.device("cpu"),
            files=files,
            **conventions,
        )
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), providers=_providers(device, onnxruntime.get_available_providers())
            )
        except Exception as error:
            raise EncoderError(
                f"could not load {path} as an ONNX model (onnxruntime): "
                f"{summarize_error(error)}; the file is truncated or corrupt, or another format"
            ) from error
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise EncoderError(
                f"{path} takes {len(inputs)} inputs {[node.name for node in inputs]}; "
                "disbench passes one, the batch of images"
            )
        self.input_name = inputs[0].name
        self.output_names = [node.name for node in self.session.get_outputs()]
        if isinstance(self.output, str):
            if self.output not in self.output_names:
                raise EncoderError(
                    f"{path} has outputs {self.output_names}; output={self.output!r} is not one"
                )
            # Outputs come back as a tuple: a name becomes its index.
            self.output = self.output_names.index(self.output)

    def _forward(self, x: Any) -> Any:
        # A view of the CPU tensor; copied only when the caller's tensor is not C-contiguous.
        images = np.ascontiguousarray(x.numpy())
        return tuple(self.session.run(None, {self.input_name: images}))


def _providers(device: Any, available: list[str]) -> list[Any]:
    """onnxruntime execution providers for ``device`` (see ``OnnxEncoder``)."""
    text = "cpu" if device is None else str(device)
    if text == "cpu":
        return ["CPUExecutionProvider"]
    has_cuda = "CUDAExecutionProvider" in available
    if text == "auto":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"][not has_cuda :]
    kind, _, index = text.partition(":")
    if kind != "cuda" or not (index.isdigit() or index == ""):
        raise ValueError(
            f"device for an ONNX model must be 'cpu', 'cuda[:N]' or 'auto'; got {device!r}"
        )
    if not has_cuda:
        raise ValueError(
            f"device {text!r} asked for, but this onnxruntime has no CUDA provider (it has "
            f"{available}); install onnxruntime-gpu, or use device='cpu'"
        )
    return [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]


def _external_data(path: Path) -> list[Path]:
    """The external data files of the ONNX model at ``path``, sorted (see the docstring)."""
    try:
        import onnx
        from onnx.external_data_helper import ExternalDataInfo, uses_external_data
    except ImportError:
        sibling = path.with_name(path.name + ".data")
        return [sibling] if sibling.is_file() else []
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:
        raise EncoderError(
            f"could not read {path} as an ONNX model (onnx.load): {summarize_error(error)}; "
            "the file is truncated or corrupt, or another format"
        ) from error
    locations = {
        ExternalDataInfo(tensor).location
        for tensor in model.graph.initializer
        if uses_external_data(tensor)
    }
    files = [path.parent / location for location in sorted(locations)]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:
        raise FileNotFoundError(f"{path} keeps its weights in {missing}, which are missing")
    return files
