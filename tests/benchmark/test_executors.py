"""``run_jobs`` on every executor: every result back, GPUs shared out, errors handled.

The functions the executors run live in this module: the other processes import it by
name (``tests.benchmark.test_executors``), as they import ``disbench`` for a sweep.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from disbench.benchmark.executors import (
    EXECUTORS,
    SlurmOptions,
    _start_worker,
    _visible_gpus,
    run_jobs,
)

JOBS = list(range(6))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def importable_tests() -> Iterator[None]:
    """Worker processes import this module by name: the repository root goes on their path
    (spawned workers copy ``sys.path``; submitit's start a new Python), as ``python -m
    pytest`` puts it on this process's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        path = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{path}" if path else str(ROOT))
        yield


def square(x: int) -> int:
    return x * x


def square_or_fail(x: int) -> int:
    if x < 0:
        raise ArithmeticError(f"no job {x}")
    return x * x


def die(x: int) -> int:
    """A worker process that dies (a crash, an out-of-memory kill) while running job 0."""
    if x == 0:
        os._exit(3)
    return x


def worker_device(barrier) -> tuple[int, str | None]:
    """This worker's process id and GPU. The barrier holds each job until the other has
    started, so that two jobs run on two different workers."""
    barrier.wait(timeout=60)
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


def environment(names: tuple[str, ...]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}


def stand_in(job: int, error: BaseException) -> str:
    return f"{job}: {type(error).__name__}"


def test_the_executors_are_the_documented_ones():
    assert EXECUTORS == ("local", "processes", "dask", "slurm")


@pytest.mark.parametrize(
    ("executor", "workers", "slurm"),
    [
        ("local", None, None),
        ("processes", 2, None),
        ("dask", 2, None),
        ("slurm", None, "debug"),
    ],
    ids=["local", "processes", "dask", "slurm-debug"],
)
def test_every_executor_returns_every_result(executor, workers, slurm, tmp_path):
    options = SlurmOptions(folder=str(tmp_path / "slurm"), cluster=slurm) if slurm else None
    results = run_jobs(square, JOBS, executor=executor, workers=workers, slurm=options)
    assert sorted(results) == [x * x for x in JOBS]


def test_dask_local_workers_share_the_cores_and_keep_glibcs_malloc(monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = dict(os.environ)
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")
    results = list(run_jobs(environment, [names, names], executor="dask", workers=2))
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    # Dask's 64 KiB trim threshold would make every large torch buffer a fresh mmap.
    assert (
        results
        == [
            {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "MALLOC_TRIM_THRESHOLD_": None}
        ]
        * 2
    )
    assert dict(os.environ) == before  # the nanny's changes to this process are undone


def test_dask_runs_on_the_cluster_of_a_given_scheduler():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        for _ in range(2):  # the cluster is the scheduler's, not the sweep's: it stays up
            results = run_jobs(square, JOBS, executor="dask", scheduler=cluster.scheduler_address)
            assert sorted(results) == [x * x for x in JOBS]


def test_local_results_come_in_order_and_lazily():
    calls = []

    def record(x):
        calls.append(x)
        return x

    results = run_jobs(record, [3, 1, 2])
    assert calls == []  # nothing runs before the results are asked for
    assert next(results) == 3 and calls == [3]
    assert list(results) == [1, 2]


@pytest.mark.parametrize("executor", ["local", "processes", "dask"])
def test_a_failed_job_becomes_its_stand_in_and_the_others_go_on(executor):
    jobs = [1, -2, 3]
    results = run_jobs(square_or_fail, jobs, executor=executor, workers=2, on_error=stand_in)
    assert sorted(map(str, results)) == ["-2: ArithmeticError", "1", "9"]


def test_without_a_stand_in_the_error_propagates():
    with pytest.raises(ArithmeticError, match="no job -2"):
        list(run_jobs(square_or_fail, [1, -2, 3]))


def test_slurm_on_submitits_local_cluster_with_a_failed_job(tmp_path):
    options = SlurmOptions(folder=str(tmp_path / "slurm"), cluster="local")
    results = run_jobs(
        square_or_fail, [2, 3, -1], executor="slurm", slurm=options, on_error=stand_in
    )
    # submitit reports a job that raised as a FailedJobError.
    assert sorted(map(str, results)) == ["-1: FailedJobError", "4", "9"]


def test_a_worker_that_dies_does_not_end_the_sweep():
    results = run_jobs(die, [0, 1], executor="processes", workers=1, on_error=stand_in)
    # The pool is broken: the job that killed its worker and the job queued behind it are
    # lost, and reported as such.
    assert sorted(results) == ["0: BrokenProcessPool", "1: BrokenProcessPool"]


def test_processes_give_each_worker_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)
        # Default workers: one per visible GPU.
        results = list(run_jobs(worker_device, [barrier, barrier], executor="processes"))
    (pid_a, gpu_a), (pid_b, gpu_b) = results
    assert pid_a != pid_b
    # The names CUDA_VISIBLE_DEVICES gave, not indices 0 and 1 of every GPU.
    assert sorted([gpu_a, gpu_b]) == ["4", "7"]


def test_a_single_gpu_is_left_as_it_is(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(2)
        results = list(run_jobs(worker_device, [barrier, barrier], executor="processes", workers=2))
    assert [gpu for _, gpu in results] == ["5", "5"]


def test_a_worker_takes_its_gpu_and_its_share_of_threads(monkeypatch):
    for name in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "unset")
    threads = torch.get_num_threads()
    devices = queue.SimpleQueue()
    devices.put("GPU-3f2a")
    devices.put(None)
    try:
        _start_worker(devices, 1)
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-3f2a"
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
        assert torch.get_num_threads() == 1
        _start_worker(devices, 1)  # no GPU to give: CUDA_VISIBLE_DEVICES is kept
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-3f2a"
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        ("0,1", ["0", "1"]),
        ("2, 5", ["2", "5"]),
        ("", []),
        ("-1", []),
        ("3,-1,4", ["3"]),  # CUDA ignores the devices after an invalid one
        ("GPU-8a1c,GPU-77de", ["GPU-8a1c", "GPU-77de"]),
    ],
)
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, visible, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert _visible_gpus() == expected


def test_visible_gpus_without_the_variable_are_torchs(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert _visible_gpus() == [str(k) for k in range(torch.cuda.device_count())]


def test_no_jobs_run_nothing():
    assert list(run_jobs(square, [], executor="processes")) == []


def test_an_unknown_executor_or_too_few_workers_is_a_value_error():
    with pytest.raises(ValueError, match="unknown executor 'ray'; choose one of local, "):
        run_jobs(square, JOBS, executor="ray")
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        run_jobs(square, JOBS, executor="processes", workers=0)
