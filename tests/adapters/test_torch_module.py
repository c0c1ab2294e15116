"""``module:Class`` with a state dict or a Lightning checkpoint, and key prefix matching."""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest
import torch

from disbench.adapters import EncoderError, load_encoder
from disbench.adapters.torch_module import fit_state_dict
from tests.adapters import models
from tests.adapters.conftest import truncated

CLASS = "tests.adapters.models:ConvEncoder"


def _prefixed(prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + key: value for key, value in models.REFERENCE.state_dict().items()}


def test_class_with_state_dict_equals_the_model(state_dict):
    encoder = load_encoder(CLASS, weights=state_dict, init={"latent_dim": models.LATENT_DIM})
    x = models.images(5)
    np.testing.assert_array_equal(encoder.encode(x).numpy(), models.reference(x)[0])
    assert encoder.adapter == "torch_state_dict"
    assert encoder.name == "weights"
    assert encoder.sha256 == hashlib.sha256(state_dict.read_bytes()).hexdigest()
    assert encoder.options["init"] == {"latent_dim": 3}
    assert not encoder.module.training


@pytest.mark.parametrize(
    "checkpoint",
    [
        # PyTorch Lightning: the LightningModule's attribute names prefix every key.
        lambda: {
            "state_dict": _prefixed("model."),
            "epoch": 7,
            "global_step": 700,
            "pytorch-lightning_version": "2.4.0",
            "hyper_parameters": {"latent_dim": 3, "beta": 4.0},
        },
        # A LightningModule holding the whole VAE: the decoder's keys are ignored.
        lambda: {"state_dict": models.Lightning(models.REFERENCE).state_dict(), "epoch": 1},
        # nn.DataParallel and torch.compile prefixes.
        lambda: _prefixed("module."),
        lambda: {"model_state_dict": _prefixed("_orig_mod."), "optimizer": {"lr": 1e-3}},
    ],
    ids=["lightning", "lightning-vae", "data-parallel", "compiled"],
)
def test_checkpoints_and_prefixes(checkpoint, tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save(checkpoint(), path)
    x = models.images(4)
    codes = load_encoder(CLASS, weights=path).encode(x).numpy()
    np.testing.assert_array_equal(codes, models.reference(x)[0])


def test_weights_of_another_shape_name_the_mismatches(state_dict):
    with pytest.raises(EncoderError) as raised:
        load_encoder(CLASS, weights=state_dict, init={"latent_dim": 5})
    message = str(raised.value)
    assert message.startswith(
        "the weights do not fit weights.pt for tests.adapters.models:ConvEncoder(**{'latent_dim': "
        "5}): 2 shape mismatches (head.weight: file (6, 16), class (10, 16); head.bias: file "
        "(6,), class (10,))"
    )
    assert "init= (--init)" in message


def test_weights_of_another_model_name_the_missing_keys(tmp_path):
    path = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(EncoderError) as raised:
        load_encoder(CLASS, weights=path)
    assert str(raised.value).startswith(
        "the weights do not fit linear.pt for tests.adapters.models:ConvEncoder(**{}): 12 of the "
        "12 keys the class expects are missing (e.g. ['conv.0.weight', 'conv.0.bias', "
        "'conv.2.weight']); the file has keys such as ['weight', 'bias']"
    )


def test_fit_state_dict_reports_the_best_prefix_and_ambiguity():
    expected = models.REFERENCE.state_dict()
    partial = {key: value for key, value in _prefixed("model.").items() if "head" not in key}
    with pytest.raises(
        EncoderError,
        match=r"2 of the 12 keys .* \['head.weight', 'head.bias'\]"
        r"\) under the prefix 'model.'",
    ):
        fit_state_dict(partial, expected, source="x")
    with pytest.raises(EncoderError, match=r"under several prefixes \['a.', 'b.'\]"):
        fit_state_dict({**_prefixed("a."), **_prefixed("b.")}, expected, source="x")
    fitted = fit_state_dict(
        {**_prefixed("a."), "b.head.bias": expected["head.bias"]}, expected, source="x"
    )
    assert list(fitted) == list(expected)


def test_pickled_extras_need_trust_pickle(tmp_path):
    path = tmp_path / "extras.ckpt"
    torch.save({"state_dict": _prefixed(""), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(
        EncoderError,
        match=r"holds pickled Python objects beside its tensors, "
        r"which torch.load\(weights_only=True\) refuses; .* \(--trust-pickle\)",
    ):
        load_encoder(CLASS, weights=path)
    x = models.images(2)
    codes = load_encoder(CLASS, weights=path, trust_pickle=True).encode(x).numpy()
    np.testing.assert_array_equal(codes, models.reference(x)[0])


def test_bad_weights_files(state_dict, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"weights file '.*nowhere.pt' does not exist"):
        load_encoder(CLASS, weights=tmp_path / "nowhere.pt")
    path = truncated(state_dict, tmp_path)
    with pytest.raises(
        EncoderError,
        match=r"could not read .*weights.pt as weights saved by "
        r"torch.save: .*; the file is truncated or corrupt",
    ):
        load_encoder(CLASS, weights=path)
    listed = tmp_path / "list.pt"
    torch.save([1, 2], listed)
    with pytest.raises(EncoderError, match=r"holds a builtins.list, not a state dict"):
        load_encoder(CLASS, weights=listed)


def test_class_options_are_checked(state_dict):
    with pytest.raises(
        ValueError,
        match=r"ConvEncoder is a class: give its weights, "
        r"weights='model.ckpt' \(--weights\)",
    ):
        load_encoder(CLASS)
    with pytest.raises(TypeError, match=r"init must be a JSON-able dict"):
        load_encoder(CLASS, weights=state_dict, init={"latent_dim": object()})
    with pytest.raises(
        EncoderError,
        match=r"could not build .*ConvEncoder\(\*\*\{'depth': 2\}\): "
        r"TypeError: .*unexpected keyword argument 'depth'",
    ):
        load_encoder(CLASS, weights=state_dict, init={"depth": 2})
    with pytest.raises(TypeError, match=r"argparse:Namespace is a class but not a torch.nn.Module"):
        load_encoder("argparse:Namespace", weights=state_dict)
