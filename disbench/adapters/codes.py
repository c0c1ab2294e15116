"""Precomputed codes (``.npz``): the representation of a labelled sample, computed elsewhere.

Layout: ``codes`` (N, D) numbers, ``factors`` (N, K) numbers (integer classes, or floats for
continuous factors where a metric allows them), optionally ``factor_names`` (K,) strings
and ``dataset``, a string naming the sample in tables; one row per sample in both arrays::

    np.savez("codes.npz", codes=codes, factors=factors, factor_names=["shape", "scale"],
             dataset="shapes3d_sample")

Without ``dataset`` the sample is named by a digest of its factor rows, so codes of several
models on the same rows share one data set in comparison tables.

Read with ``allow_pickle=False``. This is not an ``Encoder``: there is nothing to run, the
evaluation uses ``codes`` and ``factors`` as they are (observational metrics only).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disbench._validation import check_matrix, check_same_rows
from disbench.adapters._files import existing_file, sha256_files
from disbench.adapters.base import EncoderError

_KEYS = ("codes", "factors", "factor_names", "dataset")
_LAYOUT = (
    "precomputed codes are an npz with 'codes' (N, D), 'factors' (N, K) and optionally "
    "'factor_names' (K,)"
)


@dataclass(frozen=True, eq=False)
class PrecomputedCodes:
    """Codes and factor rows read from an ``.npz`` file; the arrays are read-only.

    Attributes
    ----------
    codes : np.ndarray of shape (n_samples, n_codes)
        float32 or float64, as stored (integers are cast to float64).
    factors : np.ndarray of shape (n_samples, n_factors)
        int64 for integer (or boolean) factors, float64 for continuous ones.
    factor_names : tuple of str or None
        The names stored with them, if any.
    spec : str
        The path as the user gave it.
    name : str
        The file's stem.
    sha256 : str
        Hex SHA-256 of the file.
    path : pathlib.Path
        The file.
    dataset : str or None
        The sample's name stored with them, if any.
    """

    codes: np.ndarray
    factors: np.ndarray
    factor_names: tuple[str, ...] | None
    spec: str
    name: str
    sha256: str
    path: Path
    dataset: str | None = None

    #: Recorded in the provenance as the adapter.
    adapter = "npz"

    def __len__(self) -> int:
        return self.codes.shape[0]

    @property
    def factors_sha256(self) -> str:
        """Hex SHA-256 of the factor rows (shape, dtype and values): the sample's identity."""
        digest = hashlib.sha256(f"{self.factors.shape}{self.factors.dtype}".encode())
        digest.update(np.ascontiguousarray(self.factors).tobytes())
        return digest.hexdigest()

    def provenance(self) -> dict:
        """JSON-able description: ``spec``, ``name``, ``sha256``, ``adapter`` (``"npz"``),
        ``options`` (empty) and ``files``, as ``Encoder.provenance``."""
        return {
            "spec": self.spec,
            "name": self.name,
            "sha256": self.sha256,
            "adapter": self.adapter,
            "options": {},
            "files": [str(self.path.resolve())],
        }


def load_codes(path: str | os.PathLike) -> PrecomputedCodes:
    """Read precomputed codes and their factor rows from an ``.npz`` file.

    Parameters
    ----------
    path : str or path-like
        An ``.npz`` with ``codes`` (N, D), ``factors`` (N, K) and optionally
        ``factor_names`` (K,), as the module docstring describes. A 1-D array is one column.

    Returns
    -------
    PrecomputedCodes

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    EncoderError
        When it is not a readable npz, lacks a key, holds pickled objects, or its arrays
        do not fit together; the message names the file.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> np.savez(f"{folder}/vae.npz", codes=np.zeros((4, 2)), factors=np.arange(4),
    ...          factor_names=["position"])
    >>> loaded = load_codes(f"{folder}/vae.npz")
    >>> loaded.codes.shape, loaded.factors.dtype, loaded.factor_names
    ((4, 2), dtype('int64'), ('position',))
    """
    file = existing_file(path, "codes file")
    corrupt = (
        f"could not read {file} as an npz of precomputed codes; the file is truncated or "
        "corrupt, or another format"
    )
    try:
        content = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise EncoderError(f"{corrupt} ({error})") from error
    if not isinstance(content, np.lib.npyio.NpzFile):
        raise EncoderError(f"{file} is a single .npy array; {_LAYOUT}")
    with content:
        missing = [key for key in ("codes", "factors") if key not in content.files]
        if missing:
            raise EncoderError(
                f"{file} has no {' or '.join(map(repr, missing))} array "
                f"(it has {content.files}); {_LAYOUT}"
            )
        try:
            arrays = {key: content[key] for key in _KEYS if key in content.files}
        except ValueError as error:
            raise EncoderError(
                f"{file} holds pickled objects ({error}); save numbers, and factor_names as "
                "strings: np.savez(..., factor_names=np.array(names, dtype=str))"
            ) from error
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise EncoderError(f"{corrupt} ({error})") from error
    try:
        codes = check_matrix(arrays["codes"], "codes", finite=False)
        factors = check_matrix(arrays["factors"], "factors", finite=False)
        check_same_rows(codes, factors, ("codes", "factors"))
        names = _names(arrays.get("factor_names"), factors.shape[1])
        dataset = _dataset(arrays.get("dataset"))
    except (TypeError, ValueError) as error:
        raise EncoderError(f"{file}: {error}") from error
    codes = codes if codes.dtype.kind == "f" else codes.astype(np.float64)
    factors = factors.astype(np.float64 if factors.dtype.kind == "f" else np.int64, copy=False)
    for array in (codes, factors):
        array.flags.writeable = False
    return PrecomputedCodes(
        codes=codes,
        factors=factors,
        factor_names=names,
        spec=os.fspath(path),
        name=file.stem,
        sha256=sha256_files([file]),
        path=file,
        dataset=dataset,
    )


def _dataset(name: np.ndarray | None) -> str | None:
    if name is None:
        return None
    if name.dtype.kind not in "US" or name.ndim != 0 or not str(name):
        raise ValueError(f"dataset must be one non-empty string; got {name!r}")
    return str(name)


def _names(names: np.ndarray | None, n_factors: int) -> tuple[str, ...] | None:
    if names is None:
        return None
    if names.dtype.kind not in "US" or names.ndim != 1 or names.shape[0] != n_factors:
        raise ValueError(
            f"factor_names must be {n_factors} strings, one per factor column; got an array "
            f"of shape {names.shape} and dtype {names.dtype}"
        )
    return tuple(str(name) for name in names.tolist())
