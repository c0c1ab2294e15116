"""``evaluate``: one model on one data set with a suite of metrics, end to end.

The data path of DESIGN.md in one call: every metric's sampling plan is drawn first, the
union of their rows is extracted once (from the grid cache when there is one), each metric
is computed on its slice of the codes, and one record per metric goes to the store.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gin
import numpy as np
import pandas as pd

from disbench.adapters import Encoder, PrecomputedCodes, load_encoder
from disbench.benchmark.datasets import FiniteDataset, GroundTruthDataset, load_dataset
from disbench.benchmark.extraction import extract
from disbench.benchmark.plans import metric_generator, plan_metric
from disbench.benchmark.sampling import sampler_for
from disbench.benchmark.suites import Suite, active_metrics
from disbench.metrics import MetricSpec, get_metric, list_metrics
from disbench.metrics.sampling import FactorSampler, InterventionPlan
from disbench.results import Store, StoreError, make_record, record_key

#: Columns of the DataFrame ``evaluate`` returns: one row per metric score.
COLUMNS = ("model", "dataset", "metric", "score", "value", "seed")


def default_metrics() -> list[str]:
    """The default suite: every registered metric, observational and interventional."""
    return [spec.name for spec in list_metrics()]


def evaluate(
    encoder: Encoder | PrecomputedCodes | str,
    dataset: GroundTruthDataset | str | None = None,
    metrics: Sequence[str] | str | None = None,
    *,
    suite: Suite | None = None,
    seed: int = 0,
    store: Store | str | os.PathLike[str] | None = None,
    sample_sizes: Mapping[str, int] | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    cache: bool | str | os.PathLike[str] = True,
    force: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Evaluate a representation with a suite of metrics; one row per score.

    Parameters
    ----------
    encoder : Encoder, PrecomputedCodes or str
        A loaded encoder, precomputed codes with their factor rows, or a spec for
        ``load_encoder`` (a model file, ``module:attr``, an ``.npz`` of codes), loaded on
        ``device`` (default: CUDA when present).
    dataset : GroundTruthDataset or str, optional
        A data set or a name / path for ``load_dataset``. Optional for precomputed codes,
        whose factor rows come with them; given, it supplies factor names and checks sizes.
    metrics : sequence of str or str, optional
        Registry names (a comma-separated string is split); default: the suite's
        ``suite.metrics``, else ``default_metrics()``. Parameters come from the metric's
        defaults and the gin bindings (``mig.num_bins = 10``).
    suite : Suite, optional
        A metric suite (``disbench.benchmark.suites.load_suite``): its gin text is parsed
        for this call alone, and its label and text go into every record. Without one,
        the process's current gin bindings apply.
    seed : int, default=0
        Seeds every plan and every metric's generator (``plans.metric_generator``).
    store : Store or path, optional
        Where records go. Metrics whose record already exists (status ok) are read back
        instead of recomputed, unless ``force``.
    sample_sizes : mapping, optional
        Overrides of the registry's ``num_train`` / ``num_test`` for every metric (e.g.
        for a quick look); they are part of each record's parameters.
    batch_size, device, data_dir, cache, force, progress
        Extraction options (see ``disbench.benchmark.extraction.extract``); ``device``
        moves a torch encoder (``"cuda"``, ``"cpu"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``model, dataset, metric, score, value, seed``.

    Raises
    ------
    EvaluationError
        When one or more metrics failed; the others are in its ``partial`` frame and, with
        a store, the failures are recorded as error records.
    """
    options = {
        "seed": seed,
        "store": store,
        "sample_sizes": sample_sizes,
        "batch_size": batch_size,
        "device": device,
        "data_dir": data_dir,
        "cache": cache,
        "force": force,
        "progress": progress,
    }
    if suite is None:
        return _evaluate(encoder, dataset, metrics, suite_label=None, **options)
    with suite.active():
        return _evaluate(encoder, dataset, metrics, suite_label=suite.name, **options)


class EvaluationError(RuntimeError):
    """Some metrics of an evaluation failed; ``partial`` holds the scores of the others."""

    def __init__(self, message: str, partial: pd.DataFrame) -> None:
        super().__init__(message)
        self.partial = partial


