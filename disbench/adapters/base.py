"""The ``Encoder`` interface and the input/output conventions every adapter shares.

An adapter only knows how to load its format and call the model (``_forward``); the base
class applies the conventions of the field once, in ``encode``:

1. input layout: images arrive NCHW; ``input_layout="nhwc"`` hands the model channels last;
2. input range: images arrive in [0, 1]; ``input_range=(low, high)`` rescales them linearly;
3. output selection: a tuple or list yields element 0 (the mean of a VAE's (mean, log
   variance)), a dict yields its key ``"mean"``, ``"mu"`` or ``"loc"``; ``output=`` an index or
   a key picks another element;
4. output check: the codes must be 2-D, (batch, n_codes), with the batch of the input;
5. errors: an exception raised inside the model becomes an ``EncoderError`` that names the
   input shape and dtype the model was given and the options to try.

torch is imported when an encoder is built or run, not when this module is imported.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch

#: Image layouts an encoder can ask for: channels first (the default) or channels last.
INPUT_LAYOUTS = ("nchw", "nhwc")
#: Dict keys taken, in this order, as the mean of a (mean, log variance) output.
MEAN_KEYS = ("mean", "mu", "loc")
#: What to try when a model fails on its input; one line, named for Python and the CLI.
#: The layout suggested is the one the encoder is not using.
_HINT = (
    "if the model wants channels {other}, try input_layout='{layout}' (--input-layout "
    "{layout}); for another value range, input_range=(-1, 1) or (0, 255) (--input-range -1,1); "
    "to pick another output of the model, output=INDEX or KEY (--output)"
)
_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*:")


class EncoderError(ValueError):
    """A model file that cannot be loaded, or a model that fails or returns the wrong thing.

    A ``ValueError``, so the command line prints it as a one-line error. The message names
    the file or the input that failed and says what to do.
    """


def check_conventions(
    input_layout: str, input_range: Sequence[float], output: int | str | None
) -> tuple[str, tuple[float, float], int | str | None]:
    """Validate the convention options and return them normalised.

    Raises ``ValueError`` for a layout other than ``"nchw"``/``"nhwc"``, a range that is not
    two finite numbers with ``low < high``, or an ``output`` that is not an int, a str or None.
    """
    if input_layout not in INPUT_LAYOUTS:
        raise ValueError(
            f"input_layout must be one of {', '.join(map(repr, INPUT_LAYOUTS))}; "
            f"got {input_layout!r}"
        )
    try:
        low, high = (float(value) for value in input_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_range must be two numbers (low, high), e.g. (0, 255) or (-1, 1); "
            f"got {input_range!r}"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"input_range must have finite low < high; got ({low}, {high})")
    if output is not None and (isinstance(output, bool) or not isinstance(output, (int, str))):
        raise TypeError(
            f"output must be an index (int), a key (str) or None; got {type(output).__name__}"
        )
    return input_layout, (low, high), output


def resolve_device(device: Any) -> torch.device:
    """The torch device for ``device``: None or ``"cpu"`` is the CPU; ``"auto"`` is CUDA when
    torch sees a GPU, else the CPU; anything else is parsed by ``torch.device`` and must exist.
    """
    import torch

    if device is None:
        return torch.device("cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or a torch.device; got {device!r}"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} asked for, but torch sees no CUDA GPU here; "
                "use device='cpu' (--device cpu) or 'auto'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} asked for, but torch sees {torch.cuda.device_count()} GPU(s)"
            )
    return resolved


def summarize_error(error: BaseException) -> str:
    """One line saying what ``error`` was: its type and the line of its message that matters.

    TorchScript and onnxruntime raise messages of many lines (a serialised traceback, then
    the error); the last line that reads ``SomethingError: ...`` is kept, else the whole
    message with its whitespace collapsed, cut at 300 characters.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if _ERROR_LINE.match(line)]
    text = named[-1] if named else f"{type(error).__name__}: {' '.join(lines)}"
    return text if len(text) <= 300 else text[:297] + "..."


