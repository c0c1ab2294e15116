"""The reference encoder of ``models`` written in JAX: ``module:function`` specs whose module
imports JAX and numpy (not torch), so that its framework is detected as JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tests.adapters import numpy_functions

PARAMS = {key: jnp.asarray(value) for key, value in numpy_functions.WEIGHTS.items()}


def encode(x):
    """(B, 1, 64, 64) float32 -> (mean, logvar) of the reference encoder."""
    for layer in (0, 2, 4, 6):
        x = jax.lax.conv_general_dilated(
            x,
            PARAMS[f"conv.{layer}.weight"],
            window_strides=(2, 2),
            padding=((1, 1), (1, 1)),
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
        )
        x = jax.nn.relu(x + PARAMS[f"conv.{layer}.bias"][None, :, None, None])
    hidden = jax.nn.relu(x.reshape(x.shape[0], -1) @ PARAMS["fc.weight"].T + PARAMS["fc.bias"])
    mean, logvar = jnp.split(hidden @ PARAMS["head.weight"].T + PARAMS["head.bias"], 2, axis=1)
    return mean, logvar


def encode_distribution(x):
    """The reference as a dict of the Gaussian's parameters, {"loc", "scale"}."""
    mean, logvar = encode(x)
    return {"loc": mean, "scale": jnp.exp(logvar / 2)}


#: Already jitted: run as it is.
encode_jitted = jax.jit(encode)


def encode_annotated(x: np.ndarray):
    """A numpy function in a JAX module: its annotation says what it takes."""
    return numpy_functions.encode(x)


def encode_nhwc_pm1(x):
    """The reference on channels-last images in [-1, 1]."""
    return encode(jnp.transpose((x + 1) / 2, (0, 3, 1, 2)))
