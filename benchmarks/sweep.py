"""Sweep overhead: the process and Dask executors against the same jobs back to back.

    python benchmarks/sweep.py [--models 8] [--seeds 1] [--num-train 20000] [--json PATH]

Jobs: ``--models`` TorchScript copies of disentanglement_lib's 64x64 conv encoder
(``disbench.models.conv.ConvEncoder``, random weights, one seed each) × a 4,096-image toy
grid (``toy``, factor sizes 8x8x8x8, 1x64x64 images) × ``--seeds``; each job encodes its
grid and runs mig, sap, modularity_explicitness, dci (``hist_gbt``) and infomec on
``--num-train`` / half as many test rows: about 3 s per job on 2 cores.

1. Back to back: ``run_job`` on every job, one after the other, in this process (disbench
   already imported): the reference, with no executor at all.
2. ``run_sweep`` on the ``processes`` and ``dask`` executors with 1 worker: the same work
   in sequence, so sweep time / back-to-back time - 1 is the executor's overhead (starting
   the pool or the ``LocalCluster``, the workers' imports, shipping jobs and results).
   Target: under 10%.
3. The same with 2 workers: the speed-up over back to back.

The overhead is mostly fixed, once per sweep: a worker process starting and importing
torch and disbench (and, for Dask, the ``LocalCluster`` starting and closing); the "job s"
column shows the jobs themselves run as fast in a worker. ``--models`` sets how many jobs
share that fixed cost.

Every measurement starts from an empty store and an empty code cache, and checks that
every job ran (none skipped, none failed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from disbench.benchmark.sweep import DONE, Sweep, load_sweep, run_job, run_sweep
from disbench.models.conv import ConvEncoder

METRICS = ["mig", "sap", "modularity_explicitness", "dci", "infomec"]
DATASET = {"name": "toy", "factor_sizes": [8, 8, 8, 8], "observation_shape": [1, 64, 64]}


def write_sweep(work: Path, models: int, seeds: int, num_train: int) -> Path:
    """The models and the sweep file in ``work``; returns the file."""
    for k in range(models):
        torch.manual_seed(k)
        torch.jit.script(ConvEncoder(channels=1, latents=10).eval()).save(
            str(work / f"conv_{k}.pt")
        )
    path = work / "sweep.gin"
    path.write_text(
        f"""
sweep.models = ["{work}/conv_*.pt"]
sweep.datasets = [{json.dumps(DATASET)}]
sweep.seeds = {list(range(seeds))}
sweep.sample_sizes = {{"num_train": {num_train}, "num_test": {num_train // 2}}}
suite.metrics = {json.dumps(METRICS)}
dci.predictor = "hist_gbt"
"""
    )
    return path


def fresh(work: Path, path: Path, name: str) -> Sweep:
    """The sweep with an empty store, and an empty code cache for this process and the
    workers it starts (they inherit the environment)."""
    os.environ["DISBENCH_CACHE"] = str(work / f"cache-{name}")
    return load_sweep(path, store=work / f"store-{name}")


def back_to_back(sweep: Sweep) -> tuple[float, list[float]]:
    start = time.perf_counter()
    seconds = []
    for job in sweep.jobs:
        result = run_job(job)
        if result.status != DONE:
            raise SystemExit(f"{result.label}: {result.status} {result.message}")
        seconds.append(result.seconds)
    return time.perf_counter() - start, seconds


def swept(
    sweep: Sweep, executor: str, workers: int | None, scheduler: str | None = None
) -> tuple[float, list[float]]:
    start = time.perf_counter()
    summary = run_sweep(
        sweep, executor=executor, workers=workers, scheduler=scheduler, progress=False
    )
    seconds = time.perf_counter() - start
    if summary.count(DONE) != len(sweep.jobs):
        raise SystemExit(f"{executor} x {workers}: {summary}")
    return seconds, [result.seconds for result in summary.results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8, help="models (jobs per seed)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per model")
    parser.add_argument("--num-train", type=int, default=20_000, help="training rows per metric")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="disbench-bench-sweep-") as folder:
        measure(args, Path(folder))


def measure(args: argparse.Namespace, work: Path) -> None:
    path = write_sweep(work, args.models, args.seeds, args.num_train)
    jobs = len(load_sweep(path).jobs)
    cores = os.cpu_count()
    print(f"{jobs} jobs, {cores} CPU cores, torch threads {torch.get_num_threads()}")

    reference, per_job = back_to_back(fresh(work, path, "back-to-back"))
    print(
        f"back to back: {reference:.1f} s, per job {min(per_job):.2f}-{max(per_job):.2f} s "
        f"(mean {sum(per_job) / len(per_job):.2f} s)"
    )
    rows = []
    for executor in ("processes", "dask"):
        for workers in (1, 2):
            seconds, job_seconds = swept(
                fresh(work, path, f"{executor}-{workers}"), executor, workers
            )
            rows.append(
                {
                    "executor": executor,
                    "workers": workers,
                    "seconds": seconds,
                    "job_seconds": job_seconds,
                    "job_mean": sum(job_seconds) / len(job_seconds),
                    "ratio": seconds / reference,
                    "overhead": seconds / reference - 1,
                    "speedup": reference / seconds,
                }
            )

    # A cluster already running (what --scheduler reaches): started and its worker's
    # imports done before the clock starts, so only the hand-out is measured.
    from distributed import Client

    from disbench.benchmark.executors import _local_cluster

    running = fresh(work, path, "dask-running")  # before the workers start: they inherit it
    with _local_cluster(1) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("disbench.benchmark.sweep"))
        seconds, job_seconds = swept(running, "dask", None, cluster.scheduler_address)
    rows.append(
        {
            "executor": "dask (running scheduler)",
            "workers": 1,
            "seconds": seconds,
            "job_seconds": job_seconds,
            "job_mean": sum(job_seconds) / len(job_seconds),
            "ratio": seconds / reference,
            "overhead": seconds / reference - 1,
            "speedup": reference / seconds,
        }
    )

    mean = sum(per_job) / len(per_job)
    print()
    print(
        "| executor | workers | sweep s | back-to-back s | ratio | overhead | speed-up "
        "| job s, mean (back to back) | target |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row["workers"] == 1:
            verdict = "pass" if row["overhead"] < 0.10 else "FAIL"
            target = f"overhead < 10% {verdict}"
        else:
            target = "-"
        print(
            f"| {row['executor']} | {row['workers']} | {row['seconds']:.1f} | {reference:.1f} | "
            f"{row['ratio']:.3f} | {row['overhead']:+.1%} | {row['speedup']:.2f}x | "
            f"{row['job_mean']:.2f} ({mean:.2f}) | {target} |"
        )
    print(
        "\noverhead: sweep s / back-to-back s - 1 with 1 worker (the same jobs in sequence); "
        "speed-up: back-to-back s / sweep s. job s: run_job's own time, in the worker."
    )
    if args.json:
        figures = {
            "machine": {"cores": cores, "python": platform.python_version()},
            "jobs": jobs,
            "back_to_back_seconds": reference,
            "job_seconds": per_job,
            "runs": rows,
        }
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
