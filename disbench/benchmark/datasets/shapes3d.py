"""3D Shapes (Burgess & Kim 2018; Kim & Mnih 2018, "Disentangling by Factorising", ICML).

Two published layouts load:

* the public ``3dshapes.h5`` (https://storage.googleapis.com/3d-shapes/3dshapes.h5;
  267,573,662 bytes): datasets ``images`` (480,000, 64, 64, 3) uint8 and ``labels``
  (480,000, 6) float64 holding factor *values*: floor, wall and object hue in
  {0, 0.1, ..., 0.9}, scale ``linspace(0.75, 1.25, 8)``, shape {0, 1, 2, 3}, orientation
  ``linspace(-30, 30, 15)``; rows in row-major order over (10, 10, 10, 8, 4, 15). Its
  images are contiguous in the file and memory-mapped.
* disentanglement_lib's npz, ``3dshapes/look-at-object-room_floor-hueXwall-hueXobj-
  hueXobj-sizeXobj-shapeXview-azi.npz`` (data/ground_truth/shapes3d.py @86a644d): keys
  ``images`` of shape (10, 10, 10, 8, 4, 15, 64, 64, 3) and ``labels`` of shape
  (10, 10, 10, 8, 4, 15, 6); dlib reshapes both to rows and reads the factors from the row
  position. This loader reshapes the same way.

Factors are derived from the label values, never from the row position: each value is
mapped to its class in the published tables (a value off the tables is an error; labels
that are already integer classes within the published sizes are taken as classes). The
factor sizes are always the published (10, 10, 10, 8, 4, 15). All 480,000 combinations,
in any row order, make the grid; a file with fewer rows (a subset someone exported) loads
as a labelled sample of 3D Shapes, with the same class numbering.

Observations: pixels / 255 as float32, (n, 3, 64, 64).
"""

from __future__ import annotations

import math
import os

import numpy as np

from disbench.benchmark.datasets.files import ArrayFile, ImageFileDataset
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError, data_dirs

#: Paths under a data folder: the public h5 (preferred) and disentanglement_lib's npz.
RELATIVE_PATH = "3dshapes/3dshapes.h5"
DLIB_RELATIVE_PATH = (
    "3dshapes/look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-shapeXview-azi.npz"
)
PUBLISHED_AT = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
#: The value of each class, per factor, as the public h5 stores them.
FACTOR_VALUES = (
    np.arange(10) / 10.0,
    np.arange(10) / 10.0,
    np.arange(10) / 10.0,
    np.linspace(0.75, 1.25, 8),
    np.arange(4, dtype=np.float64),
    np.linspace(-30.0, 30.0, 15),
)
_IMAGE_SHAPE = (64, 64, 3)
#: Label values are matched to the tables within this tolerance (the smallest step is 1/14).
_VALUE_TOLERANCE = 1e-4


def classes_from_values(labels: np.ndarray) -> np.ndarray | None:
    """Classes of 3D Shapes label values, or ``None`` when a value is off the tables.

    Parameters
    ----------
    labels : ndarray, shape (N, 6)
        Factor values as the public h5 stores them.

    Returns
    -------
    ndarray of int64, shape (N, 6), or None

    Examples
    --------
    >>> classes_from_values(np.array([[0.3, 0.0, 0.9, 1.25, 2.0, -30.0]])).tolist()
    [[3, 0, 9, 7, 2, 0]]
    """
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[1] != len(FACTOR_SIZES):
        return None
    columns = []
    for column, values in zip(labels.T, FACTOR_VALUES, strict=True):  # over the 6 factors
        step = values[1] - values[0]
        classes = np.rint((column - values[0]) / step).astype(np.int64)
        if classes.min() < 0 or classes.max() >= values.size:
            return None
        if np.abs(values[classes] - column).max() > _VALUE_TOLERANCE:
            return None
        columns.append(classes)
    return np.stack(columns, axis=1)


def _classes(labels: np.ndarray) -> np.ndarray | None:
    """Classes from label values, or from labels that are already classes."""
    classes = classes_from_values(labels)
    if classes is not None:
        return classes
    if (
        labels.ndim == 2
        and labels.shape[1] == len(FACTOR_SIZES)
        and np.all(labels == np.rint(labels))
        and labels.min() >= 0
        and np.all(labels.max(axis=0) < np.asarray(FACTOR_SIZES))
    ):
        return labels.astype(np.int64)
    return None


