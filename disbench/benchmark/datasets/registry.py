"""The data set registry: every data set by name, where its files live, and how to load it.

Each entry names its loader as a ``"module:attribute"`` string, imported only when the
data set is loaded or listed, so a loader's dependencies (and its module) are needed only
by the sets that use them. File-backed loaders take ``data_dir=`` and find their files
under ``data_dir``, ``$DISBENCH_DATA``, ``$DISENTANGLEMENT_LIB_DATA`` (see ``paths``);
procedural ones take their options.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.benchmark.datasets.base import GroundTruthDataset
from disbench.benchmark.datasets.paths import data_dirs

_PACKAGE = "disbench.benchmark.datasets"
_NORB_FILES = tuple(
    f"small_norb/smallnorb-{chunk}-{part}.mat"
    for chunk in ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
    for part in ("dat", "cat", "info")
)


@dataclass(frozen=True)
class _Entry:
    """A registered data set: its loader and what ``list_datasets`` shows without loading it.

    ``file_sets`` lists alternative sets of files (paths relative to a data folder); the
    data set is present when every file of one set is in one data folder. Procedural
    entries have none and take their factors from an instance built with defaults.
    """

    name: str
    loader: str
    description: str
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    file_sets: tuple[tuple[str, ...], ...] = ()
    published_at: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def procedural(self) -> bool:
        return not self.file_sets


_MPI3D_NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
_MPI3D_URL = "https://storage.googleapis.com/disentanglement_dataset/"

_ENTRIES = (
    _Entry(
        "dsprites",
        "dsprites:DSprites.from_data_dir",
        "dSprites (Matthey et al. 2017): 737,280 binary 2-D sprites, the complete grid",
        ("shape", "scale", "orientation", "posX", "posY"),
        (3, 6, 40, 32, 32),
        (("dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",),),
        "https://github.com/deepmind/dsprites-dataset/raw/master/"
        "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
    ),
    _Entry(
        "shapes3d",
        "shapes3d:Shapes3D.from_data_dir",
        "3D Shapes (Burgess & Kim 2018): 480,000 rendered scenes, the complete grid "
        "(the public h5, or disentanglement_lib's npz)",
        ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"),
        (10, 10, 10, 8, 4, 15),
        (
            ("3dshapes/3dshapes.h5",),
            (
                "3dshapes/look-at-object-room_floor-hueXwall-hueXobj-hueXobj-sizeXobj-"
                "shapeXview-azi.npz",
            ),
        ),
        "https://storage.googleapis.com/3d-shapes/3dshapes.h5",
    ),
    _Entry(
        "mpi3d_toy",
        "mpi3d:MPI3D.from_data_dir",
        "MPI3D toy (Gondal et al. 2019): simple renders of a robot arm's object, 1,036,800 images",
        _MPI3D_NAMES,
        (6, 6, 2, 3, 3, 40, 40),
        (("mpi3d_toy/mpi3d_toy.npz",),),
        _MPI3D_URL + "data_npz/sim_toy_64x_ordered_without_heldout_factors.npz",
        {"variant": "mpi3d_toy"},
    ),
    _Entry(
        "mpi3d_realistic",
        "mpi3d:MPI3D.from_data_dir",
        "MPI3D realistic (Gondal et al. 2019): realistic renders, 1,036,800 images",
        _MPI3D_NAMES,
        (6, 6, 2, 3, 3, 40, 40),
        (("mpi3d_realistic/mpi3d_realistic.npz",),),
        _MPI3D_URL + "data_npz/sim_realistic_64x_ordered_without_heldout_factors.npz",
        {"variant": "mpi3d_realistic"},
    ),
    _Entry(
        "mpi3d_real",
        "mpi3d:MPI3D.from_data_dir",
        "MPI3D real (Gondal et al. 2019): photographs of a real robot arm, 1,036,800 images",
        _MPI3D_NAMES,
        (6, 6, 2, 3, 3, 40, 40),
        (("mpi3d_real/mpi3d_real.npz",),),
        _MPI3D_URL + "Final_Dataset/mpi3d_real.npz",
        {"variant": "mpi3d_real"},
    ),
    _Entry(
        "cars3d",
        "cars3d:Cars3D.from_folder",
        "Cars3D (Reed et al. 2015): 183 car models rendered from 96 views, resized to 64",
        ("elevation", "azimuth", "object"),
        (4, 24, 183),
        (("cars",),),
        "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
    ),
    _Entry(
        "smallnorb",
        "smallnorb:SmallNORB.from_folder",
        "SmallNORB (LeCun et al. 2004): toys photographed under varying pose and lighting, "
        "resized to 64; the instance is a hidden nuisance",
        ("category", "elevation", "azimuth", "lighting"),
        (5, 9, 18, 6),
        (_NORB_FILES,),
        "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/",
    ),
    _Entry(
        "threedots",
        "threedots:ThreeDots",
        "three-dots (Rhodes & Lee 2021): three black discs on white, rendered on demand",
    ),
    _Entry(
        "toy",
        "toy:Toy",
        "toy: a fixed random nonlinear mixing of the factors, rendered on demand (for tests)",
    ),
)
_REGISTRY = {entry.name: entry for entry in _ENTRIES}


@dataclass(frozen=True)
class DatasetInfo:
    """What ``list_datasets`` reports about one registered data set.

    Attributes
    ----------
    name : str
        The registered name, as ``load_dataset`` and the CLI take it.
    description : str
    factor_names : tuple of str
    factor_sizes : tuple of int
    files : tuple of str
        Paths relative to a data folder that the loader reads; empty for procedural sets.
        Where there are alternatives (3D Shapes: the h5 or dlib's npz) the first is listed.
    present : bool
        Whether the files are found (always ``True`` for procedural sets).
    published_at : str or None
        Where the files are published.
    location : Path or None
        The data folder they were found in.
    """

    name: str
    description: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    files: tuple[str, ...]
    present: bool
    published_at: str | None
    location: Path | None = None

    @property
    def status(self) -> str:
        """One line: where the files are, or that they are missing and where to get them."""
        if not self.files:
            return "procedural (no files)"
        if self.present:
            return f"present in {self.location}"
        return (
            f"missing ({', '.join(self.files)}); download by hand from {self.published_at} "
            "into --data-dir or $DISBENCH_DATA"
        )


def dataset_names() -> list[str]:
    """The registered names, in listing order."""
    return list(_REGISTRY)


def list_datasets(*, data_dir: str | os.PathLike[str] | None = None) -> list[DatasetInfo]:
    """Every registered data set: factors, files, whether they are present, where published.

    Parameters
    ----------
    data_dir : path-like, optional
        Searched before ``$DISBENCH_DATA`` and ``$DISENTANGLEMENT_LIB_DATA``.

    Returns
    -------
    list of DatasetInfo
        File-backed sets report their published factors without reading any file;
        procedural sets are built with their defaults to report theirs.

    Examples
    --------
    >>> [info.name for info in list_datasets()][:2]
    ['dsprites', 'shapes3d']
    """
    infos = []
    for entry in _ENTRIES:
        if entry.procedural:
            dataset = _factory(entry)()
            infos.append(
                DatasetInfo(
                    entry.name,
                    entry.description,
                    tuple(dataset.factor_names),
                    tuple(dataset.factor_sizes),
                    (),
                    True,
                    None,
                )
            )
            continue
        location = _locate(entry, data_dir)
        infos.append(
            DatasetInfo(
                entry.name,
                entry.description,
                entry.factor_names,
                entry.factor_sizes,
                entry.file_sets[0],
                location is not None,
                entry.published_at,
                location,
            )
        )
    return infos


def load_dataset(
    name_or_path: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> GroundTruthDataset:
    """A data set by registered name, or from a file recognised by its content.

    Parameters
    ----------
    name_or_path : str or path-like
        A name of ``list_datasets()`` (``"dsprites"``, ``"shapes3d"``, ``"mpi3d_toy"``,
        ``"threedots"``, ...) or an existing ``.npz`` / ``.h5`` file (see
        ``files.load_path`` for the layouts recognised).
    data_dir : path-like, optional
        Folder searched first for a named set's files (the CLI's ``--data-dir``), then
        ``$DISBENCH_DATA``, then ``$DISENTANGLEMENT_LIB_DATA``.
    **options
        Passed to the loader: e.g. ``Toy``'s parameters, or ``factor_names=`` for a
        generic file.

    Returns
    -------
    GroundTruthDataset

    Raises
    ------
    ValueError
        An unknown name that is not a file (the message lists the names), or options the
        loader does not take.
    DataFileNotFoundError
        A named set's files are missing (the message names the folders searched and where
        the files are published).

    Examples
    --------
    >>> load_dataset("toy").name
    'toy'
    """
    name = os.fspath(name_or_path)
    entry = _REGISTRY.get(name)
    if entry is None:
        path = Path(name).expanduser()
        if path.is_file():
            from disbench.benchmark.datasets.files import load_path

            return load_path(path, **options)
        raise ValueError(
            f"unknown data set {name!r}: not a registered name and no such file. "
            f"Registered: {', '.join(_REGISTRY)}"
        )
    factory = _factory(entry)
    arguments = dict(entry.fixed)
    if not entry.procedural:
        arguments["data_dir"] = data_dir
    _check_options(entry, factory, options)
    return factory(**arguments, **options)


def _factory(entry: _Entry) -> Callable[..., GroundTruthDataset]:
    module_name, attribute = entry.loader.split(":")
    target: Any = importlib.import_module(f"{_PACKAGE}.{module_name}")
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def _check_options(
    entry: _Entry, factory: Callable[..., GroundTruthDataset], options: dict[str, Any]
) -> None:
    parameters = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    reserved = {"data_dir", *entry.fixed}
    accepted = [
        name
        for name, p in parameters.items()
        if name not in reserved
        and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"{entry.name} does not take the options {', '.join(unknown)}; it takes "
            f"{', '.join(accepted) or 'none'}"
        )


def _locate(entry: _Entry, data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The first data folder holding every file of one of the entry's file sets."""
    for folder in data_dirs(data_dir):
        for files in entry.file_sets:
            if all((folder / relative).exists() for relative in files):
                return folder
    return None
