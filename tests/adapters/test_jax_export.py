"""Serialised ``jax.export`` artifacts (``.jaxexport``)."""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from disbench.adapters import EncoderError, load_encoder
from tests.adapters import jax_functions, models
from tests.adapters.conftest import truncated


@pytest.mark.parametrize("batch", [2, 7])
def test_artifact_codes_equal_the_torch_model(jax_export_file, batch):
    encoder = load_encoder(jax_export_file)
    x = models.images(batch)
    np.testing.assert_allclose(encoder.encode(x).numpy(), models.reference(x)[0], atol=1e-4)
    np.testing.assert_allclose(
        load_encoder(jax_export_file, output=1).encode(x).numpy(),
        models.reference(x)[1],
        atol=1e-4,
    )
    assert encoder.adapter == "jax_export" and encoder.name == "vae"
    assert encoder.sha256 == hashlib.sha256(jax_export_file.read_bytes()).hexdigest()
    assert encoder.to("cpu") is encoder and encoder.device.type == "cpu"


def test_an_artifact_of_fixed_batch_fails_on_another_with_the_shape(tmp_path):
    images = jax.ShapeDtypeStruct((4, 1, 64, 64), jnp.float32)
    path = tmp_path / "fixed.jaxexport"
    path.write_bytes(jax.export.export(jax.jit(jax_functions.encode))(images).serialize())
    with pytest.raises(
        EncoderError,
        match=r"fixed failed on an input of shape \(3, 1, 64, 64\).*"
        r"ValueError: Shape mismatch for args\[0\].shape\[0\]",
    ):
        load_encoder(path).encode(models.images(3))


def test_two_argument_artifacts_are_refused(tmp_path):
    array = jax.ShapeDtypeStruct((2, 3), jnp.float32)
    path = tmp_path / "two.jaxexport"
    path.write_bytes(jax.export.export(jax.jit(lambda a, b: a + b))(array, array).serialize())
    with pytest.raises(EncoderError, match=r"two.jaxexport takes 2 arrays .*; disbench passes one"):
        load_encoder(path)


def test_truncated_artifact_is_named(jax_export_file, tmp_path):
    path = truncated(jax_export_file, tmp_path)
    with pytest.raises(
        EncoderError,
        match=rf"could not load {path} as a serialised jax.export "
        r"artifact .*; the file is truncated or corrupt",
    ):
        load_encoder(path)