@dataclass
class _Job:
    spec: MetricSpec
    params: dict[str, Any]
    sizes: dict[str, int]
    key: str
    plan: InterventionPlan | None = None
    rng: np.random.Generator | None = None


def _evaluate(
    encoder: Encoder | PrecomputedCodes | str,
    dataset: GroundTruthDataset | str | None,
    metrics: Sequence[str] | str | None,
    *,
    suite_label: str | None,
    seed: int,
    store: Store | str | os.PathLike[str] | None,
    sample_sizes: Mapping[str, int] | None,
    batch_size: int | None,
    device: str | None,
    data_dir: str | os.PathLike[str] | None,
    cache: bool | str | os.PathLike[str],
    force: bool,
    progress: bool | None,
) -> pd.DataFrame:
    if isinstance(encoder, str):
        encoder = load_encoder(encoder, device=device or "auto")
    elif device is not None and isinstance(encoder, Encoder):
        encoder = encoder.to(device)
    if isinstance(dataset, (str, os.PathLike)):
        dataset = load_dataset(dataset, data_dir=data_dir)
    codes_table = encoder if isinstance(encoder, PrecomputedCodes) else None
    if codes_table is None and dataset is None:
        raise ValueError("a data set is needed to evaluate an encoder; give one")
    if codes_table is not None:
        _check_codes_table(codes_table, dataset)
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)

    model_info = encoder.provenance()
    dataset_info = _dataset_info(dataset, codes_table)
    device_name = str(encoder.device) if isinstance(encoder, Encoder) else "cpu"
    model_name, dataset_name = encoder.name, dataset_info["name"]
    jobs = [_job(name, seed, sample_sizes, model_info, dataset_info) for name in _names(metrics)]
    config = {"suite": suite_label, "gin": gin.config_str()}

    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    pending = []
    # A model without a file hash (a Python function) may change under the same spec:
    # its records are written but never reused.
    reuse = store is not None and not force and model_info.get("sha256") is not None
    for job in jobs:
        existing = store.read(job.key) if reuse else None
        if existing is not None and existing.get("status") == "ok":
            rows += _score_rows(model_name, dataset_name, job.spec.name, existing["scores"], seed)
        else:
            pending.append(job)

    def record(
        job: _Job, timings: dict[str, float], result: Any = None, error: str | None = None
    ) -> None:
        if store is None:
            return
        outcome = {}
        if result is not None:
            outcome = {"scores": result.scores, "arrays": result.arrays, "notes": result.notes}
        try:
            store.write(
                make_record(
                    model=model_info,
                    dataset=dataset_info,
                    metric=job.spec.name,
                    metric_version=job.spec.version,
                    directions=job.spec.directions,
                    config=config,
                    params=job.params,
                    seed=seed,
                    timings=timings,
                    device=device_name,
                    error=error,
                    **outcome,
                )
            )
        except StoreError as store_error:
            failures.append(f"{job.spec.name}: not stored: {store_error}")

    def fail(job: _Job, message: str, timings: dict[str, float]) -> None:
        failures.append(f"{job.spec.name}: {message}")
        record(job, timings, error=message)

    if pending:
        sampler = (
            sampler_for(dataset)
            if codes_table is None
            else sampler_for(
                factors=codes_table.factors,
                factor_names=dataset_info["factor_names"],
                name=codes_table.name,
            )
        )
        start = time.perf_counter()
        planned = []
        for job in pending:
            job.rng = metric_generator(seed, job.spec.name)
            try:
                job.plan = plan_metric(job.spec, sampler, job.params, job.sizes, job.rng)
            except ValueError as error:  # this data set cannot serve this metric
                fail(job, f"cannot plan it here: {error}", {})
                continue
            planned.append(job)
        pending = planned
        plan_seconds = time.perf_counter() - start

    if pending:
        start = time.perf_counter()
        try:
            observed = _observe(
                encoder,
                dataset,
                [job.plan.rows for job in pending],
                batch_size=batch_size,
                cache=cache,
                progress=progress,
            )
        except (ValueError, TypeError, RuntimeError, OSError) as error:
            for job in pending:
                fail(job, f"extraction failed: {error}", {"plan": plan_seconds})
            partial = pd.DataFrame(rows, columns=list(COLUMNS))
            raise EvaluationError(
                f"extraction failed, so {len(pending)} of {len(jobs)} metrics could not be "
                f"computed: {error}",
                partial,
            ) from error
        extraction_seconds = time.perf_counter() - start

        for job, codes in zip(pending, observed, strict=True):
            timings = {"plan": plan_seconds, "extraction": extraction_seconds}
            start = time.perf_counter()
            try:
                result = _compute(job, codes, sampler)
            except (ValueError, TypeError, ArithmeticError) as error:  # bad data or options
                fail(job, str(error), timings)
                continue
            except Exception as error:  # recorded and reported; the other metrics go on
                fail(job, f"{type(error).__name__}: {error}", timings)
                continue
            timings["compute"] = time.perf_counter() - start
            record(job, timings, result)
            rows += _score_rows(model_name, dataset_name, job.spec.name, result.scores, seed)

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if failures:
        raise EvaluationError(
            f"{len(failures)} of {len(jobs)} metrics failed: " + "; ".join(failures), frame
        )
    return frame


