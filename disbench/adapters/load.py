"""``load_encoder``: a model spec (a file or ``module:attr``) to the adapter that runs it."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from disbench.adapters._files import existing_file, sha256_files, torch_archive_kind
from disbench.adapters.base import Encoder, EncoderError, check_conventions, summarize_error
from disbench.adapters.codes import PrecomputedCodes, load_codes
from disbench.adapters.jax_export import SUFFIX as JAX_EXPORT_SUFFIX

#: Model file suffixes and what each holds.
SUFFIXES = {
    ".pt": "TorchScript (torch.jit.save)",
    ".pth": "TorchScript (torch.jit.save)",
    ".pt2": "a torch.export program (torch.export.save)",
    ".onnx": "an ONNX model",
    JAX_EXPORT_SUFFIX: "a serialised jax.export artifact (Exported.serialize())",
    ".npz": "precomputed codes ('codes', 'factors', optional 'factor_names')",
}
_FORMS = (
    "a model file ending in "
    + ", ".join(f"{suffix} ({what})" for suffix, what in SUFFIXES.items())
    + "; or 'package.module:attr' (or 'path/to/file.py:attr'): a torch.nn.Module class with "
    "weights= (--weights), or a function from images to codes. A state dict or checkpoint "
    "(.ckpt, .pth, .bin) is the weights= of its class"
)


def load_encoder(
    spec: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    init: Mapping[str, Any] | None = None,
    input_layout: str = "nchw",
    input_range: Sequence[float] = (0.0, 1.0),
    output: int | str | None = None,
    device: Any = None,
    trust_pickle: bool = False,
    framework: str | None = None,
) -> Encoder | PrecomputedCodes:
    """Load a trained model as an ``Encoder`` (or an ``.npz`` as ``PrecomputedCodes``).

    Parameters
    ----------
    spec : str or path-like
        What to load, recognised by its suffix or its ``module:attr`` form:

        - ``*.pt``, ``*.pth``: TorchScript, ``torch.jit.load``. A ``torch.save`` file under
          that suffix is refused with what it holds and how to load it (a state dict: give
          its class as ``module:Class`` and the file as ``weights``; a pickled module: only
          with ``trust_pickle``);
        - ``*.pt2``: a ``torch.export`` program, ``torch.export.load(...).module()``;
        - ``*.onnx``: onnxruntime;
        - ``*.jaxexport``: the bytes of ``jax.export.Exported.serialize()``;
        - ``*.npz``: precomputed codes, returned by ``load_codes`` (not an ``Encoder``);
        - ``"package.module:Class"``: a ``torch.nn.Module`` subclass, built as
          ``Class(**init)`` with the state dict in ``weights``;
        - ``"package.module:function"`` (or an ``nn.Module`` object): a callable from images
          to codes taking torch, numpy or JAX arrays (``framework``). The module may be a
          file, ``"path/to/model.py:encode"``; its folder is then put on ``sys.path``.
    weights : str or path-like, optional
        For ``module:Class``: a ``torch.save`` file of the state dict, or a checkpoint
        holding it under ``"state_dict"`` (PyTorch Lightning), ``"model_state_dict"`` or
        ``"model"``; a common key prefix (``"model."``) is stripped.
    init : dict, optional
        Keyword arguments of ``Class``; JSON-able, as they are recorded with the results.
    input_layout : {"nchw", "nhwc"}, default="nchw"
        The image layout the model takes.
    input_range : (float, float), default=(0.0, 1.0)
        The value range the model takes; images in [0, 1] are mapped linearly onto it
        (floats: ``(0, 255)`` gives 0.0..255.0, not uint8).
    output : int or str, optional
        Which element of a tuple/list (index) or dict (key) output holds the codes; by
        default element 0, or the key ``"mean"``, ``"mu"`` or ``"loc"``.
    device : str or torch.device, optional
        None or ``"cpu"``: the CPU; ``"cuda[:N]"``: that GPU (an error when absent);
        ``"auto"``: a GPU when there is one. ONNX and JAX models pick their provider or JAX
        device from it and still take CPU tensors.
    trust_pickle : bool, default=False
        Allow unpickling arbitrary Python objects (a whole pickled model, a checkpoint with
        pickled extras). Unpickling runs code from the file: only for files you trust.
    framework : {"torch", "numpy", "jax"}, optional
        For a function: what it takes; detected when omitted (see
        ``disbench.adapters.function``).

    Returns
    -------
    Encoder or PrecomputedCodes

    Raises
    ------
    FileNotFoundError
        A model or weights file that does not exist.
    EncoderError
        A file that is truncated, corrupt or not the format its suffix says; weights that do
        not fit the class; an import that fails. The message names the file.
    ValueError, TypeError
        Options that are invalid or do not apply to the spec.

    Examples
    --------
    >>> import tempfile, warnings, torch
    >>> path = f"{tempfile.mkdtemp()}/linear.pt"
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     torch.jit.save(torch.jit.script(model), path)
    >>> encoder = load_encoder(path)
    >>> encoder.name, encoder.adapter, len(encoder.sha256)
    ('linear', 'torchscript', 64)
    >>> encoder.encode(torch.zeros(5, 1, 4, 4)).shape
    torch.Size([5, 3])
    """
    layout, value_range, output = check_conventions(input_layout, input_range, output)
    conventions = {"input_layout": layout, "input_range": value_range, "output": output}
    text = os.fspath(spec)
    suffix = Path(text).suffix.lower()
    if suffix in SUFFIXES:
        _refuse(text, weights=weights, init=init, framework=framework)
        path = existing_file(text)
        if suffix == ".npz":
            if conventions != {"input_layout": "nchw", "input_range": (0.0, 1.0), "output": None}:
                raise ValueError(
                    f"{text} holds precomputed codes: input_layout, input_range and output "
                    "apply to models only"
                )
            return load_codes(path)
        return _load_file(path, suffix, text, device, trust_pickle, conventions)
    if ":" in text and not Path(text).exists():
        return _load_attr(text, weights, init, device, trust_pickle, framework, conventions)
    existing_file(text)
    raise ValueError(f"{text} is not a model disbench reads: expected {_FORMS}")


def _refuse(spec: str, **options: Any) -> None:
    """``ValueError`` for options that apply to ``module:attr`` specs only."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} apply to 'module:Class' or 'module:function' models, not to "
            f"the file {spec!r}"
        )


