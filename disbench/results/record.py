"""The result record: one JSON document per (model, data set, metric, parameters, seed).

A record holds the scores and small arrays of one metric on one model and data set, with
the provenance needed to reproduce or compare the number: the model file's SHA-256 and
adapter options, the data set's files and factor sizes, the metric's parameters, the seed,
timings, the versions of the libraries that computed it, and a status (``"ok"``, or
``"error"`` with the message).

Records are plain JSON: NaN (a skipped factor in a per-factor array) is written as
``null``, numpy arrays as nested lists. This module depends on nothing else in disbench.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

#: Bumped whenever a field changes meaning; readers refuse records of a newer schema.
SCHEMA_VERSION = 1


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as Python lists and numbers, NaN/inf as None."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON of ``jsonable(value)``: equal content, equal text."""
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), allow_nan=False, default=str
    )


def record_key(
    *,
    model: dict[str, Any],
    dataset: dict[str, Any],
    metric: str,
    params: dict,
    seed: int,
    metric_version: int = 1,
) -> str:
    """The SHA-256 that names a record: model, data set, metric, parameters and seed.

    The model is identified by its file's SHA-256 (its spec when it has no file) and its
    adapter options; the data set by its fingerprint (its name and parameters when it has
    none); the metric by its name and version, which changes whenever its numbers do.
    Timings, library versions and the time written are not part of the key.
    """
    content = {
        "model": {
            "sha256": model.get("sha256") or model.get("spec"),
            "options": model.get("options", {}),
        },
        "dataset": dataset.get("fingerprint") or [dataset.get("name"), dataset.get("params")],
        "metric": [metric, metric_version],
        "params": params,
        "seed": seed,
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def environment(device: str | None = None) -> dict[str, Any]:
    """Versions of Python and the numerical libraries, and the device that computed."""
    return {"python": platform.python_version(), "packages": dict(_versions()), "device": device}


@functools.cache
def _versions() -> dict[str, str | None]:
    """The installed versions, looked up once per process (a few ms per lookup)."""
    packages = {}
    for name in ("disbench", "torch", "numpy", "scipy", "scikit-learn"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return packages


def make_record(
    *,
    model: dict[str, Any],
    dataset: dict[str, Any],
    metric: str,
    params: dict[str, Any],
    seed: int,
    metric_version: int = 1,
    directions: dict[str, int] | None = None,
    config: dict[str, Any] | None = None,
    scores: dict[str, float] | None = None,
    arrays: dict[str, Any] | None = None,
    notes: tuple[str, ...] | list[str] = (),
    timings: dict[str, float] | None = None,
    device: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A complete record (a JSON-able dict) with its ``key`` and ``status``.

    ``directions`` maps score names to 1 (higher is better), -1 (lower) or 0 (ranks
    nothing), for tables; scores it leaves out are better higher. ``config`` is the
    operative configuration: ``{"suite": label, "gin": text}``. ``error`` given: status
    ``"error"`` with that message, and no scores.
    """
    return jsonable(
        {
            "schema_version": SCHEMA_VERSION,
            "key": record_key(
                model=model,
                dataset=dataset,
                metric=metric,
                params=params,
                seed=seed,
                metric_version=metric_version,
            ),
            "status": "error" if error is not None else "ok",
            "error": error,
            "model": model,
            "dataset": dataset,
            "metric": {
                "name": metric,
                "version": metric_version,
                "params": params,
                "directions": dict(directions or {}),
            },
            "config": dict(config or {}),
            "seed": seed,
            "scores": {} if error is not None else dict(scores or {}),
            "arrays": {} if error is not None else dict(arrays or {}),
            "notes": list(notes),
            "timings": dict(timings or {}),
            "environment": environment(device),
            "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