def stored(
    encoder: Encoder | PrecomputedCodes,
    dataset: GroundTruthDataset | None,
    store: Store | str | os.PathLike[str],
    *,
    suite: Suite | None = None,
    seed: int = 0,
    sample_sizes: Mapping[str, int] | None = None,
) -> bool:
    """Whether ``evaluate`` with these arguments would find every record in ``store``.

    Models without a file hash are never stored (their records are not reused).
    """
    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    model_info = encoder.provenance()
    if model_info.get("sha256") is None:
        return False
    codes_table = encoder if isinstance(encoder, PrecomputedCodes) else None
    dataset_info = _dataset_info(dataset, codes_table)
    context = suite.active() if suite is not None else contextlib.nullcontext()
    with context:
        jobs = [_job(name, seed, sample_sizes, model_info, dataset_info) for name in _names(None)]
    return all(store.has_ok(job.key) for job in jobs)


def record_failure(
    model: str,
    dataset: str,
    store: Store | str | os.PathLike[str],
    message: str,
    *,
    suite: Suite | None = None,
    seed: int = 0,
    sample_sizes: Mapping[str, int] | None = None,
) -> None:
    """Error records for every metric of the active suite, when a model or data set could
    not even be loaded: what a sweep leaves for a job that failed before evaluating.

    The model is identified by its file's SHA-256 when the file can be read, else its spec.
    """
    from disbench.benchmark.datasets.paths import file_sha256

    if isinstance(store, (str, os.PathLike)):
        store = Store(store)
    path = Path(model)
    model_info = {
        "spec": model,
        "name": path.stem if path.suffix else model,
        "sha256": file_sha256(path) if path.is_file() else None,
        "options": {},
    }
    dataset_info = {"name": dataset, "fingerprint": None}
    for name in _names(None):
        job = _job(name, seed, sample_sizes, model_info, dataset_info)
        store.write(
            make_record(
                model=model_info,
                dataset=dataset_info,
                metric=name,
                metric_version=job.spec.version,
                directions=job.spec.directions,
                config={"suite": suite.name if suite else None, "gin": gin.config_str()},
                params=job.params,
                seed=seed,
                error=message,
            )
        )


def _names(metrics: Sequence[str] | str | None) -> list[str]:
    if metrics is None:
        return active_metrics() or default_metrics()
    if isinstance(metrics, str):
        metrics = [name.strip() for name in metrics.split(",") if name.strip()]
    if not metrics:
        raise ValueError("no metrics given; name at least one (see `disbench metrics`)")
    return list(dict.fromkeys(metrics))


