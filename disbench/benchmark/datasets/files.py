"""Image files read lazily, the generic file data set, and recognising a file by its content.

Reading
-------
``ArrayFile(path)`` opens an ``.npz`` or HDF5 file, recognised by its bytes, not its name.
Small arrays (factor tables) are read whole with ``read``; images are opened lazily with
``open``, which never reads the whole array into memory:

* an npz member stored uncompressed (``np.savez``) is memory-mapped at its offset inside
  the zip file: the zip's local header and the ``.npy`` header are parsed, and
  ``np.memmap`` maps the data that follows;
* an npz member stored compressed (``np.savez_compressed``; the official dSprites file is)
  is decompressed once, streamed in blocks, into ``<cache>/npz/<file sha256>-<key>.npy``
  (``cache_dir()``, ``$DISBENCH_CACHE``) and that copy is memory-mapped; later loads of
  the same file reuse it. Members under ``IN_MEMORY_LIMIT`` bytes (32 MiB) uncompressed
  are read into memory instead;
* an HDF5 dataset that is contiguous and unfiltered is memory-mapped at its offset in the
  file; a chunked or compressed one is read with h5py slices.

``take_rows(array, indices)`` reads rows in any order from any of these: the sorted
unique rows are read (h5py's fancy indexing needs increasing unique indices, and sorted
reads touch each page once), then re-ordered. npz files are always read with
``allow_pickle=False``: a pickled object array is refused with an error naming the file.

Data sets
---------
``ImageFileDataset`` is a :class:`FiniteDataset` over an image array and a factor table:
a complete grid (every combination of factor values exactly once, in any stored order:
rows are addressed in row-major order over ``factor_sizes`` and mapped to the stored
rows through a permutation) or a labelled sample. ``FileDataset.from_file`` reads the
generic layout, ``images`` (N, H, W[, C]) with ``factors`` or ``labels`` (N, K), and
``load_path`` recognises the published layouts by their keys and shapes.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from disbench.benchmark.datasets.base import FiniteDataset, check_factor_rows, check_indices
from disbench.benchmark.datasets.paths import DataFileError, cache_dir, file_record, file_sha256

#: Compressed npz members up to this many bytes (uncompressed) are read into memory;
#: larger ones are decompressed once into the cache folder and memory-mapped.
IN_MEMORY_LIMIT = 32 * 2**20

#: Rows read at load time to check the pixel range of float images.
_PROBE_ROWS = 16
_COPY_BLOCK = 16 * 2**20
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")
_ZIP_LOCAL_SIGNATURE = b"PK\x03\x04"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, struct.error)


class H5Rows:
    """Rows of an HDF5 dataset read on demand with h5py slices.

    Used for chunked or compressed datasets, which cannot be memory-mapped. The file is
    opened on first use in each process (h5py handles do not survive ``fork``) and is
    not pickled.

    Parameters
    ----------
    path : path-like
        The HDF5 file.
    key : str
        The dataset's name in the file.
    """

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path = Path(path)
        self.key = key
        self._file: h5py.File | None = None
        self._pid = -1
        dataset = self._dataset()
        self.shape: tuple[int, ...] = tuple(dataset.shape)
        self.dtype = dataset.dtype
        self.ndim = len(self.shape)

    def _dataset(self) -> h5py.Dataset:
        if self._file is None or self._pid != os.getpid():
            self._file = _open_h5(self.path)
            self._pid = os.getpid()
        return self._file[self.key]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows``: an increasing int array of unique indices, as ``take_rows`` gives."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((rows.size, *self.shape[1:]), dtype=self.dtype)
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [rows.size]))
        dataset = self._dataset()
        try:
            # One slice per run of consecutive rows. h5py's fancy indexing builds one
            # hyperslab per row and is about 100x slower than this loop over runs.
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                first = int(rows[start])
                out[start:end] = dataset[first : first + end - start]
        except (OSError, RuntimeError) as error:
            raise DataFileError(
                self.path, f"cannot read dataset {self.key!r} ({error}); the file may be corrupt"
            ) from None
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None, "_pid": -1}


def take_rows(array: Any, indices: np.ndarray) -> np.ndarray:
    """Rows ``indices`` of ``array`` (ndarray, memmap or :class:`H5Rows`), in that order.

    The sorted unique rows are read once, then re-ordered and repeated as asked, so an
    h5py dataset gets the increasing unique indices it needs and a memory map reads each
    page once.

    Parameters
    ----------
    array : array-like
        Indexable along axis 0 by an increasing int array.
    indices : ndarray of int, shape (n,)
        Rows to read, in range; any order, repeats allowed.

    Returns
    -------
    ndarray, shape (n,) + array.shape[1:]
        An in-memory copy.

    Examples
    --------
    >>> take_rows(np.arange(10) * 10, np.array([3, 1, 3]))
    array([30, 10, 30])
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0:
        return np.empty((0, *array.shape[1:]), dtype=array.dtype)
    unique, inverse = np.unique(indices, return_inverse=True)
    rows = np.asarray(array[unique])
    if unique.size == indices.size and np.array_equal(unique, indices):
        return rows
    return rows[inverse.reshape(-1)]


