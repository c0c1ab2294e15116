"""Sweeps: expansion, the same records on every executor, failures, resume, gin isolation.

The sweep: 3 TorchScript encoders (``runs/m*/model.pt``) and a model file that is not one
(``broken.pt``) × the ``toy`` set and ``toy`` with another seed × seeds 0 and 1, with two
cheap metrics — 16 jobs, 24 ok records and 8 error records.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import gin
import pytest

from disbench.benchmark.executors import SlurmOptions
from disbench.benchmark.sweep import (
    DONE,
    FAILED,
    SKIPPED,
    JobResult,
    SweepSummary,
    load_sweep,
    run_job,
    run_sweep,
)
from disbench.cli import main
from disbench.results import Store
from tests.benchmark.encoders import save_linear_encoder

JOBS, OK_JOBS, FAILED_JOBS = 16, 12, 4
RECORDS = 2 * JOBS  # mig and sap per job
SUMMARY = re.compile(
    r"(\d+) jobs in [\d.]+ s: (\d+) done, (\d+) skipped \(already stored\), (\d+) failed"
)


@pytest.fixture(autouse=True)
def clean_gin():
    yield
    gin.clear_config()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the models and ``sweep.gin``."""
    folder = tmp_path_factory.mktemp("sweep")
    for k in range(3):
        (folder / "runs" / f"m{k}").mkdir(parents=True)
        save_linear_encoder(folder / "runs" / f"m{k}" / "model.pt", n_pixels=256, seed=k)
    (folder / "broken.pt").write_bytes(b"not a model")
    (folder / "sweep.gin").write_text(
        f"""
sweep.models = ["{folder}/runs/*/model.pt", "{folder}/broken.pt"]
sweep.datasets = ["toy", {{"name": "toy", "seed": 1}}]
sweep.suites = ["default"]
sweep.seeds = [0, 1]
sweep.sample_sizes = {{"num_train": 300, "num_test": 150}}
suite.metrics = ["mig", "sap"]
"""
    )
    return folder


@pytest.fixture(scope="module")
def local_run(project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepSummary, Path]:
    """The sweep run once on the local executor: the records every other run must equal."""
    store = tmp_path_factory.mktemp("local")
    summary = run_sweep(load_sweep(project / "sweep.gin", store=store), executor="local")
    return summary, store


def outcomes(store: Path) -> dict[str, tuple[str, dict]]:
    """``{record file name: (status, scores)}`` of a store."""
    records = {path.name: Store.load_file(path) for path in Store(store).paths()}
    return {name: (record["status"], record["scores"]) for name, record in records.items()}


def counts(summary: SweepSummary) -> tuple[int, int, int]:
    return summary.count(DONE), summary.count(SKIPPED), summary.count(FAILED)


# -- expansion ---------------------------------------------------------------------------


def test_a_sweep_expands_into_model_x_dataset_x_seed_jobs(project, tmp_path):
    sweep = load_sweep(project / "sweep.gin", store=tmp_path / "results")
    models = [str(project / "runs" / f"m{k}" / "model.pt") for k in range(3)]
    models.append(str(project / "broken.pt"))
    datasets = ["toy", {"name": "toy", "seed": 1}]
    assert len(sweep.jobs) == JOBS
    assert [(job.model, job.dataset, job.seed) for job in sweep.jobs] == [
        (model, dataset, seed) for model in models for dataset in datasets for seed in (0, 1)
    ]
    job = sweep.jobs[0]
    assert sweep.store == job.store == str(tmp_path / "results")
    assert [suite.name for suite in job.suites] == ["default"]
    assert job.suites[0].metrics == ("mig", "sap")
    assert job.sample_sizes == {"num_train": 300, "num_test": 150}
    assert job.label == f"{models[0]} on toy, seed 0"
    assert sweep.jobs[2].label == f"{models[0]} on toy(seed=1), seed 0"


def test_relative_globs_are_sorted_and_made_absolute(project, monkeypatch, tmp_path):
    monkeypatch.chdir(project)
    (project / "relative.gin").write_text(
        'sweep.models = ["runs/m*/model.pt"]\nsweep.datasets = ["toy"]\nsweep.store = "out"\n'
    )
    sweep = load_sweep("relative.gin")
    assert [job.model for job in sweep.jobs] == [
        str(project / "runs" / f"m{k}" / "model.pt") for k in range(3)
    ]
    # Workers of a Dask scheduler or Slurm may start in another folder.
    assert sweep.store == str(project / "out")


