"""Model files: existence checks, streamed SHA-256, and telling torch's zip archives apart."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from disbench.adapters.base import EncoderError

_CHUNK = 1 << 20  # bytes read per step while hashing: 1 MiB


def existing_file(path: str | os.PathLike, what: str = "model file") -> Path:
    """``path`` as a ``Path``; ``FileNotFoundError`` naming it when it is not a file."""
    path = Path(path).expanduser()
    if not path.is_file():
        state = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{what} {str(path)!r} {state}")
    return path


def sha256_files(paths: Sequence[Path]) -> str:
    """Hex SHA-256 of the bytes of ``paths`` read one after the other, in 1 MiB chunks.

    For one file this is the file's own SHA-256 (``sha256sum``); an ONNX model with external
    weights hashes the model file followed by its data files.
    """
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def torch_archive_kind(path: Path, expected: str) -> str:
    """What a file written by torch holds, from the names in its zip archive.

    Returns ``"torchscript"`` (``torch.jit.save``: ``constants.pkl`` and ``code/``),
    ``"torch_export"`` (``torch.export.save``: ``archive_format``) or ``"torch_save"``
    (``torch.save``, the zip format since torch 1.6 or the older plain pickle). Anything
    else, including a truncated archive (its directory is at the end), is an ``EncoderError``
    naming the file and ``expected``, the format its suffix promised.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        with open(path, "rb") as stream:
            head = stream.read(2)
        # torch.save before 1.6 (and _use_new_zipfile_serialization=False) writes a pickle;
        # protocol 2+ pickles open with the PROTO opcode 0x80.
        if head[:1] == b"\x80":
            return "torch_save"
        raise EncoderError(
            f"{path} is not {expected}: it is not a zip archive ({path.stat().st_size} bytes); "
            "the file is truncated or corrupt, or another format"
        ) from None
    members = {name.rsplit("/", 1)[-1] for name in names}
    if "constants.pkl" in members:
        return "torchscript"
    if "archive_format" in members:
        return "torch_export"
    if "data.pkl" in members:
        return "torch_save"
    raise EncoderError(
        f"{path} is not {expected}: it is a zip archive torch did not write "
        f"(holding e.g. {names[:3]})"
    )
