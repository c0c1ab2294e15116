"""``module:function`` callables in torch, numpy and JAX, and how their framework is found."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
import torch

from disbench.adapters import EncoderError, load_encoder
from disbench.adapters.function import detect_framework, jax_device
from tests.adapters import jax_functions, models, numpy_functions

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("spec", "framework", "atol"),
    [
        ("tests.adapters.models:encode", "torch", 0),
        ("tests.adapters.models:REFERENCE", "torch", 0),  # an nn.Module object
        ("tests.adapters.numpy_functions:encode", "numpy", 1e-5),
        ("tests.adapters.jax_functions:encode", "jax", 1e-4),
        ("tests.adapters.jax_functions:encode_jitted", "jax", 1e-4),
        ("tests.adapters.jax_functions:encode_annotated", "numpy", 1e-5),
        (f"{HERE / 'numpy_functions.py'}:encode", "numpy", 1e-5),
    ],
)
def test_functions_give_the_reference_codes(spec, framework, atol):
    encoder = load_encoder(spec)
    x = models.images(5)
    codes = encoder.encode(x)
    assert encoder.options["framework"] == framework
    assert encoder.sha256 is None
    assert encoder.name == (spec if ".py:" not in spec else "numpy_functions:encode")
    assert codes.dtype == torch.float32 and codes.device.type == "cpu"
    np.testing.assert_allclose(codes.numpy(), models.reference(x)[0], atol=atol, rtol=0)


def test_jax_dict_output_yields_loc_and_output_picks_scale():
    x = models.images(4)
    mean, logvar = models.reference(x)
    spec = "tests.adapters.jax_functions:encode_distribution"
    np.testing.assert_allclose(load_encoder(spec).encode(x).numpy(), mean, atol=1e-4)
    scale = load_encoder(spec, output="scale").encode(x).numpy()
    np.testing.assert_allclose(scale, np.exp(logvar / 2), rtol=1e-4)


def test_jax_layout_and_range_are_applied_before_the_jax_array_is_made():
    """A JAX model taking NHWC in [-1, 1]: the conventions run on the torch side."""
    x = models.images(3)
    encoder = load_encoder(
        "tests.adapters.jax_functions:encode_nhwc_pm1", input_layout="nhwc", input_range=(-1, 1)
    )
    np.testing.assert_allclose(encoder.encode(x).numpy(), models.reference(x)[0], atol=1e-4)


def test_jax_failure_names_the_input():
    encoder = load_encoder("tests.adapters.jax_functions:encode", input_layout="nhwc")
    with pytest.raises(
        EncoderError,
        match=r"failed on an input of shape \(2, 64, 64, 1\), "
        r"dtype torch.float32 \(NHWC",
    ):
        encoder.encode(models.images(2))


def test_explicit_framework_overrides_detection():
    encoder = load_encoder("tests.adapters.numpy_functions:encode", framework="numpy")
    assert encoder.framework == "numpy"
    with pytest.raises(ValueError, match=r"framework must be one of 'torch', 'numpy', 'jax'"):
        load_encoder("tests.adapters.numpy_functions:encode", framework="tf")
    # Told it takes JAX, the torch function is traced by jax.jit and fails: the error says so.
    encoder = load_encoder("tests.adapters.models:encode", framework="jax")
    with pytest.raises(EncoderError, match=r"failed on an input of shape \(2, 1, 64, 64\)"):
        encoder.encode(models.images(2))


def _unannotated(x):
    return x


def _annotated_torch(x: torch.Tensor):
    return x


def _annotated_unknown(x: jnp.ndarray):  # noqa: F821 (a name this module never imported)
    return x


def test_detection_rules():
    assert detect_framework(jax_functions.encode, "s") == "jax"
    assert detect_framework(jax_functions.encode_jitted, "s") == "jax"
    assert detect_framework(jax_functions.encode_annotated, "s") == "numpy"
    assert detect_framework(numpy_functions.encode, "s") == "numpy"
    assert detect_framework(models.encode, "s") == "torch"
    assert detect_framework(models.REFERENCE, "s") == "torch"
    assert detect_framework(_annotated_torch, "s") == "torch"
    assert detect_framework(_annotated_unknown, "s") == "jax"
    # This test module imports torch and JAX: an unannotated function is ambiguous.
    with pytest.raises(
        ValueError,
        match=r"cannot tell whether s takes torch tensors or JAX "
        r"arrays: .* or pass framework='torch', 'jax' or 'numpy' \(--framework\)",
    ):
        detect_framework(_unannotated, "s")


def test_bad_specs():
    with pytest.raises(
        EncoderError,
        match=r"cannot import 'tests.adapters.nothing' for the "
        r"model 'tests.adapters.nothing:encode': No module named",
    ):
        load_encoder("tests.adapters.nothing:encode")
    with pytest.raises(
        EncoderError,
        match=r"'tests.adapters.models' has no attribute 'encoder'; "
        r"it has \['ConvEncoder'",
    ):
        load_encoder("tests.adapters.models:encoder")
    with pytest.raises(TypeError, match=r"models:LATENT_DIM is a int, not a function"):
        load_encoder("tests.adapters.models:LATENT_DIM")
    with pytest.raises(
        ValueError,
        match=r"weights and init apply to a torch.nn.Module class; "
        r"tests.adapters.models:encode is a function",
    ):
        load_encoder("tests.adapters.models:encode", weights="w.pt")
    with pytest.raises(FileNotFoundError, match=r"module file 'nowhere/model.py' does not exist"):
        load_encoder("nowhere/model.py:encode")
    with pytest.raises(ValueError, match=r"is a numpy function: it runs on the CPU"):
        load_encoder("tests.adapters.numpy_functions:encode", device="cuda")


def test_a_module_file_that_fails_to_import_is_named(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import numpy\nraise ImportError('needs equinox')\n")
    with pytest.raises(
        EncoderError,
        match=r"importing '.*broken.py' for the model .* failed: "
        r"ImportError: needs equinox",
    ):
        load_encoder(f"{path}:encode")


def test_jax_devices():
    assert jax_device(None).platform == "cpu"
    assert jax_device("auto") == jax.devices()[0]
    with pytest.raises(ValueError, match=r"JAX has no device 'cpu:99' here"):
        jax_device("cpu:99")
