"""Sweeps: many models × data sets × seeds, configured with gin, resumable.

A sweep file binds lists under ``sweep.``::

    sweep.models = ["runs/*/model.pt", "threedots_vae"]   # paths, globs, specs
    sweep.datasets = ["dsprites", {"name": "toy", "seed": 1}]   # names, files, or options
    sweep.suites = ["dlib"]                                # built-in names or .gin paths
    sweep.seeds = [0, 1, 2]
    sweep.store = "results"                                # default: the default store
    sweep.sample_sizes = {"num_train": 2000}               # optional, as for evaluate
    sweep.model_options = {"input_layout": "nhwc"}         # optional, for load_encoder
    mig.num_bins = 10                                      # metric options: every job

It expands into one ``Job`` per (model, data set, seed), which runs every metric of each
suite on its extraction (a finite grid's codes are cached, so suites after the first are
lookups). Jobs are idempotent: a job whose records are all in the store is skipped, so an
interrupted sweep resumes where it stopped; a job that fails writes error records and the
sweep goes on. Jobs are plain data (picklable) and ``run_job`` is a plain function, so any
executor (``disbench.benchmark.executors``) can run them.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gin

from disbench.benchmark.executors import SlurmOptions, run_jobs
from disbench.benchmark.suites import Suite, _parsed, load_suite

#: Job outcomes.
DONE, SKIPPED, FAILED = "done", "skipped", "failed"

# gin's state is global to a process: jobs that share one (threads of a Dask worker) take
# turns, each parsing its own configuration.
_GIN_LOCK = threading.Lock()


@gin.configurable("sweep", module="disbench")
def _sweep(
    models: Sequence[str] = (),
    datasets: Sequence[str | Mapping[str, Any]] = (),
    suites: Sequence[str] = ("default",),
    seeds: Sequence[int] = (0,),
    store: str | None = None,
    sample_sizes: Mapping[str, int] | None = None,
    model_options: Mapping[str, Any] | None = None,
    data_dir: str | None = None,
    batch_size: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """What a sweep file binds; read back by ``load_sweep``."""
    return dict(locals())


@dataclass(frozen=True)
class Job:
    """One model on one data set with one seed: every metric of every suite."""

    model: str
    dataset: str | Mapping[str, Any]
    seed: int
    suites: tuple[Suite, ...]
    store: str
    sample_sizes: Mapping[str, int] | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    batch_size: int | None = None
    device: str = "auto"

    @property
    def label(self) -> str:
        """``model on dataset, seed s`` for progress and summaries."""
        return f"{self.model} on {_dataset_name(self.dataset)}, seed {self.seed}"


@dataclass(frozen=True)
class JobResult:
    """What became of a job: ``done``, ``skipped`` (all stored) or ``failed`` (a message)."""

    label: str
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep: its jobs, and the file it came from."""

    source: str
    jobs: tuple[Job, ...]
    store: str


