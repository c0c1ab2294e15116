"""SmallNORB: photographs of 50 toys (LeCun et al. 2004), memory-mapped from the NORB files.

References
----------
Y. LeCun, F. J. Huang and L. Bottou, "Learning Methods for Generic Object Recognition with
Invariance to Pose and Lighting", CVPR 2004; files and format:
https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/. Loader reproduced:
``disentanglement_lib/data/ground_truth/norb.py`` (google-research/disentanglement_lib,
commit 76f41e3).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from disbench.benchmark.datasets.base import FiniteDataset, check_factor_rows, check_indices
from disbench.benchmark.datasets.paths import (
    DataFileError,
    DataFileNotFoundError,
    file_record,
    resolve_data_file,
)

#: The folder of the six files, relative to a data folder (as disentanglement_lib lays it out).
RELATIVE_FOLDER = "small_norb"
#: Where the files are published, gzipped (``<name>.gz``); ``gunzip`` them into the folder.
BASE_URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
#: The six file names: for each chunk (training, testing) its images, categories and info.
FILE_NAMES = tuple(
    f"smallnorb-{chunk}-{kind}.mat" for chunk in _CHUNKS for kind in ("dat", "cat", "info")
)
_SIDE = 64  # observation width and height, pixels
_INSTANCES = 10  # toys per category: the hidden nuisance factor
_SIZES = (5, 9, 18, 6)  # category, elevation, azimuth, lighting
# NORB binary matrix magic numbers (little-endian int32) and their element types.
_NORB_TYPES = {
    0x1E3D4C55: np.dtype(np.uint8),
    0x1E3D4C56: np.dtype("<i2"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
}
_MAX_NDIM = 16


def _published() -> dict[str, dict[str, Any]]:
    """Relative path → ``{"url", "sha256", "bytes"}`` of the uncompressed published files."""
    sha256 = {
        "training-dat": "4813bf104d229583fea8ed57fdc3e9258c927b8dfb43d75412e854a7a9588067",
        "testing-dat": "2b1de646c57ffdc259b8fb973a6453e90915248a8fdb4d9df948786bdae72b34",
        # The training and testing category files are byte for byte the same.
        "training-cat": "591ed90c090cb6724593e8de28180bd602095ee8ec82bd1a5ca30b488cd1d06e",
        "testing-cat": "591ed90c090cb6724593e8de28180bd602095ee8ec82bd1a5ca30b488cd1d06e",
        "training-info": "6b4075d3800ba0c6fa8c46a02f672572abe7b93f7ed82fb7668354a99ef03306",
        "testing-info": "318f817236b7c97af03cd90e07a9cbb4346e20ef83a1118a61eeb50e3b96db7e",
    }
    # Header (magic, ndim, max(3, ndim) dims; int32 each) + 24,300 rows of data.
    size = {"dat": 24 + 24300 * 2 * 96 * 96, "cat": 20 + 24300 * 4, "info": 20 + 24300 * 4 * 4}
    published = {}
    for name in FILE_NAMES:
        key = name.removesuffix(".mat").split("-", 2)[2]  # "training-dat"
        published[f"{RELATIVE_FOLDER}/{name}"] = {
            "url": f"{BASE_URL}{name}.gz",
            "sha256": sha256[key],
            "bytes": size[key.split("-")[1]],
        }
    return published


class SmallNORB(FiniteDataset):
    """SmallNORB: category 5, elevation 9, azimuth 18, lighting 6; grey-scale 64×64.

    The training and testing files together hold every (category, instance, elevation,
    azimuth, lighting) combination once: 48,600 stereo pairs of 96×96 images, of which the
    first (left) image is used. The toy instance (10 per category) is a hidden nuisance
    factor, as in disentanglement_lib.

    Parameters
    ----------
    folder : path-like
        The folder holding the six files of :data:`FILE_NAMES`, uncompressed
        (``<data folder>/small_norb``).

    Notes
    -----
    Rows are ordered by (category, elevation, azimuth, lighting, instance), row-major:
    ``row = index(factors) + instance``, 48,600 of them; :meth:`factors_at` gives the four
    factors and :meth:`instance_at` the instance. The set is not a grid in the sense of
    ``is_grid`` (each factor combination is stored ten times, once per instance):

    - :meth:`sample_indices` draws the factors with :meth:`sample_factors` and then the
      instance, uniformly, from the same ``rng`` — disentanglement_lib's order
      (latent factors, then the nuisance);
    - :meth:`index` and :meth:`observations` use instance 0, the first stored row of each
      combination, so ``observations(factors)`` is deterministic.

    The files are NORB binary matrices (despite ``.mat``, not MATLAB): a little-endian
    int32 magic number (element type), the number of dimensions and ``max(3, ndim)`` sizes,
    then the data. The image files are memory-mapped and read only for the rows asked for;
    the category and info files (0.5 MB) are read at construction. The azimuth is stored as
    0, 2, ..., 34 and used halved. Each image is resized to 64×64 with PIL's Lanczos filter
    on the 32-bit integer image — disentanglement_lib passes an int8 array, which PIL opens as
    a 32-bit image — and divided by 255. Any image size in the files is accepted.

    Known differences from disentanglement_lib: values are clipped to [0, 1] (Lanczos
    overshoot at sharp edges gives values up to a few 1/255 outside it there); pixels are
    float32 (it stores float64); ``observations(factors)`` uses instance 0 (it draws the
    instance at random on every call).
    """

    name = "smallnorb"
    factor_names = ("category", "elevation", "azimuth", "lighting")
    factor_sizes = _SIZES
    observation_shape = (1, _SIDE, _SIDE)
    is_grid = False
    #: Relative path → where it is published and what the uncompressed file hashes to.
    published: ClassVar[dict[str, dict[str, Any]]] = _published()

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.paths = [self.folder / name for name in FILE_NAMES]
        for path in self.paths:
            if not path.is_file():
                raise DataFileNotFoundError(path.name, [self.folder], f"{BASE_URL}{path.name}.gz")
        # (image file, data offset, shape) of each chunk; memory-mapped on first use.
        self._chunks: list[tuple[Path, int, tuple[int, ...]]] = []
        self._maps: list[np.memmap] | None = None
        features = []
        for dat, cat, info in (self.paths[:3], self.paths[3:]):
            offset, shape, categories, infos = _read_chunk(dat, cat, info)
            if self._chunks and shape[2:] != self._chunks[0][2][2:]:
                first = self._chunks[0][2]
                raise DataFileError(
                    dat,
                    f"holds {shape[2]}x{shape[3]} images but {self.paths[0].name} holds "
                    f"{first[2]}x{first[3]}; both chunks must be of one download",
                )
            self._chunks.append((dat, offset, shape))
            # (category, elevation, azimuth / 2, lighting, instance): the row order here.
            features.append(
                np.column_stack(
                    [categories, infos[:, 1], infos[:, 2] // 2, infos[:, 3], infos[:, 0]]
                )
            )
        combined = np.concatenate(features)
        rows = np.ravel_multi_index(tuple(combined.T), (*_SIZES, _INSTANCES))
        counts = np.bincount(rows, minlength=len(self))
        if combined.shape[0] != len(self) or np.any(counts != 1):
            missing = np.flatnonzero(counts == 0)
            raise DataFileError(
                self.folder,
                f"the training and testing files hold {np.count_nonzero(counts):,} of the "
                f"{len(self):,} (category, elevation, azimuth, lighting, instance) combinations "
                f"in {combined.shape[0]:,} rows ({missing.size} missing, "
                f"{int(np.sum(np.maximum(counts - 1, 0)))} repeated); the published files hold "
                "each exactly once: download them again",
            )
        # Stored row -> row of the concatenated (training, testing) files.
        self._source = np.empty(len(self), dtype=np.int64)
        self._source[rows] = np.arange(len(self))
        self._files: list[dict[str, Any]] | None = None

    @classmethod
    def from_folder(cls, data_dir: str | os.PathLike[str] | None = None) -> SmallNORB:
        """SmallNORB from ``small_norb/`` under ``data_dir``, ``$DISBENCH_DATA`` or
        ``$DISENTANGLEMENT_LIB_DATA`` (the first that has its first file).

        Raises
        ------
        DataFileNotFoundError
            When a file is missing; the message names it, the folders searched and where
            it is published.
        """
        first = resolve_data_file(
            f"{RELATIVE_FOLDER}/{FILE_NAMES[0]}",
            data_dir=data_dir,
            published_at=f"{BASE_URL}{FILE_NAMES[0]}.gz",
        )
        return cls(first.parent)

    def __len__(self) -> int:
        return math.prod(_SIZES) * _INSTANCES

    def __getstate__(self) -> dict[str, Any]:
        # A pickled copy (e.g. for a worker process) maps the files again, not 900 MB of pixels.
        return {**self.__dict__, "_maps": None}

    def files(self) -> list[dict[str, Any]]:
        if self._files is None:
            self._files = [file_record(path) for path in self.paths]
        return self._files

    def factors_at(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return np.stack(np.unravel_index(indices // _INSTANCES, _SIZES), axis=1).astype(np.int64)

    def instance_at(self, indices: np.ndarray) -> np.ndarray:
        """The toy instance (0..9) of stored rows: int64 ``(n,)``."""
        return check_indices(indices, len(self)) % _INSTANCES

    def index(self, factors: np.ndarray) -> np.ndarray:
        """Stored row of each factor row with instance 0 (the first stored of the ten)."""
        factors = check_factor_rows(factors, self.factor_sizes)
        return np.ravel_multi_index(tuple(factors.T), _SIZES).astype(np.int64) * _INSTANCES

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows: the factors from :meth:`sample_factors`, then the instance, from ``rng``."""
        factors = self.sample_factors(n, rng)
        instances = rng.integers(0, _INSTANCES, size=n, dtype=np.int64)
        return self.index(factors) + instances

    def observations_at(self, indices: np.ndarray) -> np.ndarray:
        source = self._source[check_indices(indices, len(self))]
        # Read each file row once, in file order, then put the images in the order asked.
        unique, inverse = np.unique(source, return_inverse=True)
        resized = np.empty((unique.size, _SIDE, _SIDE), dtype=np.float32)
        if self._maps is None:
            self._maps = [
                np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=shape)
                for path, offset, shape in self._chunks
            ]
        start = 0  # first row of the chunk in the concatenated files
        for images in self._maps:
            chunk = (unique >= start) & (unique < start + images.shape[0])
            if chunk.any():
                resized[chunk] = _resize(images[unique[chunk] - start, 0])
            start += images.shape[0]
        return resized[inverse][:, None]


