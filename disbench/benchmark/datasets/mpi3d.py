"""MPI3D (Gondal et al. 2019, "On the Transfer of Inductive Bias from Simulation to the Real
World: a New Disentanglement Dataset", NeurIPS, arXiv:1906.03292).

Three variants, each one npz with a single array ``images`` (N, 64, 64, 3) uint8, the
complete factor grid in row-major order: ``mpi3d_toy``, ``mpi3d_realistic``,
``mpi3d_real`` (https://github.com/rr-learning/disentanglement_dataset). The grid sizes
follow from N, not from the variant's name: 1,036,800 rows are
(6, 6, 2, 3, 3, 40, 40) — the published files — and 460,800 rows (4, 4, 2, 3, 3, 40, 40),
the smaller simulated sets of the 2019 challenge.

Known difference: disentanglement_lib (data/ground_truth/mpi3d.py @86a644d) hard-codes
(4, 4, ...) for ``mpi3d_toy`` and ``mpi3d_realistic``, which does not match the
1,036,800-image files published since; the sizes here come from the row count.

The files are large (12.7 GB for 1,036,800 images); a file saved uncompressed is
memory-mapped in place, a compressed one decompressed once into the cache folder.
Observations: pixels / 255 as float32, (n, 3, 64, 64).
"""

from __future__ import annotations

import math
import os

import numpy as np

from disbench.benchmark.datasets.files import ArrayFile, ImageFileDataset
from disbench.benchmark.datasets.paths import DataFileError, resolve_data_file

FACTOR_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
#: Grid sizes by row count.
SIZES_BY_ROWS = {
    1_036_800: (6, 6, 2, 3, 3, 40, 40),
    460_800: (4, 4, 2, 3, 3, 40, 40),
}
VARIANTS = ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real")
#: Path of each variant under a data folder, as disentanglement_lib lays them out.
RELATIVE_PATHS = {variant: f"{variant}/{variant}.npz" for variant in VARIANTS}
PUBLISHED_AT = {
    "mpi3d_toy": "https://storage.googleapis.com/disentanglement_dataset/data_npz/"
    "sim_toy_64x_ordered_without_heldout_factors.npz",
    "mpi3d_realistic": "https://storage.googleapis.com/disentanglement_dataset/data_npz/"
    "sim_realistic_64x_ordered_without_heldout_factors.npz",
    "mpi3d_real": "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
    "mpi3d_real.npz",
}


def factor_sizes_for_rows(rows: int) -> tuple[int, ...]:
    """The MPI3D grid sizes for a file of ``rows`` images, or ``ValueError``.

    Examples
    --------
    >>> factor_sizes_for_rows(1_036_800)
    (6, 6, 2, 3, 3, 40, 40)
    """
    try:
        return SIZES_BY_ROWS[rows]
    except KeyError:
        known = ", ".join(f"{n:,} = {list(s)}" for n, s in SIZES_BY_ROWS.items())
        raise ValueError(
            f"an MPI3D file of {rows:,} images is not a known grid; known counts: {known}"
        ) from None


class MPI3D(ImageFileDataset):
    """One MPI3D variant from its npz (see the module docstring)."""

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None) -> MPI3D:
        """Load an MPI3D npz: ``images`` (N, 64, 64, 3) uint8, N = 1,036,800 or 460,800.

        Parameters
        ----------
        path : path-like
        name : str, optional
            Default: the file's stem when it is a variant's name, else ``"mpi3d"``.

        Raises
        ------
        DataFileError
            No ``images``, a wrong shape or dtype, an unknown row count, a truncated or
            corrupt file.
        """
        file = ArrayFile(path)
        if "images" not in file:
            raise DataFileError(
                file.path, f"has no 'images' (MPI3D layout); it holds {', '.join(file.keys())}"
            )
        shape, dtype = file.header("images")
        if len(shape) != 4 or shape[1:] != (64, 64, 3) or dtype != np.uint8:
            raise DataFileError(
                file.path, f"'images' must be (N, 64, 64, 3) uint8; got {shape} {dtype}"
            )
        try:
            sizes = factor_sizes_for_rows(shape[0])
        except ValueError as error:
            raise DataFileError(file.path, str(error)) from None
        if name is None:
            name = file.path.stem if file.path.stem in VARIANTS else "mpi3d"
        return cls(
            name=name,
            path=file.path,
            images_key="images",
            factor_names=FACTOR_NAMES,
            factor_sizes=sizes,
            params={"format": "mpi3d", "rows": math.prod(sizes)},
        )

    @classmethod
    def from_data_dir(
        cls, variant: str = "mpi3d_toy", data_dir: str | os.PathLike[str] | None = None
    ) -> MPI3D:
        """``<variant>/<variant>.npz`` under ``data_dir``, ``$DISBENCH_DATA`` or
        ``$DISENTANGLEMENT_LIB_DATA``; ``variant`` is one of ``VARIANTS``."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown MPI3D variant {variant!r}; expected one of {VARIANTS}")
        path = resolve_data_file(
            RELATIVE_PATHS[variant], data_dir=data_dir, published_at=PUBLISHED_AT[variant]
        )
        return cls.from_file(path, name=variant)
