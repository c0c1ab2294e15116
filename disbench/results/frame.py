"""A store as a tidy pandas DataFrame: one row per score of every successful record.

``load`` is what every table and plot starts from. A record file that cannot be read —
corrupt JSON, a foreign JSON file, a record of a newer schema — is reported with its file
name and the reason (a ``SkippedRecordWarning``) and left out; it never stops a table.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from disbench.results.record import canonical_json
from disbench.results.store import Store, StoreError, default_store

#: The columns of ``load``'s frame, in order.
COLUMNS = (
    "model",
    "dataset",
    "metric",
    "variant",
    "score",
    "value",
    "seed",
    "direction",
    "suite",
    "model_id",
    "dataset_id",
    "params",
    "key",
    "written",
)


class SkippedRecordWarning(UserWarning):
    """A file in the store was not a readable record and was left out."""


def load(store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every score in ``store`` as a tidy DataFrame, one row per (record, score).

    Parameters
    ----------
    store : Store or path, optional
        Default: ``$DISBENCH_STORE``, else ``./disbench-results``.

    Returns
    -------
    pandas.DataFrame
        Columns:

        - ``model``: a label unique per model — its name, or where two models share a name,
          the shortest tail of their paths that tells them apart;
        - ``dataset``: its name, or where data sets of one name differ (``toy`` with two
          seeds), the name with the parameters that differ: ``toy(seed=1)``;
        - ``metric``, ``score``, ``value`` (float, NaN where the metric gave none), ``seed``;
        - ``variant``: empty, unless the store holds one metric with several parameter
          sets on one data set; then the suite that set them (``dlib``, ``carbonneau``) or,
          where that does not tell them apart, a short hash of the parameters;
        - ``direction``: 1 when higher is better, -1 lower, 0 when the score ranks nothing;
        - ``suite``, ``model_id`` (SHA-256 or spec), ``dataset_id`` (fingerprint or name),
          ``params`` (canonical JSON), ``key``, ``written``.

        Error records are not in it; ``failures`` lists them.

    Warns
    -----
    SkippedRecordWarning
        For each file that is not a readable record: its name and the reason.

    Examples
    --------
    >>> import tempfile
    >>> from disbench.results import Store, make_record
    >>> store = Store(tempfile.mkdtemp())
    >>> for seed, value in enumerate([0.25, 0.5]):
    ...     _ = store.write(make_record(model={"spec": "runs/vae.pt", "name": "vae"},
    ...         dataset={"name": "dsprites"}, metric="mig", params={"num_bins": 20},
    ...         seed=seed, scores={"mig": value}))
    >>> load(store)[["model", "dataset", "metric", "score", "value", "seed", "params"]]
      model   dataset metric score  value  seed           params
    0   vae  dsprites    mig   mig   0.50     1  {"num_bins":20}
    1   vae  dsprites    mig   mig   0.25     0  {"num_bins":20}
    """
    return _frame(_read(store))


def failures(store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The error records in ``store``: ``model, dataset, metric, seed, error, key``.

    Warns (``SkippedRecordWarning``) for each file that is not a readable record, as ``load``.
    """
    return _failures(_failure_row(record) for _, record in _read(store) if _failed(record))


def load_with_failures(
    store: Store | str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(load(store), failures(store))`` from one pass over the store's files.

    Reads every file once (the cost of a table over a large store is mostly JSON parsing)
    and warns once per unreadable file.
    """
    errors: list[dict[str, Any]] = []
    frame = _frame(_read(store), errors)
    return frame, _failures(errors)


def _frame(
    read: Iterable[tuple[str, dict[str, Any]]], errors: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """The tidy frame of the records in ``read``; their failures appended to ``errors``."""
    # Built column by column: a list per column costs far less than a dict per row. Each
    # record is dropped as soon as its rows are taken: kept, 10,000 parsed records are
    # 200,000 live dicts and lists that every run of the garbage collector goes over
    # again, which costs several times the parsing itself.
    columns: dict[str, list[Any]] = {
        name: [] for name in COLUMNS if name not in ("model", "dataset", "variant")
    }
    models: dict[str, dict[str, Any]] = {}
    datasets: dict[str, dict[str, Any]] = {}
    params: dict[str, str] = {}
    for name, record in read:
        if _failed(record):
            if errors is not None:
                errors.append(_failure_row(record))
            continue
        if record.get("status") != "ok":
            continue
        try:
            _add_score_rows(columns, record, models, datasets, params)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            warnings.warn(
                f"skipped {name}: a malformed record ({type(error).__name__}: {error})",
                SkippedRecordWarning,
                stacklevel=3,
            )
    numeric = {"value": float, "seed": np.int64, "direction": np.int64}
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=numeric.get(name, str)) for name, values in columns.items()}
    )
    frame["model"] = frame["model_id"].map(_model_labels(models)).astype(str)
    frame["dataset"] = frame["dataset_id"].map(_dataset_labels(datasets)).astype(str)
    frame["variant"] = _variants(frame).astype(str)
    return frame[list(COLUMNS)]


def _failed(record: dict[str, Any]) -> bool:
    return record.get("status") == "error"


def _failure_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": (record.get("model") or {}).get("name"),
        "dataset": (record.get("dataset") or {}).get("name"),
        "metric": (record.get("metric") or {}).get("name"),
        "seed": record.get("seed"),
        "error": record.get("error"),
        "key": record.get("key"),
    }


def _failures(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["model", "dataset", "metric", "seed", "error", "key"])


