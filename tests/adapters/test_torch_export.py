"""torch.export programs (``.pt2``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from disbench.adapters import EncoderError, load_encoder
from tests.adapters import models
from tests.adapters.conftest import truncated


@pytest.mark.parametrize("batch", [1, 9])
def test_exported_program_codes_equal_the_eager_model(exported, batch):
    encoder = load_encoder(exported, output=1)
    x = models.images(batch)
    np.testing.assert_allclose(encoder.encode(x).numpy(), models.reference(x)[1], atol=1e-6)
    assert encoder.adapter == "torch_export"
    assert encoder.name == "exported"
    assert encoder.sha256 == hashlib.sha256(exported.read_bytes()).hexdigest()


def test_a_program_exported_for_one_batch_size_fails_on_another_with_the_shape(tmp_path):
    path = tmp_path / "static.pt2"
    torch.export.save(torch.export.export(models.REFERENCE, (models.images(4),)), path)
    encoder = load_encoder(path)
    np.testing.assert_allclose(
        encoder.encode(models.images(4)).numpy(), models.reference(models.images(4))[0], atol=1e-6
    )
    with pytest.raises(EncoderError, match=r"failed on an input of shape \(3, 1, 64, 64\)"):
        encoder.encode(models.images(3))


def test_truncated_program_is_named(exported, tmp_path):
    path = truncated(exported, tmp_path)
    with pytest.raises(EncoderError, match=r"is not a torch.export program \(torch.export.save\)"):
        load_encoder(path)


def test_a_torch_save_file_named_pt2_says_what_to_do(state_dict, tmp_path):
    path = tmp_path / "weights.pt2"
    path.write_bytes(state_dict.read_bytes())
    with pytest.raises(
        EncoderError,
        match=r"is not a torch.export program: it was written by "
        r"torch.save; save the program with torch.export.save",
    ):
        load_encoder(path)


def test_a_program_saved_under_pt_is_recognised(exported, tmp_path):
    path = tmp_path / "program.pt"
    path.write_bytes(exported.read_bytes())
    encoder = load_encoder(path)
    assert encoder.adapter == "torch_export"
    x = models.images(2)
    np.testing.assert_allclose(encoder.encode(x).numpy(), models.reference(x)[0], atol=1e-6)
