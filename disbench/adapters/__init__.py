"""Model files and callables turned into an ``Encoder`` (DESIGN.md, "Adapters").

``load_encoder(spec, **options)`` picks the adapter from the spec:

==========================  =========================================  ====================
spec                        what it is                                 adapter
==========================  =========================================  ====================
``model.pt``, ``.pth``      TorchScript, ``torch.jit.load``            ``torchscript``
``model.pt2``               ``torch.export`` program                   ``torch_export``
``pkg.mod:Class``           ``nn.Module`` class + ``weights=`` file    ``torch_state_dict``
``pkg.mod:fn``              callable: torch, numpy or JAX (jitted)     ``function``
``model.jaxexport``         serialised ``jax.export`` artifact         ``jax_export``
``model.onnx``              onnxruntime                                ``onnx``
``codes.npz``               precomputed codes: ``PrecomputedCodes``    ``npz``
``model.pt`` + trust        a pickled whole ``nn.Module``              ``torch_pickle``
==========================  =========================================  ====================

Every ``Encoder`` maps float32 NCHW images in [0, 1] to float32 (batch, n_codes) codes, with
the conventions (input layout and range, output selection, output check, error messages)
applied once in ``Encoder.encode``. ``.npz`` codes are not an ``Encoder``: ``load_codes``
(and ``load_encoder``) return a ``PrecomputedCodes`` whose ``codes`` and ``factors`` the
evaluation uses directly.
"""

from disbench.adapters.base import Encoder, EncoderError
from disbench.adapters.codes import PrecomputedCodes, load_codes
from disbench.adapters.load import load_encoder

__all__ = ["Encoder", "EncoderError", "PrecomputedCodes", "load_codes", "load_encoder"]