def read_norb_header(path: str | os.PathLike[str]) -> tuple[np.dtype, tuple[int, ...], int]:
    """The element type, shape and data offset of a NORB binary matrix file.

    Parameters
    ----------
    path : path-like
        A NORB file (``smallnorb-*-{dat,cat,info}.mat``).

    Returns
    -------
    dtype : numpy.dtype
        From the magic number: uint8 (0x1E3D4C55), int16, int32 (0x1E3D4C54), float32 or
        float64, little-endian.
    shape : tuple of int
        The ``ndim`` sizes.
    offset : int
        Bytes before the data: ``8 + 4 · max(3, ndim)``.

    Raises
    ------
    DataFileError
        A header that is truncated, has an unknown magic number or impossible sizes, or a
        file whose length is not the header plus the data the header announces.

    Examples
    --------
    >>> import pathlib, tempfile, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cat.mat"
    >>> header = np.array([0x1E3D4C54, 1, 3, 1, 1], dtype="<i4")  # int32, ndim 1, sizes 3 1 1
    >>> _ = path.write_bytes(header.tobytes() + np.array([4, 0, 2], dtype="<i4").tobytes())
    >>> read_norb_header(path)
    (dtype('int32'), (3,), 20)
    """
    path = Path(path)
    with path.open("rb") as stream:
        head = stream.read(8 + 4 * _MAX_NDIM)
    size = path.stat().st_size
    if len(head) < 8:
        raise DataFileError(path, f"truncated: {size} bytes, shorter than a NORB header")
    magic, ndim = (int(value) for value in np.frombuffer(head[:8], dtype="<i4"))
    if magic not in _NORB_TYPES:
        gzipped = " (it is gzipped: gunzip it first)" if head[:2] == b"\x1f\x8b" else ""
        raise DataFileError(
            path,
            f"magic number {magic & 0xFFFFFFFF:#010x} is not a NORB binary matrix{gzipped}; "
            f"expected the smallnorb file published at {BASE_URL}",
        )
    if not 1 <= ndim <= _MAX_NDIM:
        raise DataFileError(path, f"corrupt NORB header: {ndim} dimensions")
    offset = 8 + 4 * max(3, ndim)
    if len(head) < offset:
        raise DataFileError(path, f"truncated: {size} bytes, shorter than its {offset}-byte header")
    shape = tuple(int(value) for value in np.frombuffer(head[8 : 8 + 4 * ndim], dtype="<i4"))
    if any(value < 1 for value in shape):
        raise DataFileError(path, f"corrupt NORB header: sizes {shape}")
    dtype = _NORB_TYPES[magic]
    expected = offset + math.prod(shape) * dtype.itemsize
    if size != expected:
        problem = "truncated" if size < expected else "longer than its header says"
        raise DataFileError(
            path,
            f"{problem}: {size:,} bytes, but its header announces a {dtype} matrix of shape "
            f"{shape}, {expected:,} bytes; download it again",
        )
    return dtype, shape, offset