class Encoder(abc.ABC):
    """A trained model turned into a function from images to codes.

    Attributes
    ----------
    name : str
        Short label for tables: the model file's stem, the weights file's stem for
        ``module:Class``, or ``"pkg.mod:fn"`` for a callable.
    spec : str
        What the user passed to ``load_encoder``.
    sha256 : str or None
        Hex SHA-256 of the model file(s) (the weights file for ``module:Class``); None for a
        Python callable, whose code cannot be hashed. Results are cached only under a hash.
    options : dict
        The options that change the codes, JSON-able: ``input_layout``, ``input_range``
        (a list), ``output``, and the adapter's own (``init``, ``framework``).
    device : torch.device
        Where ``encode`` wants its input and returns its codes (the CPU for ONNX, JAX and
        numpy models, which convert at the boundary).
    files : tuple of pathlib.Path
        The model file(s) that ``sha256`` covers.
    """

    #: The adapter's name, recorded in the provenance (e.g. ``"torchscript"``, ``"onnx"``).
    adapter: ClassVar[str]

    def __init__(
        self,
        *,
        spec: str,
        name: str,
        sha256: str | None,
        device: torch.device,
        input_layout: str = "nchw",
        input_range: Sequence[float] = (0.0, 1.0),
        output: int | str | None = None,
        files: Sequence[Path] = (),
        extra_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.input_layout, self.input_range, self.output = check_conventions(
            input_layout, input_range, output
        )
        self.spec = spec
        self.name = name
        self.sha256 = sha256
        self.device = device
        self.files = tuple(files)
        self.options = {
            "input_layout": self.input_layout,
            "input_range": list(self.input_range),
            "output": self.output,
            **(extra_options or {}),
        }

    @abc.abstractmethod
    def _forward(self, x: torch.Tensor) -> Any:
        """Run the model on ``x`` (already in the model's layout and range, on ``device``)
        and return what it returns: an array or tensor, a tuple, list or dict of them."""

    def to(self, device: Any) -> Encoder:
        """Move the model to ``device`` (see ``resolve_device``) and return ``self``.

        Encoders that run outside torch (ONNX, JAX, numpy) keep taking CPU tensors and
        return ``self`` unchanged; their accelerator is chosen by ``device=`` at load time.
        """
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of a batch of images.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, channels, height, width)
            float32 images in [0, 1], NCHW, on ``self.device`` (moved and cast if not).

        Returns
        -------
        torch.Tensor of shape (batch, n_codes)
            float32 codes on ``self.device``, computed under ``torch.inference_mode()``.

        Raises
        ------
        EncoderError
            When the model raises (the message names the input shape and dtype it was given
            and the options to try) or returns anything but (batch, n_codes) codes.
        """
        import torch

        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            raise TypeError(
                "encode takes a torch.Tensor of images (batch, channels, height, width); "
                f"got {_describe(x)}"
            )
        with torch.inference_mode():
            model_input = self._prepare(x.to(device=self.device, dtype=torch.float32))
            try:
                raw = self._forward(model_input)
            except EncoderError:
                raise
            except Exception as error:
                raise EncoderError(
                    f"{self.name} failed on an input of shape {tuple(model_input.shape)}, "
                    f"dtype {model_input.dtype} ({self.input_layout.upper()}, values in "
                    f"[{self.input_range[0]:g}, {self.input_range[1]:g}]): "
                    f"{summarize_error(error)}; {self._hint()}"
                ) from error
            return self._codes(self._select(raw), batch=x.shape[0])

    def _hint(self) -> str:
        if self.input_layout == "nchw":
            return _HINT.format(other="last", layout="nhwc")
        return _HINT.format(other="first", layout="nchw")

    def provenance(self) -> dict:
        """JSON-able description: ``spec``, ``name``, ``sha256``, ``adapter``, ``options``
        and ``files`` (the model files hashed, as absolute paths)."""
        return {
            "spec": self.spec,
            "name": self.name,
            "sha256": self.sha256,
            "adapter": self.adapter,
            "options": dict(self.options),
            "files": [str(path.resolve()) for path in self.files],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r}, device={str(self.device)!r})"

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], NCHW -> the model's range and layout."""
        low, high = self.input_range
        if (low, high) != (0.0, 1.0):
            x = x * (high - low) + low
        if self.input_layout == "nhwc":
            x = x.permute(0, 2, 3, 1).contiguous()
        return x

    def _select(self, raw: Any) -> Any:
        """The element of the model's output that holds the codes."""
        output = self.output
        if isinstance(raw, Mapping):
            if output is None:
                key = next((key for key in MEAN_KEYS if key in raw), None)
                if key is None:
                    raise EncoderError(
                        f"{self.name} returned a dict with keys {sorted(map(str, raw))}, none "
                        f"of {', '.join(MEAN_KEYS)}; pick the codes with output=KEY (--output)"
                    )
                return raw[key]
            if output not in raw:
                raise EncoderError(
                    f"{self.name} returned a dict with keys {sorted(map(str, raw))}; "
                    f"output={output!r} is not one of them"
                )
            return raw[output]
        if isinstance(raw, (tuple, list)):
            if output is None:
                output = 0
            if not isinstance(output, int):
                raise EncoderError(
                    f"{self.name} returned a {type(raw).__name__} of {len(raw)} elements; "
                    f"output={output!r} must then be an index"
                )
            if not -len(raw) <= output < len(raw):
                raise EncoderError(
                    f"{self.name} returned a {type(raw).__name__} of {len(raw)} elements; "
                    f"output={output} is out of range"
                )
            return raw[output]
        if output is not None:
            raise EncoderError(
                f"{self.name} returned a single {_describe(raw)}; output={output!r} applies "
                "only to a tuple, list or dict output: leave output unset"
            )
        return raw

    def _codes(self, value: Any, *, batch: int) -> torch.Tensor:
        """``value`` as float32 (batch, n_codes) codes on ``self.device``, or ``EncoderError``."""
        import torch

        if not isinstance(value, torch.Tensor):
            if not (isinstance(value, np.ndarray) or hasattr(value, "__array__")):
                raise EncoderError(
                    f"{self.name} returned {_describe(value)}; expected an array of codes "
                    f"(batch, n_codes), or a tuple or dict holding one"
                )
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise EncoderError(
                    f"{self.name} returned an array of dtype {array.dtype}; codes must be numbers"
                )
            value = torch.from_numpy(array.astype(np.float32))
        elif value.is_complex():
            raise EncoderError(
                f"{self.name} returned a tensor of dtype {value.dtype}; codes must be real"
            )
        if value.ndim != 2 or value.shape[0] != batch:
            raise EncoderError(
                f"{self.name} returned codes of shape {tuple(value.shape)} for a batch of "
                f"{batch} images; expected (batch, n_codes) = ({batch}, D). Flatten or select "
                "the codes in the model, or pick another output with output= (--output)"
            )
        return value.to(device=self.device, dtype=torch.float32)


def _describe(value: Any) -> str:
    """'a Tensor of shape (2, 3) and dtype torch.float32', 'a list', 'None' ..."""
    if value is None:
        return "None"
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    return f"a {type(value).__name__}"