class ArrayFile:
    """An ``.npz`` or HDF5 file of named arrays, recognised by its content.

    Parameters
    ----------
    path : path-like
        The file.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    DataFileError
        When it is neither a zip (npz) nor an HDF5 file, or is truncated or corrupt.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such file: {self.path}")
        if h5py.is_hdf5(self.path):
            self.format = "h5"
        elif zipfile.is_zipfile(self.path):
            self.format = "npz"
        else:
            raise DataFileError(
                self.path,
                "neither an .npz (zip) nor an HDF5 file, or truncated: expected arrays saved "
                "with numpy.savez / savez_compressed or h5py",
            )
        self._keys = self._list_keys()

    def _list_keys(self) -> list[str]:
        if self.format == "h5":
            with _open_h5(self.path) as handle:
                return [key for key, item in handle.items() if isinstance(item, h5py.Dataset)]
        with self._zip() as archive:
            return [name[: -len(".npy")] for name in archive.namelist() if name.endswith(".npy")]

    def keys(self) -> list[str]:
        """Names of the arrays in the file."""
        return list(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def _zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except (*_ZIP_ERRORS, OSError) as error:
            raise DataFileError(self.path, f"not a readable .npz file ({error})") from None

    def _require(self, key: str) -> None:
        if key not in self._keys:
            raise DataFileError(
                self.path, f"has no array {key!r}; it holds {', '.join(self._keys) or 'none'}"
            )

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """``(shape, dtype)`` of an array, read from its header only."""
        self._require(key)
        if self.format == "h5":
            with _open_h5(self.path) as handle:
                dataset = handle[key]
                return tuple(dataset.shape), dataset.dtype
        with self._zip() as archive:
            try:
                with archive.open(f"{key}.npy") as stream:
                    shape, _, dtype = _read_npy_header(stream, self.path, key)
            except _ZIP_ERRORS as error:
                raise DataFileError(self.path, f"array {key!r} is corrupt ({error})") from None
        return shape, dtype

    def read(self, key: str) -> np.ndarray:
        """An array read whole into memory (for factor tables and other small arrays)."""
        self._require(key)
        if self.format == "h5":
            with _open_h5(self.path) as handle:
                try:
                    array = handle[key][()]
                except (OSError, RuntimeError) as error:
                    raise DataFileError(self.path, f"cannot read {key!r} ({error})") from None
            array = np.asarray(array)
            if array.dtype.kind == "S":
                return np.char.decode(array, "utf-8")
            if array.dtype.kind == "O":  # variable-length strings; only names are read so
                return np.array(  # a loop over the elements is fine
                    [x.decode() if isinstance(x, bytes) else str(x) for x in array.ravel()]
                ).reshape(array.shape)
            return array
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                return archive[key]
        except ValueError as error:
            if "allow_pickle" in str(error):
                raise DataFileError(self.path, _pickle_problem(key)) from None
            raise DataFileError(self.path, f"array {key!r} is corrupt ({error})") from None
        except (*_ZIP_ERRORS, OSError) as error:
            raise DataFileError(
                self.path, f"array {key!r} is truncated or corrupt ({error})"
            ) from None

    def open(self, key: str, *, in_memory_limit: int | None = None) -> Any:
        """An array opened lazily: a read-only ``np.memmap``, an :class:`H5Rows`, or (for
        compressed npz members under ``in_memory_limit`` bytes) an in-memory array.

        Parameters
        ----------
        key : str
            The array's name.
        in_memory_limit : int, optional
            Bytes; default ``IN_MEMORY_LIMIT`` (32 MiB).
        """
        self._require(key)
        if self.format == "h5":
            return _open_h5_array(self.path, key)
        limit = IN_MEMORY_LIMIT if in_memory_limit is None else in_memory_limit
        with self._zip() as archive:
            info = archive.getinfo(f"{key}.npy")
        if info.compress_type == zipfile.ZIP_STORED:
            return _memmap_stored_member(self.path, key, info)
        if info.file_size <= limit:
            return self.read(key)
        return _memmap_decompressed_member(self, key)


def _open_h5(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise DataFileError(path, f"not a readable HDF5 file ({error})") from None


def _pickle_problem(key: str) -> str:
    return (
        f"array {key!r} holds Python objects (a pickle); disbench never unpickles data files. "
        "Save it as a numeric array"
    )


def _read_npy_header(stream: Any, path: Path, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the start of a ``.npy`` stream."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except ValueError as error:
        raise DataFileError(path, f"array {key!r} has a bad .npy header ({error})") from None
    if dtype.hasobject:
        raise DataFileError(path, _pickle_problem(key))
    return tuple(int(n) for n in shape), bool(fortran), dtype


def _memmap_stored_member(path: Path, key: str, info: zipfile.ZipInfo) -> np.memmap:
    """Memory-map an uncompressed npz member in place."""
    with path.open("rb") as stream:
        stream.seek(info.header_offset)
        local = stream.read(_ZIP_LOCAL_HEADER.size)
        if len(local) < _ZIP_LOCAL_HEADER.size:
            raise DataFileError(path, f"truncated: the zip entry of {key!r} is cut off")
        signature, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(local)
        if signature != _ZIP_LOCAL_SIGNATURE:
            raise DataFileError(path, f"corrupt zip: bad local header for {key!r}")
        member_start = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length
        stream.seek(member_start)
        shape, fortran, dtype = _read_npy_header(stream, path, key)
        offset = stream.tell()
    nbytes = math.prod(shape) * dtype.itemsize
    if offset - member_start + nbytes != info.file_size:
        raise DataFileError(
            path, f"array {key!r} is corrupt: its header does not match the stored size"
        )
    if offset + nbytes > path.stat().st_size:
        raise DataFileError(
            path,
            f"truncated: array {key!r} needs {offset + nbytes:,} bytes, the file has "
            f"{path.stat().st_size:,}; download it again",
        )
    if nbytes == 0:
        return np.empty(shape, dtype)
    return np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )


def _memmap_decompressed_member(file: ArrayFile, key: str) -> np.memmap:
    """Decompress a compressed npz member once into the cache folder and memory-map it."""
    target = cache_dir() / "npz" / f"{file_sha256(file.path)}-{key}.npy"
    if not target.is_file():
        file.header(key)  # refuses a pickled array before decompressing anything
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as sink, file._zip() as archive:
                with archive.open(f"{key}.npy") as source:
                    shutil.copyfileobj(source, sink, _COPY_BLOCK)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except _ZIP_ERRORS as error:
            Path(temporary).unlink(missing_ok=True)
            raise DataFileError(
                file.path, f"array {key!r} is truncated or corrupt ({error}); download it again"
            ) from None
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise OSError(
                f"cannot write the decompressed copy of {file.path}:{key} to {target.parent} "
                f"({error}); free space there or set $DISBENCH_CACHE to another folder"
            ) from None
    try:
        array = np.load(target, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        target.unlink(missing_ok=True)
        raise DataFileError(file.path, f"array {key!r} is corrupt ({error})") from None
    return array


def _open_h5_array(path: Path, key: str) -> Any:
    """A memory map of a contiguous, unfiltered HDF5 dataset, else :class:`H5Rows`."""
    with _open_h5(path) as handle:
        dataset = handle[key]
        shape, dtype = tuple(dataset.shape), dataset.dtype
        if dtype.hasobject or dtype.kind not in "biuf":
            raise DataFileError(path, f"dataset {key!r} is not numeric (dtype {dtype})")
        contiguous = dataset.chunks is None and dataset.id.get_create_plist().get_nfilters() == 0
        offset = dataset.id.get_offset() if contiguous else None
    if offset is None:
        return H5Rows(path, key)
    nbytes = math.prod(shape) * dtype.itemsize
    if offset + nbytes > path.stat().st_size:
        raise DataFileError(
            path,
            f"truncated: dataset {key!r} needs {offset + nbytes:,} bytes, the file has "
            f"{path.stat().st_size:,}; download it again",
        )
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def classes_from_labels(
    labels: np.ndarray, path: str | os.PathLike[str], key: str
) -> tuple[np.ndarray, tuple[int, ...], tuple[np.ndarray | None, ...]]:
    """Factor classes of a label table.

    Parameters
    ----------
    labels : ndarray, shape (N, K)
        Integers or reals.
    path, key : str
        Named in errors.

    Returns
    -------
    classes : ndarray of int64, shape (N, K)
    factor_sizes : tuple of int
    factor_values : tuple of (ndarray or None)
        Per column: ``None`` where the labels are already classes (non-negative integers;
        the size is then ``max + 1``); otherwise the column's sorted unique values, class
        ``c`` standing for ``factor_values[k][c]`` (the size is the number of values).

    Examples
    --------
    >>> classes, sizes, values = classes_from_labels(
    ...     np.array([[0, 5], [2, -1]]), "x.npz", "labels")
    >>> classes.tolist(), sizes, values[0], values[1].tolist()
    ([[0, 1], [2, 0]], (3, 2), None, [-1, 5])
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] == 0:
        raise DataFileError(path, f"{key!r} must be (N, K) factor rows; got shape {labels.shape}")
    if labels.dtype == bool:
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iuf":
        raise DataFileError(path, f"{key!r} must hold numbers; got dtype {labels.dtype}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise DataFileError(path, f"{key!r} holds NaN or infinite values")
    columns, sizes, values = [], [], []
    for column in labels.T:  # a loop over factors, not rows
        if column.dtype.kind in "iu" and column.min() >= 0:
            columns.append(column.astype(np.int64))
            sizes.append(int(column.max()) + 1)
            values.append(None)
        else:
            unique, inverse = np.unique(column, return_inverse=True)
            columns.append(inverse.reshape(-1).astype(np.int64))
            sizes.append(int(unique.size))
            values.append(unique)
    return np.stack(columns, axis=1), tuple(sizes), tuple(values)


def grid_order(classes: np.ndarray, factor_sizes: Sequence[int]) -> tuple[bool, np.ndarray | None]:
    """Whether factor rows form a complete grid, and in which stored order.

    Returns
    -------
    is_grid : bool
        Every combination of ``0..factor_sizes-1`` present exactly once.
    order : ndarray of int64 or None
        On a grid stored in another order, ``order[g]`` is the stored row of grid position
        ``g`` (row-major over ``factor_sizes``); ``None`` when the rows are stored
        row-major already, or when they are not a grid.

    Examples
    --------
    >>> grid_order(np.array([[0, 1], [0, 0], [1, 0], [1, 1]]), (2, 2))
    (True, array([1, 0, 2, 3]))
    """
    n = classes.shape[0]
    if n != math.prod(int(size) for size in factor_sizes):
        return False, None
    flat = np.ravel_multi_index(tuple(classes.T), tuple(factor_sizes))
    if np.array_equal(flat, np.arange(n)):
        return True, None
    order = np.argsort(flat, kind="stable")
    if not np.array_equal(flat[order], np.arange(n)):
        return False, None
    return True, order.astype(np.int64)


class ImageFileDataset(FiniteDataset):
    """A finite data set of stored images and their factor rows.

    Rows are addressed ``0..len-1``: on a grid, in row-major order over ``factor_sizes``
    (whatever order the file stores them in), so ``index`` is arithmetic; on a labelled
    sample, in stored order, and ``index`` returns the first stored row carrying each
    factor row.

    Parameters
    ----------
    name : str
        The registered name or the file's stem.
    path : path-like
        The file (npz or HDF5).
    images_key : str
        The image array: (N, H, W), (N, H, W, C) or (N, C, H, W) with C <= 4, or any shape
        whose first axes multiply to N when ``image_shape`` is given.
    factor_names : sequence of str
    factor_sizes : sequence of int
    classes : ndarray of int64 (N, K), optional
        The factor row of each stored row. ``None``: the rows are the complete grid in
        row-major order.
    image_shape : tuple of int, optional
        Per-row shape to reshape the stored array to (dlib's 3D Shapes npz stores a
        (10, 10, 10, 8, 4, 15, 64, 64, 3) array).
    pixel_max : float, default=255
        Integer pixels are divided by it (dSprites stores 0/1 and uses 1).
    factor_values : sequence, optional
        Per factor, the value of each class (or ``None``); kept as ``factor_values``.
    params : dict, optional
        Extra JSON-able parameters recorded in the provenance.
    """

    def __init__(
        self,
        *,
        name: str,
        path: str | os.PathLike[str],
        images_key: str,
        factor_names: Sequence[str],
        factor_sizes: Sequence[int],
        classes: np.ndarray | None = None,
        image_shape: tuple[int, ...] | None = None,
        pixel_max: float = 255.0,
        factor_values: Sequence[np.ndarray | None] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.path = Path(path).resolve()
        self.images_key = images_key
        self.factor_names = tuple(str(n) for n in factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        if len(self.factor_names) != len(self.factor_sizes):
            raise DataFileError(
                self.path,
                f"{len(self.factor_names)} factor names for {len(self.factor_sizes)} factors",
            )
        self.pixel_max = float(pixel_max)
        self.factor_values = (
            tuple(factor_values) if factor_values is not None else (None,) * self.num_factors
        )
        self._image_shape = image_shape
        self._params = dict(params or {})
        self._images_cache: Any = None
        images = self._images()
        rows = images.shape[0]
        self._layout = _image_layout(images.shape, self.path, images_key)
        if images.dtype.kind not in "buf" or (
            images.dtype.kind == "u" and images.dtype.itemsize != 1
        ):
            raise DataFileError(
                self.path,
                f"images {images_key!r} must be uint8, bool or float; got {images.dtype}",
            )
        h, w = images.shape[1:3] if self._layout != "nchw" else images.shape[2:4]
        c = 1 if self._layout == "nhw" else images.shape[3 if self._layout == "nhwc" else 1]
        self.observation_shape = (int(c), int(h), int(w))
        self._order: np.ndarray | None = None
        self._keys: np.ndarray | None = None
        self._first: np.ndarray | None = None
        self._classes: np.ndarray | None = None
        if classes is None:
            if rows != math.prod(self.factor_sizes):
                raise DataFileError(
                    self.path,
                    f"{rows:,} images, but the grid {self.factor_sizes} has "
                    f"{math.prod(self.factor_sizes):,} rows",
                )
            self.is_grid = True
        else:
            if classes.shape != (rows, self.num_factors):
                raise DataFileError(
                    self.path,
                    f"{rows:,} images but factor rows of shape {classes.shape}; expected "
                    f"({rows}, {self.num_factors})",
                )
            self.is_grid, self._order = grid_order(classes, self.factor_sizes)
            if not self.is_grid:
                self._index_labelled(classes)
        self._length = rows
        self._check_pixels(take_rows(images, np.arange(min(rows, _PROBE_ROWS))))

    def _index_labelled(self, classes: np.ndarray) -> None:
        if math.prod(self.factor_sizes) >= 2**62:
            raise DataFileError(
                self.path,
                f"too many factor combinations ({self.factor_sizes}) to index the rows",
            )
        self._classes = classes
        keys = np.ravel_multi_index(tuple(classes.T), self.factor_sizes)
        self._keys, self._first = np.unique(keys, return_index=True)

    def _images(self) -> Any:
        if self._images_cache is None:
            images = ArrayFile(self.path).open(self.images_key)
            if self._image_shape is not None:
                leading = images.shape[: images.ndim - len(self._image_shape)]
                if images.shape[len(leading) :] != self._image_shape:
                    raise DataFileError(
                        self.path,
                        f"images {self.images_key!r} have shape {images.shape}; expected "
                        f"(..., {', '.join(map(str, self._image_shape))})",
                    )
                if len(leading) != 1:
                    if isinstance(images, H5Rows):
                        raise DataFileError(
                            self.path,
                            f"images {self.images_key!r} of shape {images.shape} must be stored "
                            f"as (N, {', '.join(map(str, self._image_shape))}) in an HDF5 file",
                        )
                    images = images.reshape((math.prod(leading), *self._image_shape))
            self._images_cache = images
        return self._images_cache

    def __getstate__(self) -> dict[str, Any]:
        # The memory map is reopened from the file, never pickled.
        return {**self.__dict__, "_images_cache": None}

    def __len__(self) -> int:
        return self._length

    def factors_at(self, indices: Any) -> np.ndarray:
        rows = check_indices(indices, len(self))
        if self.is_grid:
            return np.stack(np.unravel_index(rows, self.factor_sizes), axis=1).astype(np.int64)
        return self._classes[rows]

    def observations_at(self, indices: Any) -> np.ndarray:
        rows = check_indices(indices, len(self))
        stored = rows if self._order is None else self._order[rows]
        pixels = take_rows(self._images(), stored)
        self._check_pixels(pixels)
        if self._layout == "nhw":
            source = pixels[:, None]
        elif self._layout == "nhwc":
            source = pixels.transpose(0, 3, 1, 2)
        else:
            source = pixels
        # One pass from the stored dtype and layout into a C-contiguous float32 array (a
        # ufunc with ``out=`` is several times faster than ``ascontiguousarray`` here).
        observations = np.empty((pixels.shape[0], *self.observation_shape), dtype=np.float32)
        if pixels.dtype.kind in "bu":
            np.divide(source, np.float32(self.pixel_max), out=observations, dtype=np.float32)
        else:
            np.copyto(observations, source, casting="same_kind")
        return observations

    def _check_pixels(self, pixels: np.ndarray) -> None:
        if pixels.size == 0:
            return
        if pixels.dtype.kind == "f":
            low, high = float(pixels.min()), float(pixels.max())
            if not (0.0 <= low and high <= 1.0):
                raise DataFileError(
                    self.path,
                    f"float images must lie in [0, 1]; found values in [{low:g}, {high:g}]",
                )
        elif pixels.dtype.kind == "u" and int(pixels.max()) > self.pixel_max:
            raise DataFileError(
                self.path,
                f"pixel value {int(pixels.max())} exceeds {self.pixel_max:g}, the value that "
                "stands for 1 in this layout",
            )

    def index(self, factors: Any) -> np.ndarray:
        if self.is_grid:
            return super().index(factors)
        factors = check_factor_rows(factors, self.factor_sizes)
        keys = np.ravel_multi_index(tuple(factors.T), self.factor_sizes)
        position = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        found = self._keys[position] == keys
        if not found.all():
            missing = factors[~found]
            shown = "; ".join(str(row.tolist()) for row in missing[:5])
            raise ValueError(
                f"{missing.shape[0]} factor rows are not stored in {self.name} "
                f"(a labelled sample, not a grid), e.g. {shown}"
            )
        return self._first[position].astype(np.int64)

    def params(self) -> dict[str, Any]:
        return {
            "images_key": self.images_key,
            "pixel_max": self.pixel_max,
            "is_grid": self.is_grid,
            **self._params,
        }

    def files(self) -> list[dict[str, Any]]:
        return [file_record(self.path)]


def _image_layout(shape: tuple[int, ...], path: Path, key: str) -> str:
    """``"nhw"``, ``"nhwc"`` or ``"nchw"`` from an image array's shape."""
    if len(shape) == 3:
        return "nhw"
    if len(shape) == 4 and shape[3] <= 4:
        return "nhwc"
    if len(shape) == 4 and shape[1] <= 4:
        return "nchw"
    raise DataFileError(
        path,
        f"images {key!r} must be (N, H, W), (N, H, W, C) or (N, C, H, W) with C <= 4; "
        f"got shape {shape}",
    )


class FileDataset(ImageFileDataset):
    """The generic file layout: ``images`` with ``factors`` or ``labels``.

    A complete grid of factor values (in any row order) is a grid; any other set of
    labelled rows is a labelled sample. Integer labels >= 0 are classes (size
    ``max + 1``); other labels are mapped per column to the classes of their sorted
    unique values, kept in ``factor_values``.
    """

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        factor_names: Sequence[str] | None = None,
    ) -> FileDataset:
        """Load an ``.npz`` or ``.h5`` of ``images`` (N, H, W[, C]) and ``factors`` or
        ``labels`` (N, K), optional ``factor_names`` (K,) strings.

        Parameters
        ----------
        path : path-like
            The file; its format is recognised by content.
        name : str, optional
            Default: the file's stem.
        factor_names : sequence of str, optional
            Overrides the file's ``factor_names``; default ``factor_0``, ``factor_1``, ...

        Returns
        -------
        FileDataset
            Observations are uint8 pixels / 255, or float pixels as stored (they must lie
            in [0, 1]), channels first.
        """
        file = ArrayFile(path)
        if "images" not in file:
            raise DataFileError(
                file.path, f"has no 'images' array; it holds {', '.join(file.keys())}"
            )
        key = next((k for k in ("factors", "labels") if k in file), None)
        if key is None:
            raise DataFileError(
                file.path,
                "has no 'factors' or 'labels' array of factor rows; it holds "
                + ", ".join(file.keys()),
            )
        classes, sizes, values = classes_from_labels(file.read(key), file.path, key)
        if factor_names is None and "factor_names" in file:
            factor_names = [str(n) for n in np.asarray(file.read("factor_names")).reshape(-1)]
        if factor_names is None:
            factor_names = [f"factor_{k}" for k in range(len(sizes))]
        return cls(
            name=name or file.path.stem,
            path=file.path,
            images_key="images",
            factor_names=factor_names,
            factor_sizes=sizes,
            classes=classes,
            factor_values=values,
            params={"factors_key": key},
        )


def load_path(path: str | os.PathLike[str], **options: Any) -> ImageFileDataset:
    """Load a data file, recognising its layout by content, not by its name.

    ============================================  ===========================================
    arrays in the file                            loader
    ============================================  ===========================================
    ``imgs`` + ``latents_classes``                :class:`~.dsprites.DSprites` (dSprites)
    ``images`` + ``labels``: 6 columns of the     :class:`~.shapes3d.Shapes3D` (3D Shapes)
    3D Shapes values and 480,000 rows, or dlib's
    (10, 10, 10, 8, 4, 15, 64, 64, 3) images
    ``images`` + ``factors`` or other ``labels``  :class:`FileDataset` (generic)
    ``images`` alone                              :class:`~.mpi3d.MPI3D` (sizes from N)
    ============================================  ===========================================

    Parameters
    ----------
    path : path-like
        An ``.npz`` or HDF5 file.
    **options
        Passed to the loader (``name=``, and ``factor_names=`` for the generic layout).

    Raises
    ------
    DataFileError
        When no layout matches; the message lists the arrays found.
    """
    # The format modules build on this one, so they are imported here, not at the top.
    from disbench.benchmark.datasets.dsprites import DSprites
    from disbench.benchmark.datasets.mpi3d import MPI3D
    from disbench.benchmark.datasets.shapes3d import Shapes3D

    file = ArrayFile(path)
    if "imgs" in file and "latents_classes" in file:
        return DSprites.from_file(file.path, **options)
    if "images" in file and "labels" in file and Shapes3D.recognises(file):
        return Shapes3D.from_file(file.path, **options)
    if "images" in file and ("factors" in file or "labels" in file):
        return FileDataset.from_file(file.path, **options)
    if "images" in file:
        return MPI3D.from_file(file.path, **options)
    raise DataFileError(
        file.path,
        f"holds {', '.join(file.keys()) or 'no arrays'}; expected one of the layouts "
        "imgs + latents_classes (dSprites), images + labels (3D Shapes), images alone "
        "(MPI3D), images + factors (generic)",
    )