def _read_chunk(
    dat: Path, cat: Path, info: Path
) -> tuple[int, tuple[int, ...], np.ndarray, np.ndarray]:
    """The image file's data offset and shape ``(N, 2, H, W)``, and the checked categories
    ``(N,)`` and info ``(N, 4)``, of one chunk (training or testing)."""
    dtype, shape, offset = read_norb_header(dat)
    if dtype != np.uint8 or len(shape) != 4 or shape[1] != 2:
        raise DataFileError(
            dat,
            f"holds a {dtype} matrix of shape {shape}; expected uint8 (N, 2, H, W) stereo pairs",
        )
    n, image_offset, image_shape = shape[0], offset, shape
    dtype, shape, offset = read_norb_header(cat)
    if dtype != np.int32 or shape != (n,):
        raise DataFileError(cat, f"holds a {dtype} matrix of shape {shape}; expected int32 ({n},)")
    categories = np.fromfile(cat, dtype="<i4", offset=offset).astype(np.int64)
    dtype, shape, offset = read_norb_header(info)
    if dtype != np.int32 or shape != (n, 4):
        raise DataFileError(
            info, f"holds a {dtype} matrix of shape {shape}; expected int32 ({n}, 4)"
        )
    infos = np.fromfile(info, dtype="<i4", offset=offset).astype(np.int64).reshape(n, 4)
    if np.any((categories < 0) | (categories >= _SIZES[0])):
        raise DataFileError(cat, f"categories outside 0..{_SIZES[0] - 1}")
    # info columns: instance, elevation, azimuth (0, 2, ..., 34), lighting.
    limits = np.array([_INSTANCES, _SIZES[1], 2 * _SIZES[2], _SIZES[3]])
    bad = np.any((infos < 0) | (infos >= limits), axis=0) | np.array(
        [False, False, np.any(infos[:, 2] % 2), False]
    )
    if bad.any():
        columns = ", ".join(
            name
            for name, wrong in zip(
                ("instance", "elevation", "azimuth", "lighting"), bad, strict=True
            )
            if wrong
        )
        raise DataFileError(
            info,
            f"values out of range in column(s) {columns}; expected instance 0..9, elevation "
            "0..8, azimuth 0, 2, ..., 34, lighting 0..5",
        )
    return image_offset, image_shape, categories, infos


def _resize(images: np.ndarray) -> np.ndarray:
    """``(m, H, W)`` uint8 -> float32 ``(m, 64, 64)`` in [0, 1], Lanczos on 32-bit integers."""
    resized = np.empty((images.shape[0], _SIDE, _SIDE), dtype=np.float32)
    for k, image in enumerate(images):  # PIL resizes one image at a time
        pixels = Image.fromarray(image.astype(np.int32)).resize((_SIDE, _SIDE), Image.LANCZOS)
        resized[k] = np.asarray(pixels)
    return np.clip(resized, 0.0, 255.0) / np.float32(255.0)
