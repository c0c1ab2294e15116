"""disbench: disentanglement metrics for trained representation-learning models.

The public API follows DESIGN.md's data path: ``load_encoder`` and ``load_dataset`` turn
files into an encoder and a ground-truth data set, ``evaluate`` runs a metric suite on them
and returns a tidy DataFrame, and ``metrics`` and ``estimators`` are plain functions over
arrays for users who already have codes.

The names are imported on first use, so ``import disbench`` (and ``disbench --help``) does
not pay for torch and scikit-learn until they are needed.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("disbench")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"

_PUBLIC = {
    "estimators": ("disbench.estimators", None),
    "metrics": ("disbench.metrics", None),
    "evaluate": ("disbench.benchmark.evaluate", "evaluate"),
    "load_encoder": ("disbench.adapters", "load_encoder"),
    "load_codes": ("disbench.adapters", "load_codes"),
    "load_dataset": ("disbench.benchmark.datasets", "load_dataset"),
    "list_datasets": ("disbench.benchmark.datasets", "list_datasets"),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'disbench' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = importlib.import_module(module)
    return value if attribute is None else getattr(value, attribute)


def __dir__() -> list[str]:
    return sorted(__all__)
