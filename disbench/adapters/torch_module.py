"""PyTorch modules from Python: ``module:Class`` with a state dict or a Lightning checkpoint,
and (only with ``trust_pickle``) a whole module pickled by ``torch.save(model)``. (An
``nn.Module`` object at ``module:attr`` is a callable, ``disbench.adapters.function``.)

Weights are read with ``torch.load(weights_only=True)``, which unpickles tensors and plain
containers only; ``trust_pickle=True`` lifts that for files the user trusts. A checkpoint
dict holding the weights under ``"state_dict"`` (PyTorch Lightning), ``"model_state_dict"``
or ``"model"`` is unwrapped. Its keys are then matched to the class's by stripping the one
dotted prefix under which every key the class expects is found (``"model."``,
``"encoder."``, ``"module."`` of DataParallel, ``"_orig_mod."`` of ``torch.compile``, or
none); keys outside that set (a decoder's, say) are ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from disbench.adapters._files import existing_file, sha256_files
from disbench.adapters.base import Encoder, EncoderError, resolve_device, summarize_error

#: Checkpoint keys that hold the state dict: PyTorch Lightning's first, then common scripts'.
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")
_PICKLE_HINT = (
    "unpickling runs code from the file: if you trust it, pass trust_pickle=True "
    "(--trust-pickle); better, save the weights alone with torch.save(model.state_dict(), ...)"
)


class TorchModuleEncoder(Encoder):
    """A ``torch.nn.Module`` run in eval mode on ``device``.

    Parameters
    ----------
    module : torch.nn.Module
        The model, with its weights loaded.
    adapter : str
        ``"torch_state_dict"`` (``module:Class`` + weights) or ``"torch_pickle"`` (a pickled
        module).
    spec, name, sha256, files, extra_options
        See ``Encoder``.
    device : str or torch.device or None, default=None
        Where to run it (``resolve_device``).
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``).
    """

    def __init__(
        self,
        module: Any,
        *,
        adapter: str,
        spec: str,
        name: str,
        sha256: str | None,
        device: Any = None,
        files: tuple[Path, ...] = (),
        extra_options: Mapping[str, Any] | None = None,
        **conventions: Any,
    ) -> None:
        self.adapter = adapter
        super().__init__(
            spec=spec,
            name=name,
            sha256=sha256,
            device=resolve_device(device),
            files=files,
            extra_options=extra_options,
            **conventions,
        )
        self.module = module.eval()
        self.to(self.device)

    def to(self, device: Any) -> TorchModuleEncoder:
        """Move the module to ``device`` (see ``resolve_device``) and return ``self``."""
        self.device = resolve_device(device)
        self.module.to(self.device)
        return self

    def _forward(self, x: Any) -> Any:
        return self.module(x)


def load_class(
    cls: type,
    *,
    spec: str,
    weights: Any,
    init: Mapping[str, Any] | None,
    device: Any,
    trust_pickle: bool,
    conventions: Mapping[str, Any],
) -> TorchModuleEncoder:
    """``cls(**init)`` with the weights of the file ``weights`` (see the module docstring)."""
    init = dict(init or {})
    try:
        json.dumps(init)
    except TypeError:
        raise TypeError(
            f"init must be a JSON-able dict of keyword arguments (it is recorded with the "
            f"results); got {init!r}"
        ) from None
    if weights is None:
        raise ValueError(
            f"{spec} is a class: give its weights, weights='model.ckpt' (--weights), a state "
            "dict or Lightning checkpoint saved with torch.save. A class that loads its own "
            "weights is wrapped in a function instead: 'module:encode', encode(images) -> codes"
        )
    path = existing_file(weights, "weights file")
    try:
        module = cls(**init)
    except Exception as error:
        raise EncoderError(
            f"could not build {spec}(**{init!r}): {summarize_error(error)}; "
            "check the keyword arguments, init= (--init)"
        ) from error
    state = read_state_dict(path, trust_pickle=trust_pickle)
    expected = module.state_dict()
    fitted = fit_state_dict(state, expected, source=f"{path.name} for {spec}(**{init!r})")
    module.load_state_dict(fitted, strict=True)
    return TorchModuleEncoder(
        module,
        adapter="torch_state_dict",
        spec=spec,
        name=path.stem,
        sha256=sha256_files([path]),
        device=device,
        files=(path,),
        extra_options={"init": init},
        **conventions,
    )


def read_state_dict(path: Path, *, trust_pickle: bool = False) -> dict[str, Any]:
    """The tensors of a ``torch.save`` file: a state dict, or one unwrapped from a checkpoint."""
    import pickle

    import torch

    try:
        content = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as error:
        raise EncoderError(
            f"{path} holds pickled Python objects beside its tensors, which "
            f"torch.load(weights_only=True) refuses; {_PICKLE_HINT}"
        ) from error
    except Exception as error:
        raise EncoderError(
            f"could not read {path} as weights saved by torch.save: {summarize_error(error)}; "
            "the file is truncated or corrupt, or another format"
        ) from error
    if isinstance(content, Mapping):
        for key in CHECKPOINT_KEYS:
            if isinstance(content.get(key), Mapping):
                content = content[key]
                break
    if isinstance(content, torch.nn.Module):
        content = content.state_dict()
    if not isinstance(content, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in content.values()
    ):
        raise EncoderError(
            f"{path} holds {_what(content)}, not a state dict (a dict of tensors) nor a "
            f"checkpoint with one under {', '.join(map(repr, CHECKPOINT_KEYS))}"
        )
    return dict(content)


def fit_state_dict(
    state: Mapping[str, Any], expected: Mapping[str, Any], *, source: str
) -> dict[str, Any]:
    """The entries of ``state`` that fill ``expected``, keys stripped of their common prefix.

    Every key ``k`` of ``state`` votes for each dotted prefix ``p`` with ``k == p + e`` for
    an expected key ``e``; the one prefix that covers every expected key is stripped.
    Raises ``EncoderError`` naming the missing keys (of the best prefix), the shape
    mismatches, or the prefixes when several fit.
    """
    votes: Counter[str] = Counter()
    for key in state:
        parts = key.split(".")
        for start in range(len(parts)):
            if ".".join(parts[start:]) in expected:
                votes[".".join(parts[:start]) + "." if start else ""] += 1
    complete = sorted(prefix for prefix, count in votes.items() if count == len(expected))
    if not complete:
        prefix = votes.most_common(1)[0][0] if votes else ""
        missing = [key for key in expected if prefix + key not in state]
        raise EncoderError(
            f"the weights do not fit {source}: {len(missing)} of the {len(expected)} keys the "
            f"class expects are missing (e.g. {missing[:3]})"
            + (f" under the prefix {prefix!r}" if prefix else "")
            + f"; the file has keys such as {list(state)[:3]}. Check the class and its "
            "keyword arguments, init= (--init)"
        )
    if len(complete) > 1:
        raise EncoderError(
            f"the weights fit {source} under several prefixes {complete}; save the state dict "
            "of the one sub-module you want, torch.save(model.encoder.state_dict(), ...)"
        )
    prefix = complete[0]
    fitted = {key: state[prefix + key] for key in expected}
    wrong = [
        f"{key}: file {tuple(fitted[key].shape)}, class {tuple(value.shape)}"
        for key, value in expected.items()
        if tuple(fitted[key].shape) != tuple(value.shape)
    ]
    if wrong:
        raise EncoderError(
            f"the weights do not fit {source}: {len(wrong)} shape mismatches ("
            + "; ".join(wrong[:3])
            + "). Check the keyword arguments, init= (--init)"
        )
    return fitted


def load_pickled(
    path: Path, *, spec: str, sha256: str, device: Any, trust_pickle: bool, conventions: Any
) -> TorchModuleEncoder:
    """A ``.pt`` written by ``torch.save``: a pickled module when trusted, else an error
    saying what the file is and how to load it."""
    import pickle

    import torch

    advice = (
        "pass the class it belongs to as the model, 'package.module:Class', with "
        f"weights={str(path)!r} (--weights) and its keyword arguments in init= (--init)"
    )
    try:
        content = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as error:
        raise EncoderError(
            f"{path} is not TorchScript: it was written by torch.save and holds pickled "
            f"Python objects (a whole model saved with torch.save(model), say); {_PICKLE_HINT}, "
            f"or save it with torch.jit.save(torch.jit.script(model)), or {advice}"
        ) from error
    except Exception as error:
        hint = (
            "; import the module that defines the model's class before loading"
            if isinstance(error, (AttributeError, ImportError))
            else "; the file is truncated or corrupt"
        )
        raise EncoderError(
            f"could not load {path} with torch.load: {summarize_error(error)}{hint}"
        ) from error
    if isinstance(content, torch.nn.Module):
        return TorchModuleEncoder(
            content,
            adapter="torch_pickle",
            spec=spec,
            name=path.stem,
            sha256=sha256,
            device=device,
            files=(path,),
            **conventions,
        )
    if isinstance(content, Mapping) and any(key in content for key in CHECKPOINT_KEYS):
        what = "a training checkpoint (a dict with its weights under 'state_dict')"
    elif isinstance(content, Mapping):
        what = f"a state dict ({len(content)} entries such as {list(content)[:2]})"
    else:
        what = _what(content)
    raise EncoderError(
        f"{path} is not TorchScript: it was written by torch.save and holds {what}, "
        f"weights without the model's code; {advice}"
    )


def _what(content: Any) -> str:
    if isinstance(content, Mapping):
        return f"a dict with keys {list(content)[:5]}"
    return f"a {type(content).__module__}.{type(content).__qualname__}"
