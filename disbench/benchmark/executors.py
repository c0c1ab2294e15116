"""Executors: run a sweep's jobs in this process, a local process pool, Dask, or Slurm.

Every executor maps one picklable function over picklable jobs and yields the results as
the jobs finish. Jobs are independent and idempotent (``disbench.benchmark.sweep``), so the
executors need not coordinate beyond handing them out:

- ``local``: one after the other, in this process;
- ``processes``: a pool of ``spawn``-ed worker processes (CUDA-safe); with several GPUs each
  worker is given one (``CUDA_VISIBLE_DEVICES``), and the CPU threads are shared out;
- ``dask``: Dask distributed — a ``LocalCluster`` of ``workers`` single-threaded processes,
  or the cluster of the scheduler at ``scheduler`` (``tcp://host:8786``);
- ``slurm``: a submitit job array (``SlurmOptions``); submitit's ``local`` and ``debug``
  clusters run the same array on this machine.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

#: The executors ``run_jobs`` knows.
EXECUTORS = ("local", "processes", "dask", "slurm")

Job = TypeVar("Job")
Result = TypeVar("Result")


@dataclass(frozen=True)
class SlurmOptions:
    """A Slurm job array's resources (submitit's parameters).

    ``cluster`` is submitit's: ``None`` detects Slurm, ``"local"`` runs the array as
    processes on this machine (all of them at once: submitit's local cluster has no array
    parallelism), ``"debug"`` one after the other in this process. Logs go to ``folder``.
    """

    folder: str = "disbench-slurm"
    partition: str | None = None
    time_minutes: int = 60
    gpus_per_node: int = 0
    cpus_per_task: int = 4
    mem_gb: float | None = None
    cluster: str | None = None


def run_jobs(
    function: Callable[[Job], Result],
    jobs: Sequence[Job],
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    slurm: SlurmOptions | None = None,
    on_error: Callable[[Job, BaseException], Result] | None = None,
) -> Iterator[Result]:
    """``function(job)`` for every job, on ``executor``; results in order of completion.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled by reference for the other processes).
    jobs : sequence
        Picklable jobs.
    executor : {"local", "processes", "dask", "slurm"}, default="local"
    workers : int, optional
        Worker processes (``processes``, ``dask``'s ``LocalCluster``) or the array's
        parallelism (``slurm``); default: the CPU cores, at most one per job (per GPU when
        there are several GPUs).
    scheduler : str, optional
        A Dask scheduler address; default: a new ``LocalCluster``.
    slurm : SlurmOptions, optional
        The array's resources; default ``SlurmOptions()``.
    on_error : callable, optional
        ``on_error(job, error)`` stands for the result of a job that raised or that the
        executor lost (its worker process died, Slurm cancelled it), so that the other
        jobs go on; default: the error propagates.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not jobs:
        return iter(())
    run = {"local": _local, "processes": _processes, "dask": _dask, "slurm": _slurm}[executor]
    outcomes = run(function, list(jobs), workers=workers, scheduler=scheduler, slurm=slurm)
    return (_result(job, get, on_error) for job, get in outcomes)


def _result(
    job: Job, get: Callable[[], Result], on_error: Callable[[Job, BaseException], Result] | None
) -> Result:
    """A finished job's result, or ``on_error``'s stand-in when it raised or was lost."""
    if on_error is None:
        return get()
    try:
        return get()
    except Exception as error:
        return on_error(job, error)


# Each executor yields (job, get) as jobs finish, where get() returns the job's result or
# raises its error (the job's own, or the executor's when it lost the job).


def _local(function: Callable, jobs: list, **_: Any) -> Iterator:
    for job in jobs:
        yield job, functools.partial(function, job)


def _processes(function: Callable, jobs: list, *, workers: int | None, **_: Any) -> Iterator:
    gpus = _visible_gpus()
    count = min(workers or (len(gpus) if len(gpus) > 1 else os.cpu_count() or 1), len(jobs))
    context = multiprocessing.get_context("spawn")
    devices = context.SimpleQueue()
    for worker in range(count):
        devices.put(gpus[worker % len(gpus)] if len(gpus) > 1 else None)
    threads = max(1, (os.cpu_count() or 1) // count)
    with concurrent.futures.ProcessPoolExecutor(
        count, mp_context=context, initializer=_start_worker, initargs=(devices, threads)
    ) as pool:
        futures = {pool.submit(function, job): job for job in jobs}
        try:
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result
        finally:
            for future in futures:
                future.cancel()


def _start_worker(devices: Any, threads: int) -> None:
    """A pool worker's set-up: its GPU, and its share of the CPU threads."""
    device = devices.get()
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _dask(
    function: Callable, jobs: list, *, workers: int | None, scheduler: str | None, **_: Any
) -> Iterator:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError(
            "the dask executor needs Dask distributed: pip install 'disbench[dask]'"
        ) from None
    if scheduler is not None:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = _local_cluster(min(workers or os.cpu_count() or 1, len(jobs)))
        client = Client(cluster)
    try:
        futures = dict(zip(client.map(function, jobs, pure=False), jobs, strict=True))
        for future in as_completed(futures):
            yield futures[future], future.result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _local_cluster(count: int) -> Any:
    """A ``LocalCluster`` of ``count`` single-threaded worker processes sharing the cores.

    The workers' environment is Dask's ``pre-spawn-environ`` (set before a worker starts,
    as OpenMP and glibc need), with two changes: the CPU threads are shared out, and
    ``MALLOC_TRIM_THRESHOLD_`` is left unset. Dask sets it to 64 KiB, which also fixes
    glibc's mmap threshold at 128 KiB: every large buffer of a forward pass is then mapped
    and unmapped afresh, and a conv encoder's extraction runs ~10x slower than in a plain
    process. The nanny writes that environment into this process's too; it is put back.
    """
    import dask
    from distributed import LocalCluster

    threads = str(max(1, (os.cpu_count() or 1) // count))
    key = "distributed.nanny.pre-spawn-environ"
    environ = {
        **dask.config.get(key),
        "MALLOC_TRIM_THRESHOLD_": None,  # None: not set (Dask's convention)
        **dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), threads),
    }
    before = dict(os.environ)
    try:
        with dask.config.set({key: environ}):
            return LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None
            )
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        os.environ.update(before)


def _slurm(
    function: Callable, jobs: list, *, workers: int | None, slurm: SlurmOptions | None, **_: Any
) -> Iterator:
    try:
        import submitit
    except ImportError:
        raise ValueError(
            "the slurm executor needs submitit: pip install 'disbench[slurm]'"
        ) from None
    options = slurm or SlurmOptions()
    executor = submitit.AutoExecutor(folder=Path(options.folder), cluster=options.cluster)
    executor.update_parameters(
        name="disbench",
        timeout_min=options.time_minutes,
        gpus_per_node=options.gpus_per_node or None,
        cpus_per_task=options.cpus_per_task,
        mem_gb=options.mem_gb,
        slurm_partition=options.partition,
        slurm_array_parallelism=workers or len(jobs),
    )
    submitted = dict(zip(executor.map_array(function, jobs), jobs, strict=True))
    # Polling Slurm is a query to its database; submitit's own clusters are processes here.
    poll = 10.0 if executor.cluster == "slurm" else 0.2
    for array_job in submitit.helpers.as_completed(list(submitted), poll_frequency=poll):
        yield submitted[array_job], array_job.result


def _visible_gpus() -> list[str]:
    """The CUDA devices visible here, as ``CUDA_VISIBLE_DEVICES`` names them, without
    starting CUDA: its entries up to the first invalid one (CUDA ignores the rest), else
    torch's device count's indices; none without torch's CUDA."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        devices = []
        for entry in (part.strip() for part in visible.split(",")):
            if not entry or entry.startswith("-"):
                break
            devices.append(entry)
        return devices
    import torch

    return [str(index) for index in range(torch.cuda.device_count())]
