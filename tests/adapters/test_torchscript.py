"""TorchScript files: scripted and traced models give the eager model's codes; torch.save
files under a ``.pt`` suffix are refused with what they hold; truncated files are named."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from disbench.adapters import EncoderError, load_encoder
from tests.adapters import models
from tests.adapters.conftest import truncated


@pytest.mark.parametrize("fixture", ["scripted", "traced"])
def test_torchscript_codes_equal_the_eager_model(fixture, request):
    path = request.getfixturevalue(fixture)
    encoder = load_encoder(path)
    x = models.images(7)
    codes = encoder.encode(x)
    assert codes.shape == (7, models.LATENT_DIM) and codes.dtype == torch.float32
    np.testing.assert_allclose(codes.numpy(), models.reference(x)[0], atol=1e-6)
    assert encoder.adapter == "torchscript"
    assert encoder.name == path.stem
    assert encoder.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert encoder.provenance()["files"] == [str(path.resolve())]
    assert not encoder.module.training


def test_a_state_dict_saved_as_pt_says_what_to_do(state_dict):
    with pytest.raises(EncoderError) as raised:
        load_encoder(state_dict)
    message = str(raised.value)
    assert f"{state_dict} is not TorchScript" in message
    assert "holds a state dict (12 entries such as ['conv.0.weight', 'conv.0.bias'])" in message
    assert "'package.module:Class'" in message and "(--weights)" in message


def test_a_legacy_torch_save_file_is_recognised(tmp_path):
    path = tmp_path / "old.pt"
    torch.save(models.REFERENCE.state_dict(), path, _use_new_zipfile_serialization=False)
    with pytest.raises(EncoderError, match=r"is not TorchScript: .* holds a state dict"):
        load_encoder(path)


def test_a_checkpoint_saved_as_pt_says_what_to_do(tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"state_dict": models.REFERENCE.state_dict(), "epoch": 3}, path)
    with pytest.raises(
        EncoderError, match=r"holds a training checkpoint .* 'package.module:Class'"
    ):
        load_encoder(path)


def test_a_pickled_model_needs_trust_pickle(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(models.REFERENCE, path)
    with pytest.raises(EncoderError) as raised:
        load_encoder(path)
    message = str(raised.value)
    assert "holds pickled Python objects (a whole model saved with torch.save(model)" in message
    assert "trust_pickle=True (--trust-pickle)" in message
    encoder = load_encoder(path, trust_pickle=True)
    assert encoder.adapter == "torch_pickle"
    x = models.images(3)
    np.testing.assert_array_equal(encoder.encode(x).numpy(), models.reference(x)[0])


@pytest.mark.parametrize("fixture", ["scripted", "state_dict"])
def test_truncated_files_are_named(fixture, request, tmp_path):
    path = truncated(request.getfixturevalue(fixture), tmp_path)
    size = path.stat().st_size
    with pytest.raises(EncoderError) as raised:
        load_encoder(path)
    assert str(raised.value) == (
        f"{path} is not TorchScript (torch.jit.save): it is not a zip archive ({size} bytes); "
        "the file is truncated or corrupt, or another format"
    )


def test_garbage_with_a_zip_header_is_reported_by_torch(scripted, tmp_path):
    """A zip whose directory survives but whose members are damaged."""
    data = bytearray(scripted.read_bytes())
    data[200:4000] = bytes(3800)
    path = tmp_path / "damaged.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(EncoderError) as raised:
        load_encoder(path)
    assert str(raised.value).startswith(
        f"could not load {path} as TorchScript (torch.jit.load): RuntimeError: "
        "PytorchStreamReader failed reading file data/"
    )
