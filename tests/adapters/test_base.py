"""The conventions ``Encoder.encode`` applies for every adapter: input layout and range,
output selection, the output check and the errors, exercised through torch functions
(``tests.adapters.models:*``) and TorchScript files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from disbench.adapters import Encoder, EncoderError, load_encoder
from disbench.adapters.base import check_conventions, resolve_device, summarize_error
from tests.adapters import models

SPEC = "tests.adapters.models:"


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return models.images(6)


def test_tuple_output_yields_the_mean_and_output_picks_another(x):
    mean, logvar = models.reference(x)
    np.testing.assert_array_equal(load_encoder(SPEC + "encode").encode(x).numpy(), mean)
    np.testing.assert_array_equal(load_encoder(SPEC + "encode", output=1).encode(x).numpy(), logvar)
    np.testing.assert_array_equal(
        load_encoder(SPEC + "encode", output=-1).encode(x).numpy(), logvar
    )


def test_dict_output_yields_mu_and_output_picks_a_key(scripted_dict, x):
    mean, logvar = models.reference(x)
    np.testing.assert_allclose(load_encoder(scripted_dict).encode(x).numpy(), mean, atol=1e-6)
    codes = load_encoder(scripted_dict, output="logvar").encode(x).numpy()
    np.testing.assert_allclose(codes, logvar, atol=1e-6)


@pytest.mark.parametrize(
    ("function", "options"),
    [
        ("encode_nhwc", {"input_layout": "nhwc"}),
        ("encode_pm1", {"input_range": (-1, 1)}),
        ("encode_255", {"input_range": [0, 255]}),
    ],
)
def test_layout_and_range_hand_the_model_what_it_expects(function, options, x):
    codes = load_encoder(SPEC + function, **options).encode(x).numpy()
    np.testing.assert_allclose(codes, models.reference(x)[0], atol=1e-5)


def test_codes_are_float32_on_the_device_whatever_the_model_returns(x):
    encoder = load_encoder(SPEC + "encode_numpy_out")
    codes = encoder.encode(x.double())
    assert codes.dtype == torch.float32 and codes.device == encoder.device
    np.testing.assert_allclose(codes.numpy(), models.reference(x)[0], atol=1e-7)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("encode_flat", r"returned codes of shape \(6,\) for a batch of 6 images"),
        ("encode_one_row", r"returned codes of shape \(1, 3\) for a batch of 6 images"),
        ("encode_string", r"returned a str; expected an array of codes"),
    ],
)
def test_wrong_outputs_are_named(function, message, x):
    with pytest.raises(EncoderError, match=message):
        load_encoder(SPEC + function).encode(x)


def test_a_feature_map_is_refused_with_its_shape(feature_map, x):
    with pytest.raises(EncoderError, match=r"shape \(6, 8, 4, 4\) for a batch of 6 images"):
        load_encoder(feature_map).encode(x)


def test_an_exception_in_the_model_names_the_input_and_the_options(x):
    with pytest.raises(EncoderError) as raised:
        load_encoder(SPEC + "encode_failing").encode(x)
    message = str(raised.value)
    assert "input of shape (6, 1, 64, 64), dtype torch.float32 (NCHW, values in [0, 1])" in message
    assert "RuntimeError: expected 3 channels, got 1" in message
    for option in ("--input-layout nhwc", "--input-range", "--output"):
        assert option in message
    assert "\n" not in message
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_torchscript_failure_is_one_line_naming_the_converted_input(scripted, x):
    encoder = load_encoder(scripted, input_layout="nhwc", input_range=(0, 255))
    with pytest.raises(EncoderError) as raised:
        encoder.encode(x)
    message = str(raised.value)
    assert message.startswith(
        "scripted failed on an input of shape (6, 64, 64, 1), dtype torch.float32 "
        "(NHWC, values in [0, 255]): RuntimeError: Given groups=1, weight of size [4, 1, 4, 4]"
    )
    assert "if the model wants channels first, try input_layout='nchw'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (5, r"a tuple of 2 elements; output=5 is out of range"),
        ("mu", r"a tuple of 2 elements; output='mu' must then be an index"),
    ],
)
def test_output_that_does_not_exist_in_a_tuple(output, message, x):
    with pytest.raises(EncoderError, match=message):
        load_encoder(SPEC + "encode", output=output).encode(x)


def test_output_that_does_not_exist_in_a_dict(scripted_dict, x):
    with pytest.raises(EncoderError, match=r"keys \['logvar', 'mu'\]; output='z' is not one"):
        load_encoder(scripted_dict, output="z").encode(x)
    with pytest.raises(EncoderError, match=r"output=0 applies only to a tuple, list or dict"):
        load_encoder(SPEC + "encode_one_row", output=0).encode(x)


def test_dict_without_a_mean_key_asks_for_output(x):
    with pytest.raises(EncoderError, match=r"keys \['logvar', 'z'\], none of mean, mu, loc"):
        load_encoder(SPEC + "encode_unnamed_dict").encode(x)
    codes = load_encoder(SPEC + "encode_unnamed_dict", output="z").encode(x).numpy()
    np.testing.assert_array_equal(codes, models.reference(x)[0])


def test_encode_takes_a_4d_tensor():
    encoder = load_encoder(SPEC + "encode")
    with pytest.raises(TypeError, match=r"got a ndarray of shape \(2, 1, 64, 64\)"):
        encoder.encode(np.zeros((2, 1, 64, 64), np.float32))
    with pytest.raises(TypeError, match=r"got a Tensor of shape \(64, 64\)"):
        encoder.encode(torch.zeros(64, 64))


def test_provenance_is_json_and_records_the_options():
    encoder = load_encoder(SPEC + "encode_pm1", input_range=(-1, 1), output=0)
    assert isinstance(encoder, Encoder)
    assert json.loads(json.dumps(encoder.provenance())) == {
        "spec": "tests.adapters.models:encode_pm1",
        "name": "tests.adapters.models:encode_pm1",
        "sha256": None,
        "adapter": "function",
        "options": {
            "input_layout": "nchw",
            "input_range": [-1.0, 1.0],
            "output": 0,
            "framework": "torch",
        },
        "files": [],
    }


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"input_layout": "chw"}, ValueError, r"input_layout must be one of 'nchw', 'nhwc'"),
        ({"input_range": (1, 0)}, ValueError, r"finite low < high; got \(1.0, 0.0\)"),
        ({"input_range": "0,1"}, ValueError, r"input_range must be two numbers"),
        ({"input_range": (0, float("inf"))}, ValueError, r"finite low < high"),
        ({"output": 1.5}, TypeError, r"output must be an index \(int\), a key \(str\) or None"),
    ],
)
def test_bad_conventions_are_refused(options, error, message):
    conventions = {"input_layout": "nchw", "input_range": (0, 1), "output": None, **options}
    with pytest.raises(error, match=message):
        check_conventions(**conventions)
    with pytest.raises(error, match=message):
        load_encoder(SPEC + "encode", **options)


def test_devices():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda', 'cuda:N', 'auto'"):
        resolve_device("tpu:x")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_asked_without_cuda_is_an_error():
    with pytest.raises(ValueError, match=r"device 'cuda' asked for, but torch sees no CUDA GPU"):
        load_encoder(SPEC + "encode", device="cuda")


def test_summarize_error_keeps_the_line_that_says_what_went_wrong():
    traceback = RuntimeError(
        "The following operation failed in the TorchScript interpreter.\n"
        "  File 'code/__torch__.py', line 12\n"
        "RuntimeError: Given groups=1, weight of size [4, 1, 4, 4]\n"
    )
    assert summarize_error(traceback) == "RuntimeError: Given groups=1, weight of size [4, 1, 4, 4]"
    assert summarize_error(ValueError("a\n  b")) == "ValueError: a b"
    assert summarize_error(ValueError("x" * 400)).endswith("x...")
    assert len(summarize_error(ValueError("x" * 400))) == 300


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model", ["scripted", "exported", "state_dict", "function"])
def test_torch_adapters_keep_codes_on_the_gpu(model, request):
    if model == "function":
        spec, options = SPEC + "encode_pm1", {"input_range": (-1, 1)}
    elif model == "state_dict":
        spec, options = SPEC + "ConvEncoder", {"weights": request.getfixturevalue(model)}
    else:
        spec, options = request.getfixturevalue(model), {}
    x = models.images(5)
    encoder = load_encoder(spec, device="cuda", **options)
    codes = encoder.encode(x.cuda())
    assert codes.device.type == "cuda" and encoder.device.type == "cuda"
    # cuDNN may run float32 convolutions in TF32: 1e-3 is that precision.
    np.testing.assert_allclose(codes.cpu().numpy(), models.reference(x)[0], atol=1e-3)
    moved = load_encoder(spec, **options).to("cuda")
    assert moved.encode(x).device.type == "cuda"  # a CPU batch is moved to the encoder
    assert moved.to("cpu").encode(x).device.type == "cpu"
