"""Model files of the reference encoder in every format the adapters read, written once per
test session by the real exporters: TorchScript (scripted, traced), torch.export, state
dicts and checkpoints, ONNX, a serialised jax.export artifact."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import torch

from tests.adapters import models

# The tests of the optional frameworks (the ``jax`` and ``onnx`` extras, which CI installs)
# are not collected where the framework is absent.
collect_ignore = []
if importlib.util.find_spec("jax") is None:
    collect_ignore += ["jax_functions.py", "test_function.py", "test_jax_export.py"]
if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
    collect_ignore += ["test_onnx_runtime.py"]


def _jit_save(module: torch.nn.Module, path: Path, *, trace: bool = False) -> Path:
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        compiled = torch.jit.trace(module, models.images(2)) if trace else torch.jit.script(module)
        torch.jit.save(compiled, str(path))
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def scripted(model_dir: Path) -> Path:
    return _jit_save(models.REFERENCE, model_dir / "scripted.pt")


@pytest.fixture(scope="session")
def traced(model_dir: Path) -> Path:
    return _jit_save(models.REFERENCE, model_dir / "traced.pth", trace=True)


@pytest.fixture(scope="session")
def exported(model_dir: Path) -> Path:
    """A torch.export program with a dynamic batch dimension."""
    program = torch.export.export(
        models.REFERENCE,
        (models.images(2),),
        dynamic_shapes=({0: torch.export.Dim("batch")},),
    )
    torch.export.save(program, model_dir / "exported.pt2")
    return model_dir / "exported.pt2"


@pytest.fixture(scope="session")
def state_dict(model_dir: Path) -> Path:
    """``torch.save(model.state_dict())``, under the suffix people give it, ``.pt``."""
    torch.save(models.REFERENCE.state_dict(), model_dir / "weights.pt")
    return model_dir / "weights.pt"


@pytest.fixture(scope="session")
def onnx_file(model_dir: Path) -> Path:
    """The dynamo exporter of torch.onnx, weights in the external file ``vae.onnx.data``."""
    path = model_dir / "vae.onnx"
    with warnings.catch_warnings():  # torch 2.13's exporter trips a pytree FutureWarning
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            models.REFERENCE,
            (models.images(2),),
            str(path),
            input_names=["images"],
            output_names=["mean", "logvar"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
    return path


@pytest.fixture(scope="session")
def jax_export_file(model_dir: Path) -> Path:
    """``jax_functions.encode`` exported with a symbolic batch dimension."""
    import jax
    import jax.numpy as jnp

    from tests.adapters import jax_functions

    images = jax.ShapeDtypeStruct(jax.export.symbolic_shape("b, 1, 64, 64"), jnp.float32)
    exported = jax.export.export(jax.jit(jax_functions.encode))(images)
    path = model_dir / "vae.jaxexport"
    path.write_bytes(exported.serialize())
    return path


def truncated(path: Path, folder: Path) -> Path:
    """A copy of ``path`` in ``folder`` cut to half its bytes, as an interrupted download."""
    data = path.read_bytes()
    copy = folder / path.name
    copy.write_bytes(data[: len(data) // 2])
    return copy


@pytest.fixture(scope="session")
def scripted_dict(model_dir: Path) -> Path:
    """A scripted model returning {"mu": mean, "logvar": logvar}."""
    module = models.DictConvEncoder().eval()
    module.load_state_dict(models.REFERENCE.state_dict())
    return _jit_save(module, model_dir / "dict.pt")


@pytest.fixture(scope="session")
def feature_map(model_dir: Path) -> Path:
    """A scripted model returning its last feature map, (B, 8, 4, 4)."""
    return _jit_save(models.FeatureMapEncoder().eval(), model_dir / "feature_map.pt")