def test_gin_params_override_the_sweep_file(project, tmp_path):
    sweep = load_sweep(
        project / "sweep.gin",
        [f'sweep.models = ["{project}/runs/m1/model.pt"]', "sweep.seeds = [7]", "mig.num_bins = 9"],
        store=tmp_path,
    )
    assert [(job.model, job.seed) for job in sweep.jobs] == [
        (str(project / "runs" / "m1" / "model.pt"), 7)
    ] * 2
    with sweep.jobs[0].suites[0].active():
        assert gin.query_parameter("mig.num_bins") == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'sweep.models = ["{folder}/runs/*/nothing.pt"]\nsweep.datasets = ["toy"]',
            r"the model pattern '.*/runs/\*/nothing.pt' matches no file",
        ),
        ('sweep.datasets = ["toy"]', r"binds no sweep.models; give at least one"),
        ('sweep.models = []\nsweep.datasets = ["toy"]', r"binds no sweep.models"),
        (
            'sweep.models = "{folder}/runs/*/model.pt"\nsweep.datasets = ["toy"]',
            r"sweep.models must be a list, e.g. sweep.models = \[...\]",
        ),
        ('sweep.modles = ["a.pt"]', r"does not parse: .*modles"),
        (
            'sweep.models = ["a.pt"]\nsweep.datasets = ["toy"]\nsuite.metrics = ["mgi"]',
            r"mgi",
        ),
        ('sweep.models = ["a.pt"]\nsweep.datasets = ["toy"]\nsweep.suites = ["nope"]', "nope"),
    ],
    ids=["empty-glob", "no-models", "empty-models", "a-string", "typo", "metric", "suite"],
)
def test_a_bad_sweep_is_a_clear_value_error(project, tmp_path, text, message):
    path = tmp_path / "bad.gin"
    path.write_text(text.format(folder=project))
    with pytest.raises(ValueError, match=message):
        load_sweep(path)


def test_a_missing_sweep_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no sweep file"):
        load_sweep(tmp_path / "sweep.gin")


def test_loading_a_sweep_leaves_gin_as_it_was(project):
    gin.parse_config("mig.num_bins = 3")
    load_sweep(project / "sweep.gin")
    assert gin.query_parameter("mig.num_bins") == 3


def test_dry_run_prints_every_job_and_runs_nothing(project, tmp_path, capsys):
    store = tmp_path / "results"
    assert main(["sweep", str(project / "sweep.gin"), "--dry-run", "--store", str(store)]) == 0
    out = capsys.readouterr().out.splitlines()
    for job in load_sweep(project / "sweep.gin").jobs:
        assert f"{job.label}  [default]" in out
    assert out[-1] == f"{JOBS} jobs; records go to {store}"
    assert not store.exists()


