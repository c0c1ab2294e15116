"""Cars3D: rendered 3-D car models (Reed et al. 2015), read lazily from their ``.mat`` files.

References
----------
S. Reed, Y. Zhang, Y. Zhang and H. Lee, "Deep Visual Analogy-Making", NeurIPS 2015,
https://papers.nips.cc/paper/5845-deep-visual-analogy-making. Loader reproduced:
``disentanglement_lib/data/ground_truth/cars3d.py`` (google-research/disentanglement_lib,
commit 76f41e3).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from disbench.benchmark.datasets.base import FiniteDataset, check_indices
from disbench.benchmark.datasets.paths import DataFileError, file_record, resolve_data_file

#: The folder of car files, relative to a data folder (as disentanglement_lib lays it out).
RELATIVE_PATH = "cars"
#: Where the files are published: the archive's ``data/cars`` folder is ``<data folder>/cars``.
ARCHIVE_URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
_SIDE = 64  # observation width and height, pixels
_ELEVATIONS, _AZIMUTHS = 4, 24


class Cars3D(FiniteDataset):
    """The Cars3D grid: elevation 4 × azimuth 24 × object, RGB 64×64.

    Each ``.mat`` file of the folder (sorted by name) is one object: MATLAB variable ``im``
    of shape ``(H, W, 3, 24, 4)`` uint8 — rows, columns, channels, azimuth, elevation
    (128×128 in the published files). Rows are the grid row-major over
    ``(elevation, azimuth, object)``: ``len = 4 · 24 · number of files`` (17,568 for the
    183 published cars).

    Parameters
    ----------
    folder : path-like
        The folder of car files (``<data folder>/cars``).
    cache_size : int, default=16
        Objects kept resized in memory (about 1.2 MB each), least recently used first out.

    Notes
    -----
    A file is read (``scipy.io.loadmat``) only when one of its rows is asked for. Image
    ``im[:, :, :, azimuth, elevation]`` is resized to 64×64 with PIL's Lanczos filter
    (``Image.LANCZOS``, formerly ``ANTIALIAS``) and divided by 255, as disentanglement_lib
    does; observations are float32 ``(n, 3, 64, 64)`` in [0, 1].

    Known differences from disentanglement_lib: objects are the files sorted by name
    (disentanglement_lib numbers them in directory-listing order, which the file system
    chooses); images of any size ``H×W`` are resized to 64×64 (disentanglement_lib calls
    ``thumbnail``, which equals ``resize`` for the published 128×128 images but never
    enlarges); pixels are float32 (it stores float64).

    Examples
    --------
    >>> import pathlib, tempfile, numpy as np, scipy.io
    >>> im = np.zeros((8, 8, 3, 24, 4), dtype=np.uint8)  # two tiny cars, all black
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for car in ("car_001_mesh.mat", "car_002_mesh.mat"):
    ...         scipy.io.savemat(pathlib.Path(folder) / car, {"im": im})
    ...     cars = Cars3D(folder)
    ...     images = cars.observations_at([5])
    >>> cars.factor_sizes, len(cars), images.shape, float(images.max())
    ((4, 24, 2), 192, (1, 3, 64, 64), 0.0)
    """

    name = "cars3d"
    factor_names = ("elevation", "azimuth", "object")
    observation_shape = (3, _SIDE, _SIDE)
    is_grid = True
    #: Relative path → where it is published (``sha256``/``bytes``: not recorded for this set).
    published: ClassVar[dict[str, dict[str, Any]]] = {
        RELATIVE_PATH: {"url": ARCHIVE_URL, "sha256": None, "bytes": None}
    }

    def __init__(self, folder: str | os.PathLike[str], *, cache_size: int = 16) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise DataFileError(
                folder, f"is not a folder; expected the Cars3D folder of .mat files ({ARCHIVE_URL})"
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size must be a positive integer, got {cache_size!r}")
        self.folder = folder
        self.paths = sorted(path for path in folder.glob("*.mat") if path.is_file())
        if not self.paths:
            raise DataFileError(
                folder,
                "holds no .mat files; expected the car files of the Cars3D archive "
                f"({ARCHIVE_URL}, folder data/cars)",
            )
        self.factor_sizes = (_ELEVATIONS, _AZIMUTHS, len(self.paths))
        self.cache_size = cache_size
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._files: list[dict[str, Any]] | None = None

    @classmethod
    def from_folder(
        cls, data_dir: str | os.PathLike[str] | None = None, *, cache_size: int = 16
    ) -> Cars3D:
        """Cars3D from ``cars/`` under ``data_dir``, ``$DISBENCH_DATA`` or
        ``$DISENTANGLEMENT_LIB_DATA`` (the first that has it); ``cache_size`` as for the class.

        Raises
        ------
        DataFileNotFoundError
            When no data folder has ``cars/``; the message names the folders searched and
            where the archive is published.
        """
        folder = resolve_data_file(RELATIVE_PATH, data_dir=data_dir, published_at=ARCHIVE_URL)
        return cls(folder, cache_size=cache_size)

    def __len__(self) -> int:
        return _ELEVATIONS * _AZIMUTHS * len(self.paths)

    def files(self) -> list[dict[str, Any]]:
        if self._files is None:
            self._files = [file_record(path) for path in self.paths]
        return self._files

    def factors_at(self, indices: np.ndarray) -> np.ndarray:
        indices = check_indices(indices, len(self))
        return np.stack(np.unravel_index(indices, self.factor_sizes), axis=1).astype(np.int64)

    def observations_at(self, indices: np.ndarray) -> np.ndarray:
        factors = self.factors_at(indices)
        images = np.empty((factors.shape[0], *self.observation_shape), dtype=np.float32)
        order = np.argsort(factors[:, 2], kind="stable")
        objects, starts = np.unique(factors[order, 2], return_index=True)
        # One file per object: the loop runs over the objects asked for, not over rows.
        for obj, rows in zip(objects, np.split(order, starts[1:]), strict=True):
            car = self._car(int(obj))
            images[rows] = car[factors[rows, 0], factors[rows, 1]].astype(np.float32) / 255.0
        return images

    def _car(self, obj: int) -> np.ndarray:
        """Resized images of one object: uint8 ``(4, 24, 3, 64, 64)``, from the LRU cache."""
        if obj in self._cache:
            self._cache.move_to_end(obj)
            return self._cache[obj]
        car = _load_car(self.paths[obj])
        self._cache[obj] = car
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return car


def _load_car(path: Path) -> np.ndarray:
    """One car file as uint8 ``(elevation 4, azimuth 24, 3, 64, 64)``, resized with Lanczos."""
    from scipy.io import loadmat

    try:
        content = loadmat(path, variable_names=["im"])
    except OSError as error:
        raise DataFileError(path, f"cannot be read ({error})") from error
    except Exception as error:  # scipy raises ValueError, TypeError, NotImplementedError...
        raise DataFileError(path, f"is not a readable MATLAB .mat file ({error})") from error
    if "im" not in content:
        raise DataFileError(
            path, "has no variable 'im'; expected a Cars3D file (im: H x W x 3 x 24 x 4 uint8)"
        )
    im = content["im"]
    if im.ndim != 5 or im.shape[2:] != (3, _AZIMUTHS, _ELEVATIONS) or im.dtype != np.uint8:
        raise DataFileError(
            path,
            f"variable 'im' is {im.dtype} of shape {im.shape}; expected uint8 of shape "
            f"(H, W, 3, {_AZIMUTHS}, {_ELEVATIONS}) (rows, columns, RGB, azimuth, elevation)",
        )
    # (H, W, 3, azimuth, elevation) -> (elevation, azimuth, H, W, 3), the grid's order.
    views = np.transpose(im, (4, 3, 0, 1, 2)).reshape(-1, *im.shape[:3])
    resized = np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(view)).resize((_SIDE, _SIDE), Image.LANCZOS)
            )
            for view in views
        ]
    )
    return resized.reshape(_ELEVATIONS, _AZIMUTHS, _SIDE, _SIDE, 3).transpose(0, 1, 4, 2, 3).copy()
