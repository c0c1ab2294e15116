"""Where data files are, what they hash to, and the errors a missing or broken file gets.

The stable API (used by every file-backed data set):

``data_dirs(data_dir=None) -> list[Path]``
    The folders searched, in order: ``data_dir`` (the CLI's ``--data-dir``), then
    ``$DISBENCH_DATA``, then ``$DISENTANGLEMENT_LIB_DATA``. Unset variables are skipped;
    duplicates are dropped.
``resolve_data_file(relative, *, data_dir=None, published_at=None) -> Path``
    The first existing ``folder / relative`` (a file or a folder such as ``"cars"``) over
    ``data_dirs(data_dir)``. ``relative`` is disentanglement_lib's relative path
    (``"dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"``), so an existing
    disentanglement_lib data folder works as it is. None found: ``DataFileNotFoundError``
    naming the file, every folder searched and ``published_at``.
``cache_dir() -> Path``
    ``$DISBENCH_CACHE``, else ``~/.cache/disbench``; created on first use.
``file_sha256(path) -> str``
    The SHA-256 of a file, streamed in 1 MiB blocks. The digest is cached in
    ``cache_dir() / "sha256.json"`` keyed by (absolute path, size, mtime_ns) and written
    atomically, so a 267 MB file is hashed once per machine, not once per call.
``file_record(path) -> dict``
    ``{"path", "sha256", "bytes"}``: one entry of ``GroundTruthDataset.files()``.
``atomic_write_bytes(path, data)``
    Write through a temporary file in the same folder and ``os.replace``.
``DataFileNotFoundError`` (a ``FileNotFoundError``) and ``DataFileError`` (a
``ValueError``)
    A missing file; a file that is there but truncated, corrupt or of the wrong layout.
    Both name the file and say what to do.

Nothing is downloaded: ``disbench datasets download NAME`` is not implemented, and the
missing-file message says to download the file by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Environment variables naming data folders, searched in this order after ``data_dir``.
DATA_ENV_VARS = ("DISBENCH_DATA", "DISENTANGLEMENT_LIB_DATA")
#: Environment variable naming the cache folder (default ``~/.cache/disbench``).
CACHE_ENV_VAR = "DISBENCH_CACHE"

_HASH_BLOCK = 1 << 20
_HASH_CACHE_NAME = "sha256.json"


class DataFileNotFoundError(FileNotFoundError):
    """A data file found in none of the folders searched.

    Attributes
    ----------
    relative : str
        The path searched for, relative to each data folder.
    searched : list of Path
        The folders searched, in order.
    published_at : str or None
        Where the file can be downloaded.
    """

    def __init__(
        self, relative: str, searched: Sequence[Path], published_at: str | None = None
    ) -> None:
        self.relative = relative
        self.searched = list(searched)
        self.published_at = published_at
        if self.searched:
            folders = "\n".join(f"  {folder}" for folder in self.searched)
            where = f"searched in:\n{folders}"
        else:
            where = "no data folder is set: pass --data-dir (data_dir=) or set " + " or ".join(
                f"${name}" for name in DATA_ENV_VARS
            )
        source = f"It is published at {published_at}; " if published_at else ""
        super().__init__(
            f"data file {relative!r} not found; {where}\n{source}download it by hand "
            f"(disbench does not download data) and place it at <data folder>/{relative}"
        )


class DataFileError(ValueError):
    """A data file that exists but cannot be used: truncated, corrupt or of the wrong layout.

    The message names the file and the problem; ``path`` holds the file.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}")


def data_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The data folders searched, in order: ``data_dir``, ``$DISBENCH_DATA``,
    ``$DISENTANGLEMENT_LIB_DATA``.

    Parameters
    ----------
    data_dir : path-like, optional
        A folder given by the user (the CLI's ``--data-dir``); searched first.

    Returns
    -------
    list of Path
        Unset or empty variables are skipped and repeated folders kept once; a folder is
        listed whether or not it exists, so that error messages show what was tried.

    Examples
    --------
    >>> data_dirs("/data")[0]
    PosixPath('/data')
    """
    candidates = [data_dir] + [os.environ.get(name) for name in DATA_ENV_VARS]
    folders: list[Path] = []
    for candidate in candidates:
        if candidate is None or str(candidate) == "":
            continue
        folder = Path(candidate).expanduser()
        if folder not in folders:
            folders.append(folder)
    return folders


def resolve_data_file(
    relative: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    published_at: str | None = None,
) -> Path:
    """The first existing ``folder / relative`` over :func:`data_dirs`.

    Parameters
    ----------
    relative : str
        Path relative to a data folder, as disentanglement_lib lays them out, e.g.
        ``"3dshapes/3dshapes.h5"`` or a folder, ``"cars"``.
    data_dir : path-like, optional
        Searched before the environment variables (the CLI's ``--data-dir``).
    published_at : str, optional
        Where the file is published; quoted in the error when nothing is found.

    Returns
    -------
    Path
        The file (or folder) found.

    Raises
    ------
    DataFileNotFoundError
        When no folder holds it; the message names ``relative``, every folder searched and
        ``published_at``.
    """
    searched = data_dirs(data_dir)
    for folder in searched:
        candidate = folder / relative
        if candidate.exists():
            return candidate
    raise DataFileNotFoundError(relative, searched, published_at)


def cache_dir() -> Path:
    """The disbench cache folder: ``$DISBENCH_CACHE``, else ``~/.cache/disbench``; created."""
    folder = Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "disbench")
    folder = folder.expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file, cached per machine.

    Parameters
    ----------
    path : path-like
        An existing file.

    Returns
    -------
    str
        64 hex digits.

    Notes
    -----
    The file is read in 1 MiB blocks, so memory stays small for any file size. The
    digest is remembered in ``cache_dir() / "sha256.json"`` under the absolute path,
    with the file's size and ``mtime_ns``; a later call on an unchanged file returns the
    remembered digest without reading the file. A changed size or modification time
    hashes again; entries of deleted files are dropped. The cache file is replaced
    atomically; when the cache folder is not writable the digest is still returned.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "x.bin"
    ...     _ = path.write_bytes(b"abc")
    ...     file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path).resolve()
    status = path.stat()
    key = str(path)
    try:
        cache_file = cache_dir() / _HASH_CACHE_NAME
        cache = _read_hash_cache(cache_file)
    except OSError:
        cache_file, cache = None, {}
    entry = cache.get(key)
    if (
        isinstance(entry, dict)
        and entry.get("size") == status.st_size
        and entry.get("mtime_ns") == status.st_mtime_ns
        and isinstance(entry.get("sha256"), str)
    ):
        return entry["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_HASH_BLOCK), b""):
            digest.update(block)
    sha256 = digest.hexdigest()
    if cache_file is not None:
        # Re-read just before writing, so that concurrent processes lose as little as possible.
        # Entries of files that no longer exist are dropped on the way.
        cache = {
            name: value
            for name, value in _read_hash_cache(cache_file).items()
            if Path(name).exists()
        }
        cache[key] = {"size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": sha256}
        try:
            atomic_write_bytes(cache_file, json.dumps(cache, indent=1, sort_keys=True).encode())
        except OSError:
            pass  # a read-only cache folder only costs hashing again next time
    return sha256


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of a file, as ``GroundTruthDataset.files()`` lists it."""
    path = Path(path).resolve()
    return {"path": str(path), "sha256": file_sha256(path), "bytes": path.stat().st_size}


def _read_hash_cache(cache_file: Path) -> dict[str, Any]:
    """The digest cache, or an empty one when it is absent or unreadable."""
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}