def test_the_cli_reports_a_bad_sweep_in_one_line(project, tmp_path, capsys):
    path = tmp_path / "bad.gin"
    path.write_text(f'sweep.models = ["{project}/none/*.pt"]\nsweep.datasets = ["toy"]')
    assert main(["sweep", str(path), "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith("disbench sweep: error: the model pattern")


# -- running -----------------------------------------------------------------------------


def test_a_broken_model_fails_alone_and_leaves_error_records(project, local_run):
    summary, store = local_run
    assert counts(summary) == (OK_JOBS, 0, FAILED_JOBS)
    assert len(summary.results) == JOBS
    assert str(summary).startswith(f"{JOBS} jobs in ")
    assert str(summary).endswith("12 done, 0 skipped (already stored), 4 failed")
    for result in summary.results:
        assert (result.status == FAILED) == ("broken.pt" in result.label)
        assert (result.message == "") == (result.status == DONE)
    broken = str(project / "broken.pt")
    assert all(broken in r.message for r in summary.results if r.status == FAILED)

    records = [Store.load_file(path) for path in Store(store).paths()]
    assert len(records) == RECORDS
    errors = [record for record in records if record["status"] == "error"]
    assert len(errors) == 2 * FAILED_JOBS
    for record in errors:
        assert record["model"]["spec"] == broken and broken in record["error"]
        assert record["scores"] == {}
        assert record["config"]["suite"] == "default"
    ok = [record for record in records if record["status"] == "ok"]
    assert {record["model"]["spec"] for record in ok} == {
        str(project / "runs" / f"m{k}" / "model.pt") for k in range(3)
    }
    assert sorted(record["metric"]["name"] for record in ok) == ["mig"] * 12 + ["sap"] * 12
    assert {(record["dataset"]["name"], record["seed"]) for record in ok} == {
        ("toy", 0),
        ("toy", 1),
    }  # two toy sets (two fingerprints), named alike
    assert len({record["dataset"]["fingerprint"] for record in ok}) == 2
    for record in ok:
        assert set(record["scores"]) >= {record["metric"]["name"]}
        assert record["metric"]["params"]["num_train"] == 300
        # The operative configuration travels with the record.
        assert record["config"]["suite"] == "default"
        assert "suite.metrics = ['mig', 'sap']" in record["config"]["gin"]


@pytest.mark.parametrize(
    ("executor", "options"),
    [
        ("processes", {"workers": 2}),
        ("slurm", {"slurm": "debug"}),
    ],
    ids=["processes", "slurm-debug"],
)
def test_every_executor_writes_the_same_records(project, local_run, tmp_path, executor, options):
    if "slurm" in options:
        options = {"slurm": SlurmOptions(folder=str(tmp_path / "slurm"), cluster="debug")}
    sweep = load_sweep(project / "sweep.gin", store=tmp_path / "results")
    summary = run_sweep(sweep, executor=executor, **options)
    assert counts(summary) == (OK_JOBS, 0, FAILED_JOBS)
    expected = outcomes(local_run[1])
    assert len(expected) == RECORDS
    assert outcomes(tmp_path / "results") == expected


def test_the_cli_on_a_dask_local_cluster_writes_the_same_records(
    project, local_run, tmp_path, capsys
):
    store = tmp_path / "results"
    sweep = str(project / "sweep.gin")
    status = main(["sweep", sweep, "--executor", "dask", "--workers", "2", "--store", str(store)])
    captured = capsys.readouterr()
    assert status == 1  # the broken model's jobs failed
    assert SUMMARY.search(captured.out).groups() == (str(JOBS), "12", "0", "4")
    assert captured.err.count("disbench sweep: failed: ") == FAILED_JOBS
    assert outcomes(store) == outcomes(local_run[1])


def test_slurm_on_submitits_local_cluster_writes_the_same_records(project, local_run, tmp_path):
    # submitit's local cluster starts a Python per job at once: two jobs here.
    sweep = load_sweep(
        project / "sweep.gin",
        [f'sweep.models = ["{project}/runs/m2/model.pt"]', 'sweep.datasets = ["toy"]'],
        store=tmp_path / "results",
    )
    options = SlurmOptions(folder=str(tmp_path / "slurm"), cluster="local")
    summary = run_sweep(sweep, executor="slurm", slurm=options)
    assert counts(summary) == (2, 0, 0)
    records = outcomes(tmp_path / "results")
    expected = outcomes(local_run[1])
    assert len(records) == 4
    assert records == {name: expected[name] for name in records}


def test_a_second_run_skips_what_is_stored_and_retries_errors(project, local_run, tmp_path):
    store = tmp_path / "results"
    shutil.copytree(local_run[1], store)
    summary = run_sweep(load_sweep(project / "sweep.gin", store=store))
    assert counts(summary) == (0, OK_JOBS, FAILED_JOBS)
    assert all(r.status == FAILED for r in summary.results if "broken.pt" in r.label)
    assert outcomes(store) == outcomes(local_run[1])


def test_a_killed_sweep_resumes_where_it_stopped(project, local_run, tmp_path, capsys):
    store = tmp_path / "results"
    command = [sys.executable, "-m", "disbench.cli", "sweep", str(project / "sweep.gin")]
    process = subprocess.Popen(
        [*command, "--store", str(store)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Three records: the first job (two) is complete and the second has begun.
        deadline = time.monotonic() + 120
        while len(Store(store).paths()) < 3 and process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the sweep wrote no record in 120 s")
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    written = Store(store).paths()
    assert 3 <= len(written) < RECORDS, "the sweep finished before it could be killed"
    # What the kill left are whole records; a temporary file (".<key>.json.<id>.tmp") is
    # never taken for one.
    for path in store.iterdir():
        if path.name.startswith("."):
            assert path not in written
        else:
            Store.load_file(path)

    status = main(["sweep", str(project / "sweep.gin"), "--store", str(store)])
    assert status == 1
    total, done, skipped, failed = map(int, SUMMARY.search(capsys.readouterr().out).groups())
    assert total == JOBS and skipped >= 1 and done >= 1 and failed == FAILED_JOBS
    assert done + skipped == OK_JOBS
    assert outcomes(store) == outcomes(local_run[1])


# -- gin isolation -----------------------------------------------------------------------


def test_each_job_runs_with_its_own_suite(project, tmp_path):
    for name, bins in (("coarse", 5), ("fine", 40)):
        (tmp_path / f"{name}.gin").write_text(f'suite.metrics = ["mig"]\nmig.num_bins = {bins}\n')
    (tmp_path / "suites.gin").write_text(
        f"""
sweep.models = ["{project}/runs/m0/model.pt", "{project}/runs/m1/model.pt"]
sweep.datasets = ["toy"]
sweep.suites = ["{tmp_path}/coarse.gin", "{tmp_path}/fine.gin"]
sweep.sample_sizes = {{"num_train": 300}}
"""
    )
    gin.parse_config("mig.num_bins = 2")  # the caller's bindings reach no job
    sweep = load_sweep(tmp_path / "suites.gin", store=tmp_path / "results")
    assert [suite.name for suite in sweep.jobs[0].suites] == ["coarse", "fine"]
    summary = run_sweep(sweep)  # two jobs, one after the other in this process
    assert counts(summary) == (2, 0, 0)
    assert gin.query_parameter("mig.num_bins") == 2

    records = [Store.load_file(path) for path in Store(tmp_path / "results").paths()]
    assert len(records) == 4
    for record in records:
        bins = record["metric"]["params"]["num_bins"]
        suite = record["config"]["suite"]
        assert (suite, bins) in {("coarse", 5), ("fine", 40)}
        assert f"mig.num_bins = {bins}" in record["config"]["gin"]
    assert sorted(record["config"]["suite"] for record in records) == ["coarse"] * 2 + ["fine"] * 2
    # Different options, different records: their scores differ too.
    by_suite = {}
    for record in records:
        by_suite.setdefault(record["model"]["spec"], {})[record["config"]["suite"]] = record
    for pair in by_suite.values():
        assert pair["coarse"]["key"] != pair["fine"]["key"]
        assert pair["coarse"]["scores"] != pair["fine"]["scores"]


# -- failures inside evaluate ------------------------------------------------------------


def test_a_model_that_fails_on_the_data_is_recorded_once(project, tmp_path):
    # A TorchScript encoder for 100 pixels: it loads, and fails on toy's 256.
    save_linear_encoder(tmp_path / "small.pt", n_pixels=100)
    sweep = load_sweep(
        project / "sweep.gin",
        [
            f'sweep.models = ["{tmp_path}/small.pt"]',
            'sweep.datasets = ["toy"]',
            "sweep.seeds = [0]",
        ],
        store=tmp_path / "results",
    )
    (result,) = run_sweep(sweep).results
    assert result.status == FAILED and "mat1 and mat2 shapes cannot be multiplied" in result.message
    records = [Store.load_file(path) for path in Store(tmp_path / "results").paths()]
    # One error record per metric (evaluate's, keyed as the ok record would be), no more.
    assert sorted(record["metric"]["name"] for record in records) == ["mig", "sap"]
    assert all(record["status"] == "error" for record in records)
    assert all("extraction failed" in record["error"] for record in records)


def test_run_job_never_raises_for_a_missing_data_set(project, tmp_path):
    sweep = load_sweep(
        project / "sweep.gin",
        [
            f'sweep.models = ["{project}/runs/m0/model.pt"]',
            'sweep.datasets = ["no_such_set"]',
            "sweep.seeds = [0]",
        ],
        store=tmp_path / "results",
    )
    result = run_job(sweep.jobs[0])
    assert isinstance(result, JobResult)
    assert result.status == FAILED and "unknown data set 'no_such_set'" in result.message
    records = [Store.load_file(path) for path in Store(tmp_path / "results").paths()]
    assert sorted(record["metric"]["name"] for record in records) == ["mig", "sap"]
    assert all("no_such_set" in record["error"] for record in records)
