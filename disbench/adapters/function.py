"""Python callables, ``module:function``: how a JAX, Equinox, numpy or plain-torch model
plugs in.

The callable takes a batch of images and returns codes (or a tuple or dict holding them).
What it is handed depends on its framework:

- ``"torch"``: a ``torch.Tensor`` on the encoder's device;
- ``"numpy"``: a float32 ``numpy.ndarray`` (a view of the CPU tensor, no copy);
- ``"jax"``: a ``jax.Array`` on the chosen JAX device, and the callable runs under
  ``jax.jit`` (unless it already is a jitted function); it compiles once per batch shape.

The framework is ``framework=`` when given, else detected, first rule that applies:

1. a ``jax.jit`` function is JAX; a ``torch.nn.Module`` or TorchScript function is torch;
2. the annotation of the first parameter: ``torch.Tensor`` -> torch, ``np.ndarray`` ->
   numpy, ``jax.Array`` / ``jnp.ndarray`` -> JAX;
3. the modules the callable's own module imported: JAX (or Flax, Equinox, Haiku) alone ->
   JAX; torch alone -> torch; neither -> numpy; both -> an error asking for ``framework=``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

from disbench.adapters.base import Encoder, resolve_device

#: Frameworks a callable can take its input in.
FRAMEWORKS = ("torch", "numpy", "jax")
_JAX_ROOTS = ("jax", "jaxlib", "flax", "equinox", "haiku")


class FunctionEncoder(Encoder):
    """A Python callable from images to codes (see the module docstring).

    Parameters
    ----------
    function : callable
        The model.
    spec : str
        What the user passed, ``"pkg.mod:fn"`` (also the encoder's name) or
        ``"path/to/model.py:fn"`` (named ``"model:fn"``).
    framework : {"torch", "numpy", "jax"} or None, default=None
        What the callable takes; detected when None.
    device : str or torch.device or None, default=None
        torch: where input tensors go (a ``torch.nn.Module`` is moved there too);
        JAX: None or ``"cpu"`` is JAX's CPU, ``"auto"`` JAX's default device, ``"cuda[:N]"``
        JAX's GPU N; numpy: the CPU only.
    **conventions
        ``input_layout``, ``input_range``, ``output`` (see ``Encoder``).

    Notes
    -----
    ``sha256`` is None: a callable's code and weights cannot be hashed, so its codes are not
    cached between runs. JAX and numpy callables take CPU tensors (``device`` is the CPU)
    and ``to`` leaves them where they are.
    """

    adapter = "function"

    def __init__(
        self,
        function: Any,
        *,
        spec: str,
        framework: str | None = None,
        device: Any = None,
        **conventions: Any,
    ) -> None:
        if framework is None:
            framework = detect_framework(function, spec)
        elif framework not in FRAMEWORKS:
            raise ValueError(
                f"framework must be one of {', '.join(map(repr, FRAMEWORKS))}; got {framework!r}"
            )
        self.framework = framework
        torch_device = resolve_device(device) if framework == "torch" else _cpu()
        if framework == "numpy" and device not in (None, "cpu", "auto"):
            raise ValueError(f"{spec} is a numpy function: it runs on the CPU; got {device=}")
        module, _, attribute = spec.rpartition(":")
        super().__init__(
            spec=spec,
            # "path/to/model.py:encode" is named "model:encode" in tables.
            name=f"{Path(module).stem}:{attribute}" if module.endswith(".py") else spec,
            sha256=None,
            device=torch_device,
            extra_options={"framework": framework},
            **conventions,
        )
        self.function = function
        if framework == "jax":
            import jax

            self.jax_device = jax_device(device)
            if not isinstance(function, jax.stages.Wrapped):
                self.function = jax.jit(function)
        self.to(torch_device)

    def to(self, device: Any) -> FunctionEncoder:
        """torch callables: move inputs (and an ``nn.Module``) to ``device``; others: no-op."""
        if self.framework == "torch":
            import torch

            self.device = resolve_device(device)
            if isinstance(self.function, torch.nn.Module):
                self.function.eval().to(self.device)
        return self

    def _forward(self, x: Any) -> Any:
        if self.framework == "torch":
            return self.function(x)
        if self.framework == "numpy":
            return self.function(x.numpy())
        import jax

        return self.function(jax.device_put(x.numpy(), self.jax_device))


def jax_device(device: Any) -> Any:
    """The ``jax.Device`` for ``device``: None/"cpu" -> CPU, "auto" -> JAX's default,
    "cuda"/"gpu"[:N] -> GPU N; a ``ValueError`` when JAX has no such device."""
    import jax

    if device == "auto":
        return jax.devices()[0]
    text = "cpu" if device is None else str(device)
    kind, _, index = text.partition(":")
    kind = {"cuda": "gpu"}.get(kind, kind)
    try:
        devices = jax.devices(kind)
        return devices[int(index or 0)]
    except (RuntimeError, IndexError, ValueError):
        raise ValueError(
            f"JAX has no device {text!r} here (it has {jax.devices()}); use device='cpu' or 'auto'"
        ) from None


def detect_framework(function: Any, spec: str) -> str:
    """``"torch"``, ``"numpy"`` or ``"jax"``: what ``function`` takes (module docstring)."""
    jax = sys.modules.get("jax")
    torch = sys.modules.get("torch")
    if jax is not None and isinstance(function, jax.stages.Wrapped):
        return "jax"
    if torch is not None and isinstance(function, (torch.nn.Module, torch.jit.ScriptFunction)):
        return "torch"
    annotated = _annotated_framework(function)
    if annotated is not None:
        return annotated
    imported = {
        _framework_of_root(value.__name__.partition(".")[0])
        for value in _namespace(function).values()
        if isinstance(value, types.ModuleType)
    } | {
        _framework_of_root(getattr(value, "__module__", "").partition(".")[0])
        for value in _namespace(function).values()
        if not isinstance(value, types.ModuleType)
    }
    imported &= {"jax", "torch"}
    if len(imported) == 2:
        raise ValueError(
            f"cannot tell whether {spec} takes torch tensors or JAX arrays: its module uses "
            "both; annotate its first parameter (x: torch.Tensor, jax.Array or np.ndarray) "
            "or pass framework='torch', 'jax' or 'numpy' (--framework)"
        )
    return imported.pop() if imported else "numpy"


def _framework_of_root(root: str) -> str | None:
    if root in _JAX_ROOTS:
        return "jax"
    return {"torch": "torch", "numpy": "numpy"}.get(root)


def _unwrap(function: Any) -> Any:
    while isinstance(function, functools.partial):
        function = function.func
    return inspect.unwrap(function) if callable(function) else function


def _namespace(function: Any) -> dict[str, Any]:
    """The globals of ``function``'s module (of its class's module for a callable object)."""
    function = _unwrap(function)
    if hasattr(function, "__globals__"):
        return function.__globals__
    module = sys.modules.get(getattr(type(function), "__module__", ""))
    return vars(module) if module is not None else {}


def _annotated_framework(function: Any) -> str | None:
    """The framework named by the annotation of the first parameter, if any."""
    function = _unwrap(function)
    target = function if inspect.isroutine(function) else type(function).__call__
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return None
    if not parameters or parameters[0].annotation is inspect.Parameter.empty:
        return None
    annotation = parameters[0].annotation
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(target)[parameters[0].name]
        except Exception:
            # An annotation naming something the module never imported: read its text.
            root = annotation.partition(".")[0]
            return {"np": "numpy", "jnp": "jax"}.get(root) or _framework_of_root(root)
    root = getattr(annotation, "__module__", "").partition(".")[0]
    return _framework_of_root(root)


def _cpu() -> Any:
    import torch

    return torch.device("cpu")
