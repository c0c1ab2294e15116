"""dSprites (Matthey et al. 2017; Higgins et al. 2017, beta-VAE, ICLR).

The official file ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``
(https://github.com/deepmind/dsprites-dataset) holds ``imgs`` (737,280, 64, 64) uint8 in
{0, 1} and ``latents_classes`` (737,280, 6): colour (constant), shape 3, scale 6,
orientation 40, posX 32, posY 32, in row-major order. Any npz of that layout loads the
same way: ``latents_classes`` with 6 columns (the first constant, dropped) or 5; factor
sizes are ``max + 1`` of each column. A complete grid (in any row order) is a grid; other
rows (a random subset) are a labelled sample.

Observations are the 0/1 pixels as float32 (not divided by 255), shape (n, 1, 64, 64),
as disentanglement_lib's ``DSprites`` returns them (data/ground_truth/dsprites.py @86a644d).
The pickled ``metadata`` array of the official file is never read.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from disbench.benchmark.datasets.files import ArrayFile, ImageFileDataset
from disbench.benchmark.datasets.paths import DataFileError, resolve_data_file

#: Path under a data folder, as disentanglement_lib lays it out.
RELATIVE_PATH = "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
PUBLISHED_AT = (
    "https://github.com/deepmind/dsprites-dataset/raw/master/"
    "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
)
FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)


class DSprites(ImageFileDataset):
    """dSprites from the official npz or any npz of its layout (see the module docstring)."""

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str = "dsprites") -> DSprites:
        """Load an npz of the dSprites layout.

        Parameters
        ----------
        path : path-like
            An npz with ``imgs`` (N, 64, 64) uint8 in {0, 1} and ``latents_classes``
            (N, 6) (first column constant) or (N, 5) non-negative integers.
        name : str, default="dsprites"

        Returns
        -------
        DSprites
            A grid with sizes ``max + 1`` per column when the rows are a complete grid (the
            official file: (3, 6, 40, 32, 32)), else a labelled sample.

        Raises
        ------
        DataFileError
            Missing arrays, wrong shapes, a non-constant colour column, negative classes,
            a truncated or corrupt file.
        """
        file = ArrayFile(path)
        for key in ("imgs", "latents_classes"):
            if key not in file:
                raise DataFileError(
                    file.path,
                    f"has no {key!r}: not the dSprites layout (imgs + latents_classes); it "
                    f"holds {', '.join(file.keys())}",
                )
        shape, dtype = file.header("imgs")
        if len(shape) != 3 or dtype != np.uint8:
            raise DataFileError(file.path, f"'imgs' must be (N, 64, 64) uint8; got {shape} {dtype}")
        classes = np.asarray(file.read("latents_classes"))
        if classes.ndim != 2 or classes.shape[1] not in (5, 6) or classes.dtype.kind not in "iu":
            raise DataFileError(
                file.path,
                "'latents_classes' must be (N, 6) or (N, 5) integers; got "
                f"{classes.shape} {classes.dtype}",
            )
        if classes.shape[1] == 6:
            if classes.shape[0] and np.any(classes[:, 0] != classes[0, 0]):
                raise DataFileError(
                    file.path, "the first (colour) column of 'latents_classes' is not constant"
                )
            classes = classes[:, 1:]
        if classes.size and classes.min() < 0:
            raise DataFileError(file.path, "'latents_classes' holds negative classes")
        classes = classes.astype(np.int64)
        sizes = tuple(int(s) + 1 for s in classes.max(axis=0)) if classes.size else (0,) * 5
        return cls(
            name=name,
            path=file.path,
            images_key="imgs",
            factor_names=FACTOR_NAMES,
            factor_sizes=sizes,
            classes=classes,
            pixel_max=1.0,
        )

    @classmethod
    def from_data_dir(cls, data_dir: str | os.PathLike[str] | None = None) -> DSprites:
        """The official file, ``RELATIVE_PATH`` under ``data_dir``, ``$DISBENCH_DATA`` or
        ``$DISENTANGLEMENT_LIB_DATA``."""
        path = resolve_data_file(RELATIVE_PATH, data_dir=data_dir, published_at=PUBLISHED_AT)
        return cls.from_file(path)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "format": "dsprites"}