def _load_file(
    path: Path, suffix: str, spec: str, device: Any, trust_pickle: bool, conventions: dict
) -> Encoder:
    if suffix == ".onnx":
        from disbench.adapters.onnx_runtime import OnnxEncoder

        _require("onnxruntime", "onnx", suffix)
        return OnnxEncoder(path, spec=spec, device=device, **conventions)
    if suffix == JAX_EXPORT_SUFFIX:
        from disbench.adapters.jax_export import JaxExportEncoder

        _require("jax", "jax", suffix)
        return JaxExportEncoder(
            path, spec=spec, sha256=sha256_files([path]), device=device, **conventions
        )
    kind = torch_archive_kind(path, SUFFIXES[suffix])
    sha256 = sha256_files([path])
    if kind == "torchscript":
        from disbench.adapters.torchscript import TorchScriptEncoder

        return TorchScriptEncoder(path, spec=spec, sha256=sha256, device=device, **conventions)
    if kind == "torch_export":
        from disbench.adapters.torch_export import ExportedProgramEncoder

        return ExportedProgramEncoder(path, spec=spec, sha256=sha256, device=device, **conventions)
    if suffix == ".pt2":
        raise EncoderError(
            f"{path} is not a torch.export program: it was written by torch.save; save the "
            "program with torch.export.save(torch.export.export(model, (images,)), path)"
        )
    from disbench.adapters.torch_module import load_pickled

    return load_pickled(
        path,
        spec=spec,
        sha256=sha256,
        device=device,
        trust_pickle=trust_pickle,
        conventions=conventions,
    )


def _require(module: str, extra: str, suffix: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise EncoderError(f"{suffix} models need {module}: pip install 'disbench[{extra}]'")


def _load_attr(
    spec: str,
    weights: Any,
    init: Mapping[str, Any] | None,
    device: Any,
    trust_pickle: bool,
    framework: str | None,
    conventions: dict,
) -> Encoder:
    import torch

    obj = _import_attr(spec)
    if inspect.isclass(obj):
        if not issubclass(obj, torch.nn.Module):
            raise TypeError(
                f"{spec} is a class but not a torch.nn.Module; give a function from images to "
                "codes, or an object with __call__"
            )
        if framework not in (None, "torch"):
            raise ValueError(f"{spec} is a torch.nn.Module class; framework={framework!r}")
        from disbench.adapters.torch_module import load_class

        return load_class(
            obj,
            spec=spec,
            weights=weights,
            init=init,
            device=device,
            trust_pickle=trust_pickle,
            conventions=conventions,
        )
    if weights is not None or init is not None:
        raise ValueError(
            f"weights and init apply to a torch.nn.Module class; {spec} is a {type(obj).__name__}"
        )
    if not callable(obj):
        raise TypeError(f"{spec} is a {type(obj).__name__}, not a function from images to codes")
    from disbench.adapters.function import FunctionEncoder

    return FunctionEncoder(obj, spec=spec, framework=framework, device=device, **conventions)


def _import_attr(spec: str) -> Any:
    """The object named by ``"package.module:attr.sub"`` or ``"path/file.py:attr"``."""
    module_name, _, attribute = spec.rpartition(":")
    if not module_name or not attribute:
        raise ValueError(f"{spec!r} is not 'package.module:attr'")
    try:
        if module_name.endswith(".py"):
            module = _import_file(existing_file(module_name, "module file"))
        else:
            module = importlib.import_module(module_name)
    except FileNotFoundError:
        raise
    except ModuleNotFoundError as error:
        raise EncoderError(
            f"cannot import {module_name!r} for the model {spec!r}: {error}; install the "
            "package, run from the folder that holds it, or give the file, 'path/to/file.py:attr'"
        ) from error
    except Exception as error:
        raise EncoderError(
            f"importing {module_name!r} for the model {spec!r} failed: {summarize_error(error)}"
        ) from error
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            public = sorted(name for name in dir(module) if not name.startswith("_"))
            raise EncoderError(
                f"{module_name!r} has no attribute {attribute!r}; it has {public[:10]}"
            )
        obj = getattr(obj, part)
    return obj


def _import_file(path: Path) -> Any:
    """Import the Python file ``path`` once, as a module named after it and its location."""
    path = path.resolve()
    name = f"_disbench_model_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