def load_sweep(
    path: str | os.PathLike[str],
    bindings: Sequence[str] = (),
    *,
    store: str | os.PathLike[str] | None = None,
) -> Sweep:
    """Parse a sweep file and expand it into jobs.

    Parameters
    ----------
    path : path-like
        The sweep's gin file. Relative model paths and globs, data set files and the store
        resolve against the current folder; jobs hold them as absolute paths.
    bindings : sequence of str
        Extra gin bindings (``--gin-param``), applied after the file: sweep lists or
        metric options.
    store : path-like, optional
        Overrides ``sweep.store``; default ``$DISBENCH_STORE`` or ``./disbench-results``.

    Raises
    ------
    ValueError
        A file that does not parse, a sweep list that is empty or not a list, an unknown
        metric, or a model glob matching nothing.
    """
    from disbench.results.store import default_store

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no sweep file {str(path)!r}")
    text = "\n".join([path.read_text(encoding="utf-8"), *bindings])
    try:
        with _parsed(text):
            spec = _sweep()
    except (ValueError, KeyError, SyntaxError, TypeError) as error:
        raise ValueError(f"the sweep {path} does not parse: {error}") from None
    for name in ("models", "datasets", "suites", "seeds"):
        if isinstance(spec[name], (str, Mapping)) or not isinstance(spec[name], Sequence):
            raise ValueError(
                f"sweep.{name} must be a list, e.g. sweep.{name} = [...]; got {spec[name]!r}"
            )
        if not spec[name]:
            raise ValueError(f"the sweep {path} binds no sweep.{name}; give at least one")
    # Metric options in the sweep file reach every job: the suite's text comes first, the
    # sweep's after it (its sweep.* bindings are inert there). Parsed together here, so
    # that a metric the sweep names is checked before any job runs.
    suites = tuple(
        load_suite(source, [text], name=load_suite(source).name) for source in spec["suites"]
    )
    # Absolute paths: workers elsewhere (a Dask scheduler's, Slurm's) may start in
    # another folder.
    store = os.path.abspath(store or spec["store"] or default_store())
    data_dir = os.path.abspath(spec["data_dir"]) if spec["data_dir"] else None
    datasets = [_absolute_dataset(dataset) for dataset in spec["datasets"]]
    jobs = tuple(
        Job(
            model=model,
            dataset=dataset,
            seed=int(seed),
            suites=suites,
            store=store,
            sample_sizes=spec["sample_sizes"],
            model_options=dict(spec["model_options"] or {}),
            data_dir=data_dir,
            batch_size=spec["batch_size"],
            device=spec["device"],
        )
        for model in _expand_models(spec["models"])
        for dataset in datasets
        for seed in spec["seeds"]
    )
    return Sweep(str(path), jobs, store)


def run_job(job: Job) -> JobResult:
    """Run one job: skip it when its records are all stored, else evaluate and store.

    Never raises for a failure of the model, the data set or a metric: those become error
    records in the store and a ``failed`` result, so the sweep goes on.
    """
    start = time.perf_counter()
    with _GIN_LOCK:
        try:
            encoder, dataset = _load(job)
        except Exception as error:  # a model or data set that does not load
            message = f"{type(error).__name__}: {error}"
            return _failed(job, message, time.perf_counter() - start)
        try:
            status, message = _run(job, encoder, dataset)
        except Exception as error:  # a failed job must not stop the sweep
            # evaluate records the failures it meets (an extraction that failed) before
            # raising: records of the sweep's own here would duplicate them.
            status, message = FAILED, f"{type(error).__name__}: {error}"
        return JobResult(job.label, status, message, time.perf_counter() - start)


def _load(job: Job) -> tuple[Any, Any]:
    from disbench.adapters import load_encoder
    from disbench.models import BUILTIN_MODELS

    encoder = load_encoder(
        str(BUILTIN_MODELS.get(job.model, job.model)), device=job.device, **job.model_options
    )
    return encoder, _load_dataset(job.dataset, job.data_dir)


def _run(job: Job, encoder: Any, dataset: Any) -> tuple[str, str]:
    from disbench.benchmark.evaluate import EvaluationError, evaluate, stored

    if all(
        stored(
            encoder, dataset, job.store, suite=suite, seed=job.seed, sample_sizes=job.sample_sizes
        )
        for suite in job.suites
    ):
        return SKIPPED, ""
    failures = []
    for suite in job.suites:
        try:
            evaluate(
                encoder,
                dataset,
                suite=suite,
                seed=job.seed,
                store=job.store,
                sample_sizes=job.sample_sizes,
                batch_size=job.batch_size,
                progress=False,
            )
        except EvaluationError as error:  # recorded: its errors and the others' scores
            failures.append(f"{suite.name}: {error}")
    return (FAILED, "; ".join(failures)) if failures else (DONE, "")


def _failed(job: Job, message: str, seconds: float) -> JobResult:
    """A job that never reached ``evaluate``: its error records, and a ``failed`` result."""
    try:
        _record_failure(job, message)
    except Exception as store_error:
        message += f" (and its error records could not be written: {store_error})"
    return JobResult(job.label, FAILED, message, seconds)