def find_records(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    dataset: str | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """The successful records matching a model label, data set and metric name."""
    read = list(_read(store))
    chosen = _frame(read)
    for column, wanted in (("model", model), ("dataset", dataset), ("metric", metric)):
        if wanted is not None:
            chosen = chosen[chosen[column] == wanted]
    keys = set(chosen["key"])
    return [record for _, record in read if record.get("key") in keys]


def _read(store: Store | str | os.PathLike[str] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(file name, record)`` for every readable record file, one file at a time; a
    ``SkippedRecordWarning`` for each of the others."""
    if store is None:
        store = default_store()
    if not isinstance(store, Store):
        store = Store(store)
    for path in store.paths():
        try:
            record = store.load_file(path)
        except StoreError as error:
            # The message starts with the file name and gives the reason.
            warnings.warn(f"skipped {error}", SkippedRecordWarning, stacklevel=4)
            continue
        yield path.name, record


def _add_score_rows(
    columns: dict[str, list[Any]],
    record: dict[str, Any],
    models: dict[str, dict[str, Any]],
    datasets: dict[str, dict[str, Any]],
    params: dict[str, str],
) -> None:
    """Append one row per score of ``record`` to ``columns``; raises on a malformed record
    before appending anything. ``models`` and ``datasets`` collect the models and data sets
    by id; ``params`` caches the
    canonical JSON of parameter sets by their ``repr``."""
    model, metric = record["model"], record["metric"]
    model_id = str(model.get("sha256") or model.get("spec") or model["name"])
    directions = metric.get("directions") or {}
    scores = record["scores"]
    values = [np.nan if value is None else float(value) for value in scores.values()]
    signs = [int(directions.get(score, 1)) for score in scores]
    seed = int(record["seed"])
    config = record.get("config") or {}
    # Records of one metric repeat one parameter set, in one key order: its repr (fast, C)
    # finds the canonical JSON (slow, Python) computed before.
    metric_params = metric.get("params") or {}
    text = params.get(repr(metric_params))
    if text is None:
        text = params[repr(metric_params)] = canonical_json(metric_params)
    dataset = record["dataset"]
    dataset_id = str(dataset.get("fingerprint") or dataset["name"])
    common = {
        "dataset_id": dataset_id,
        "metric": str(metric["name"]),
        "seed": seed,
        "suite": str(config.get("suite") or ""),
        "model_id": model_id,
        "params": text,
        "key": record["key"],
        "written": record.get("written"),
    }
    models.setdefault(model_id, model)
    datasets.setdefault(dataset_id, dataset)
    n = len(values)
    for column, value in common.items():
        columns[column].extend([value] * n)
    columns["score"].extend(map(str, scores))
    columns["value"].extend(values)
    columns["direction"].extend(signs)


def _model_labels(models: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A label per model id: the name, or where models share a name, the shortest path tail
    that tells them apart (``name@<hash>`` for models of one path or none)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for model_id, model in models.items():
        by_name[str(model.get("name") or model_id)].append(model_id)
    labels = {}
    for name, ids in by_name.items():
        if len(ids) == 1:
            labels[ids[0]] = name
            continue
        parts = {
            model_id: PurePath(str(models[model_id].get("spec") or "")).parts for model_id in ids
        }
        # one path, several files (a model overwritten between runs), or no path: the hash
        paths = [p for p in parts.values() if p]
        for model_id, p in list(parts.items()):
            if not p or paths.count(p) > 1:
                labels[model_id] = f"{name}@{model_id[:8]}"
                del parts[model_id]
        for tail in range(1, max(map(len, parts.values()), default=0) + 1):
            candidate = {model_id: str(PurePath(*p[-tail:])) for model_id, p in parts.items()}
            if len(set(candidate.values())) == len(candidate):
                labels.update(candidate)
                break
    return labels


def _dataset_labels(datasets: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A label per data set id: the name, or where data sets share a name, the name with
    the parameters that differ (``toy(seed=1)``), else with a digest of the content."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for dataset_id, dataset in datasets.items():
        by_name[str(dataset["name"])].append(dataset_id)
    labels = {}
    for name, ids in by_name.items():
        if len(ids) == 1:
            labels[ids[0]] = name
            continue
        params = {i: datasets[i].get("params") or {} for i in ids}
        keys = sorted({key for p in params.values() for key in p})
        differ = [k for k in keys if len({canonical_json(p.get(k)) for p in params.values()}) > 1]
        named = {i: f"{name}({', '.join(f'{k}={params[i].get(k)}' for k in differ)})" for i in ids}
        if not differ or not all(params.values()) or len(set(named.values())) < len(ids):
            named = {i: f"{name}@{i[:8]}" for i in ids}
        labels.update(named)
    return labels


def _variants(frame: pd.DataFrame) -> pd.Series:
    """Labels that tell one metric's parameter sets apart on one data set ("" if one)."""
    variant = pd.Series("", index=frame.index, dtype=object)
    sets = frame.groupby(["dataset", "metric"], sort=False)["params"].nunique()
    for dataset, metric in sets.index[sets > 1]:
        group = frame[(frame["dataset"] == dataset) & (frame["metric"] == metric)]
        suites = group.groupby("params", sort=False)["suite"].unique()
        # a parameter set run by exactly one (named) suite is labelled by that suite
        own_suite = {p: s[0] for p, s in suites.items() if len(s) == 1 and s[0]}
        labelled = list(own_suite.values())
        for p in suites.index:
            digest = "#" + hashlib.sha256(p.encode()).hexdigest()[:6]
            suite = own_suite.get(p)
            if suite is None:
                label = digest
            elif labelled.count(suite) == 1:
                label = suite
            else:  # one suite ran the metric with several parameter sets
                label = suite + digest
            variant[group.index[group["params"] == p]] = label
    return variant
