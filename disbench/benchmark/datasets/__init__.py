"""Ground-truth-factor data sets: factors in, observations out (DESIGN.md, "Data sets").

``load_dataset(name_or_path)`` loads a registered set (``list_datasets()``) or a file
recognised by its content; files are found under ``data_dir``, ``$DISBENCH_DATA``,
``$DISENTANGLEMENT_LIB_DATA``.
"""

from disbench.benchmark.datasets.base import FiniteDataset, GroundTruthDataset
from disbench.benchmark.datasets.paths import DataFileError, DataFileNotFoundError
from disbench.benchmark.datasets.registry import DatasetInfo, list_datasets, load_dataset

__all__ = [
    "DataFileError",
    "DataFileNotFoundError",
    "DatasetInfo",
    "FiniteDataset",
    "GroundTruthDataset",
    "list_datasets",
    "load_dataset",
]