def _job(
    name: str,
    seed: int,
    sample_sizes: Mapping[str, int] | None,
    model_info: dict[str, Any],
    dataset_info: dict[str, Any],
) -> _Job:
    spec = get_metric(name)
    # An observational metric's sizes are the registry's; an interventional metric's are
    # options of its plan (in points, not rows), whose evaluation set is ``num_eval``.
    requested = dict(sample_sizes or {})
    if "num_test" in requested and "num_eval" in spec.defaults:
        requested["num_eval"] = requested.pop("num_test")
    sizes = {key: int(requested.get(key, default)) for key, default in spec.sample_sizes.items()}
    overrides = {key: int(value) for key, value in requested.items() if key in spec.defaults}
    params = {**spec.defaults, **gin.get_bindings(spec.name), **sizes, **overrides}
    key = record_key(
        model=model_info,
        dataset=dataset_info,
        metric=spec.name,
        metric_version=spec.version,
        params=params,
        seed=seed,
    )
    return _Job(spec, params, sizes, key)


def _dataset_info(
    dataset: GroundTruthDataset | None, codes_table: PrecomputedCodes | None
) -> dict[str, Any]:
    if dataset is not None:
        return {**dataset.provenance(), "fingerprint": dataset.fingerprint}
    assert codes_table is not None
    names = codes_table.factor_names or tuple(
        f"factor_{k}" for k in range(codes_table.factors.shape[1])
    )
    # The sample is its factor rows: codes of several models on the same rows share it.
    digest = codes_table.factors_sha256
    return {
        "name": codes_table.dataset or f"factors@{digest[:8]}",
        "kind": "codes",
        "factor_names": list(names),
        "factor_sizes": [len(np.unique(column)) for column in codes_table.factors.T],
        "fingerprint": digest,
    }


def _check_codes_table(table: PrecomputedCodes, dataset: GroundTruthDataset | None) -> None:
    if dataset is None:
        return
    k = table.factors.shape[1]
    if k != dataset.num_factors:
        raise ValueError(
            f"the codes file has {k} factor columns but {dataset.name} has "
            f"{dataset.num_factors} ({', '.join(dataset.factor_names)})"
        )
    over = np.flatnonzero(table.factors.max(axis=0) >= np.asarray(dataset.factor_sizes))
    if over.size:
        raise ValueError(
            "the codes file's factor values exceed the data set's sizes in columns "
            + ", ".join(f"{dataset.factor_names[k]} (< {dataset.factor_sizes[k]})" for k in over)
        )


def _observe(
    encoder: Encoder | PrecomputedCodes,
    dataset: GroundTruthDataset | None,
    plans: list[dict[str, np.ndarray]],
    *,
    batch_size: int | None,
    cache: bool | str | os.PathLike[str],
    progress: bool | None,
) -> list[dict[str, np.ndarray]]:
    """The codes of every plan's rows, by name, from one extraction of all of them."""
    parts = [rows for plan in plans for rows in plan.values()]
    every = np.concatenate(parts)
    if isinstance(encoder, PrecomputedCodes):
        codes = np.asarray(encoder.codes[every], dtype=np.float32)
    elif isinstance(dataset, FiniteDataset):
        codes = extract(
            encoder, dataset, indices=every, batch_size=batch_size, cache=cache, progress=progress
        )
    else:
        assert dataset is not None
        codes = extract(
            encoder, dataset, factors=every, batch_size=batch_size, cache=cache, progress=progress
        )
    bounds = itertools.pairwise(np.cumsum([0] + [len(part) for part in parts]))
    pieces = iter(codes[a:b] for a, b in bounds)
    return [{name: next(pieces) for name in plan} for plan in plans]


def _compute(job: _Job, codes: dict[str, np.ndarray], sampler: FactorSampler) -> Any:
    spec, plan = job.spec, job.plan
    assert plan is not None
    data: dict[str, Any] = dict(codes)
    if spec.plan is None:
        data["factors"] = sampler.factors(plan.rows["codes"])
        if "test_codes" in plan.rows:
            data["test_factors"] = sampler.factors(plan.rows["test_codes"])
    else:
        data.update(plan.meta)
    if "rng" in inspect.signature(spec.function).parameters:
        data["rng"] = job.rng
    return spec.function(**data, **spec.options_for(spec.function, job.params))


def _score_rows(
    model: str, dataset: str, metric: str, scores: Mapping[str, Any], seed: int
) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "dataset": dataset,
            "metric": metric,
            "score": score,
            "value": np.nan if value is None else float(value),
            "seed": seed,
        }
        for score, value in scores.items()
    ]