class Shapes3D(ImageFileDataset):
    """3D Shapes from the public h5 or disentanglement_lib's npz (see the module docstring)."""

    @staticmethod
    def recognises(file: ArrayFile) -> bool:
        """Whether ``file`` is 3D Shapes: dlib's 9-D ``images``, or ``images`` with
        ``labels`` of 480,000 rows holding the 3D Shapes values. Anything else with
        ``images`` + ``labels`` is the generic layout."""
        shape, _ = file.header("images")
        if len(shape) == 9 and shape[:6] == FACTOR_SIZES:
            return True
        label_shape, _ = file.header("labels")
        if label_shape != (math.prod(FACTOR_SIZES), len(FACTOR_SIZES)):
            return False
        return classes_from_values(file.read("labels")) is not None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str = "shapes3d") -> Shapes3D:
        """Load the public ``3dshapes.h5``, dlib's npz, or a file of their layout.

        Parameters
        ----------
        path : path-like
            HDF5 or npz with ``images`` (N, 64, 64, 3) uint8 (or dlib's (..., 64, 64, 3))
            and ``labels`` (N, 6) (or (..., 6)) of 3D Shapes values.
        name : str, default="shapes3d"

        Returns
        -------
        Shapes3D
            A grid over (10, 10, 10, 8, 4, 15) when all 480,000 combinations are present,
            else a labelled sample.

        Raises
        ------
        DataFileError
            Missing arrays, wrong shapes or dtypes, labels off the published values, a
            truncated or corrupt file.
        """
        file = ArrayFile(path)
        for key in ("images", "labels"):
            if key not in file:
                raise DataFileError(
                    file.path,
                    f"has no {key!r}: not the 3D Shapes layout (images + labels); it holds "
                    f"{', '.join(file.keys())}",
                )
        shape, dtype = file.header("images")
        if shape[-3:] != _IMAGE_SHAPE or len(shape) < 4 or dtype != np.uint8:
            raise DataFileError(
                file.path, f"'images' must be (N, 64, 64, 3) uint8; got {shape} {dtype}"
            )
        rows = math.prod(shape[:-3])
        labels = np.asarray(file.read("labels"))
        if labels.shape[-1:] != (len(FACTOR_SIZES),) or labels.size != rows * len(FACTOR_SIZES):
            raise DataFileError(
                file.path,
                f"'labels' must be ({rows}, 6) for {rows:,} images; got {labels.shape}",
            )
        if labels.dtype.kind not in "iuf":
            raise DataFileError(file.path, f"'labels' must be numbers; got {labels.dtype}")
        classes = _classes(labels.reshape(rows, len(FACTOR_SIZES)))
        if classes is None:
            raise DataFileError(
                file.path,
                "'labels' are not 3D Shapes factor values (hues in {0, 0.1, ..., 0.9}, scale "
                "linspace(0.75, 1.25, 8), shape 0..3, orientation linspace(-30, 30, 15)); "
                "load it as a generic file (images + factors) instead",
            )
        return cls(
            name=name,
            path=file.path,
            images_key="images",
            factor_names=FACTOR_NAMES,
            factor_sizes=FACTOR_SIZES,
            classes=classes,
            image_shape=_IMAGE_SHAPE,
            factor_values=FACTOR_VALUES,
            params={"format": "shapes3d"},
        )

    @classmethod
    def from_data_dir(cls, data_dir: str | os.PathLike[str] | None = None) -> Shapes3D:
        """The first of ``3dshapes/3dshapes.h5`` and dlib's ``3dshapes/look-at-object-room_
        ...npz`` found, folder by folder, under ``data_dir``, ``$DISBENCH_DATA``,
        ``$DISENTANGLEMENT_LIB_DATA``."""
        searched = data_dirs(data_dir)
        for folder in searched:
            for relative in (RELATIVE_PATH, DLIB_RELATIVE_PATH):
                if (folder / relative).is_file():
                    return cls.from_file(folder / relative)
        raise DataFileNotFoundError(
            RELATIVE_PATH,
            searched,
            f"{PUBLISHED_AT} (disentanglement_lib's {DLIB_RELATIVE_PATH} works too)",
        )