def _lost(job: Job, error: BaseException) -> JobResult:
    """A job the executor lost (its worker died, Slurm cancelled it): a failure too."""
    return _failed(job, f"the executor lost the job: {type(error).__name__}: {error}", 0.0)


def _record_failure(job: Job, message: str) -> None:
    """Error records for every metric of the job, so the failure is in the tables' report."""
    from disbench.benchmark.evaluate import record_failure

    for suite in job.suites:
        with suite.active():
            record_failure(
                job.model,
                _dataset_name(job.dataset),
                job.store,
                message,
                suite=suite,
                seed=job.seed,
                sample_sizes=job.sample_sizes,
            )


def _load_dataset(spec: str | Mapping[str, Any], data_dir: str | None) -> Any:
    from disbench.benchmark.datasets import load_dataset

    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if name is None:
            raise ValueError(f"a data set given as options needs a 'name': {dict(spec)}")
        return load_dataset(name, data_dir=data_dir, **options)
    return load_dataset(spec, data_dir=data_dir)


def _dataset_name(spec: str | Mapping[str, Any]) -> str:
    if isinstance(spec, Mapping):
        options = ", ".join(f"{key}={value}" for key, value in spec.items() if key != "name")
        return f"{spec.get('name')}({options})"
    return str(spec)


def _expand_models(patterns: Sequence[str]) -> list[str]:
    """Model specs with globs expanded (sorted) and files made absolute; a glob matching
    nothing is an error."""
    from disbench.models import BUILTIN_MODELS

    models: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise ValueError(f"the model pattern {pattern!r} matches no file")
            models += [os.path.abspath(match) for match in matches]
        elif pattern not in BUILTIN_MODELS and os.path.exists(pattern):
            models.append(os.path.abspath(pattern))
        else:  # a built-in name, a module:attr spec, or a file that will fail as a job
            models.append(pattern)
    return list(dict.fromkeys(models))


def _absolute_dataset(spec: str | Mapping[str, Any]) -> str | Mapping[str, Any]:
    """A data set file's path made absolute; registered names as they are."""
    from disbench.benchmark.datasets.registry import dataset_names

    name = spec.get("name") if isinstance(spec, Mapping) else spec
    if not isinstance(name, str) or name in dataset_names() or not os.path.isfile(name):
        return spec
    if isinstance(spec, Mapping):
        return {**spec, "name": os.path.abspath(name)}
    return os.path.abspath(name)


@dataclass(frozen=True)
class SweepSummary:
    """The results of a sweep's jobs, and the counts of each outcome."""

    results: tuple[JobResult, ...]
    seconds: float

    def count(self, status: str) -> int:
        """How many jobs ended with ``status`` (``done``, ``skipped``, ``failed``)."""
        return sum(result.status == status for result in self.results)

    def __str__(self) -> str:
        return (
            f"{len(self.results)} jobs in {self.seconds:.1f} s: {self.count(DONE)} done, "
            f"{self.count(SKIPPED)} skipped (already stored), {self.count(FAILED)} failed"
        )


def run_sweep(
    sweep: Sweep,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    slurm: SlurmOptions | None = None,
    progress: bool | None = None,
) -> SweepSummary:
    """Run every job of ``sweep`` on ``executor`` (see ``executors.run_jobs``).

    A progress bar counts finished jobs (on a terminal, or with ``progress=True``). Failed
    jobs do not stop the others; their messages are in the summary's results.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    results = []
    finished = run_jobs(
        run_job,
        sweep.jobs,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        slurm=slurm,
        on_error=_lost,
    )
    bar = tqdm(
        total=len(sweep.jobs), unit="job", disable=None if progress is None else not progress
    )
    with bar:
        for result in finished:
            results.append(result)
            bar.update()
            bar.set_postfix_str(result.status)
    return SweepSummary(tuple(results), time.perf_counter() - start)
