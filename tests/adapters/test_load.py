"""``load_encoder``'s dispatch on the spec, file checks and the streamed SHA-256."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest

from disbench.adapters import EncoderError, load_encoder
from disbench.adapters._files import sha256_files, torch_archive_kind


def test_sha256_is_streamed_over_chunks_and_files(tmp_path, rng):
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(rng.bytes(3 * 2**20 + 17))  # three whole chunks and a tail
    second.write_bytes(rng.bytes(1000))
    assert sha256_files([first]) == hashlib.sha256(first.read_bytes()).hexdigest()
    both = hashlib.sha256(first.read_bytes() + second.read_bytes()).hexdigest()
    assert sha256_files([first, second]) == both


def test_missing_files_are_named(tmp_path):
    for name in ("model.pt", "model.onnx", "model.jaxexport", "model.pt2", "codes.npz", "model"):
        with pytest.raises(FileNotFoundError, match=rf"model file '{tmp_path}/{name}' does not "):
            load_encoder(tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"is a folder, not a file"):
        load_encoder(tmp_path)


def test_unknown_files_list_what_is_read(tmp_path):
    path = tmp_path / "last.ckpt"
    path.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(ValueError) as raised:
        load_encoder(path)
    message = str(raised.value)
    assert message.startswith(f"{path} is not a model disbench reads: expected a model file ")
    for form in (
        ".pt2 (a torch.export program",
        ".onnx",
        ".jaxexport",
        "'package.module:attr'",
        "is the weights= of its class",
    ):
        assert form in message


def test_file_models_refuse_class_options(scripted):
    with pytest.raises(
        ValueError,
        match=r"weights, init apply to 'module:Class' or "
        r"'module:function' models, not to the file",
    ):
        load_encoder(scripted, weights="w.pt", init={"a": 1})
    with pytest.raises(ValueError, match=r"framework apply to"):
        load_encoder(scripted, framework="torch")


def test_torch_archive_kind(scripted, exported, state_dict, tmp_path):
    assert torch_archive_kind(scripted, "x") == "torchscript"
    assert torch_archive_kind(exported, "x") == "torch_export"
    assert torch_archive_kind(state_dict, "x") == "torch_save"
    noise = tmp_path / "noise.pt"
    noise.write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    with pytest.raises(
        EncoderError,
        match=r"noise.pt is not TorchScript \(torch.jit.save\): it "
        r"is not a zip archive \(100 bytes\)",
    ):
        load_encoder(noise)
    other = tmp_path / "other.pt"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(
        EncoderError,
        match=r"other.pt is not TorchScript \(torch.jit.save\): it "
        r"is a zip archive torch did not write \(holding e.g. \['readme.txt'\]\)",
    ):
        load_encoder(other)
