"""ONNX models run by onnxruntime, exported by torch.onnx (the dynamo exporter)."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import onnx
import pytest

from disbench.adapters import EncoderError, load_encoder
from disbench.adapters.onnx_runtime import _providers
from tests.adapters import models
from tests.adapters.conftest import truncated


@pytest.mark.parametrize("batch", [1, 6])
def test_onnx_codes_equal_the_torch_model(onnx_file, batch):
    x = models.images(batch)
    mean, logvar = models.reference(x)
    encoder = load_encoder(onnx_file)
    np.testing.assert_allclose(encoder.encode(x).numpy(), mean, atol=1e-4)
    for output in (1, "logvar"):
        codes = load_encoder(onnx_file, output=output).encode(x).numpy()
        np.testing.assert_allclose(codes, logvar, atol=1e-4)
    assert encoder.adapter == "onnx" and encoder.name == "vae"
    assert encoder.output_names == ["mean", "logvar"]


def test_sha256_covers_the_external_weights(onnx_file, tmp_path):
    data = onnx_file.with_name("vae.onnx.data")
    encoder = load_encoder(onnx_file)
    assert encoder.files == (onnx_file, data)
    whole = onnx_file.read_bytes() + data.read_bytes()
    assert encoder.sha256 == hashlib.sha256(whole).hexdigest()
    single = tmp_path / "single.onnx"
    onnx.save(onnx.load(str(onnx_file)), str(single))
    encoder = load_encoder(single)
    assert encoder.sha256 == hashlib.sha256(single.read_bytes()).hexdigest()
    x = models.images(2)
    np.testing.assert_allclose(encoder.encode(x).numpy(), models.reference(x)[0], atol=1e-4)


def test_without_the_onnx_package_the_data_file_beside_is_hashed(onnx_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    encoder = load_encoder(onnx_file)
    assert encoder.files == (onnx_file, onnx_file.with_name("vae.onnx.data"))


def test_missing_external_weights_are_named(onnx_file, tmp_path):
    lonely = tmp_path / onnx_file.name
    lonely.write_bytes(onnx_file.read_bytes())
    with pytest.raises(FileNotFoundError, match=r"vae.onnx keeps its weights in .*vae.onnx.data"):
        load_encoder(lonely)


def test_bad_onnx_input_and_output(onnx_file):
    with pytest.raises(EncoderError, match=r"has outputs \['mean', 'logvar'\]; output='mu' is not"):
        load_encoder(onnx_file, output="mu")
    encoder = load_encoder(onnx_file, input_layout="nhwc")
    with pytest.raises(
        EncoderError,
        match=r"vae failed on an input of shape \(2, 64, 64, 1\), "
        r"dtype torch.float32 \(NHWC.*INVALID_ARGUMENT : Got invalid dimensions",
    ):
        encoder.encode(models.images(2))


def test_truncated_onnx_is_named(onnx_file, tmp_path):
    single = tmp_path / "single.onnx"
    onnx.save(onnx.load(str(onnx_file)), str(single))
    (tmp_path / "cut").mkdir()
    path = truncated(single, tmp_path / "cut")
    with pytest.raises(EncoderError, match=rf"could not read {path} as an ONNX model"):
        load_encoder(path)


def test_providers():
    assert _providers(None, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert _providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert _providers("auto", cuda) == cuda
    assert _providers("cuda:1", cuda) == [
        ("CUDAExecutionProvider", {"device_id": 1}),
        "CPUExecutionProvider",
    ]
    with pytest.raises(
        ValueError, match=r"this onnxruntime has no CUDA provider .* onnxruntime-gpu"
    ):
        _providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(ValueError, match=r"must be 'cpu', 'cuda\[:N\]' or 'auto'; got 'mps'"):
        _providers("mps", cuda)
