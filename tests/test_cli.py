"""The ``disbench`` command as a user runs it."""

import json
import subprocess
import sys

from disbench import estimators, metrics
from disbench.cli import main


def run_disbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "disbench.cli", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_the_commands():
    result = run_disbench("--help")
    assert result.returncode == 0
    assert "estimators" in result.stdout and "usage: disbench" in result.stdout


def test_estimators_lists_every_estimator_discretizer_and_normalization(capsys):
    assert main(["estimators"]) == 0
    out = capsys.readouterr().out
    for name in (*estimators.ESTIMATORS, *estimators.DISCRETIZERS, *estimators.NORMALIZATIONS):
        assert f"\n  {name} " in out
    assert "units: nats" in out


def test_unknown_command_is_a_usage_error():
    result = run_disbench("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert "Traceback" not in result.stderr


def test_metrics_lists_every_metric_with_keys_defaults_and_reference(capsys):
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    for spec in metrics.list_metrics():
        assert f"{spec.name}\n  scores:     {', '.join(spec.score_keys)}\n" in out
    assert "  defaults:   num_bins=20, estimator='plugin'" in out
    assert "reference:  Chen et al. 2018, arXiv:1802.04942" in out
    assert main(["metrics", "sap"]) == 0
    assert capsys.readouterr().out.startswith("sap\n  scores:     sap\n")


def test_an_unknown_metric_is_a_one_line_error(capsys):
    assert main(["metrics", "migg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("disbench metrics: error: unknown metric 'migg'; registered metrics:")


def test_evaluate_prints_a_table_and_writes_the_store(tmp_path, capsys):
    from tests.benchmark.encoders import save_linear_encoder

    save_linear_encoder(tmp_path / "linear.pt", n_pixels=16 * 16)
    args = ["evaluate", str(tmp_path / "linear.pt"), "toy", "--metrics", "mig,sap"]
    args += ["--num-train", "400", "--num-test", "200", "--store", str(tmp_path / "store")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("linear on toy (seed 0)\n")
    lines = [line.split() for line in out.splitlines()[1:]]
    assert lines[0] == ["metric", "score", "value"]
    assert [line[:2] for line in lines[1:3]] == [["mig", "mig"], ["sap", "sap"]]
    assert lines[3] == ["records:", str(tmp_path / "store")]
    assert len(list((tmp_path / "store").glob("*.json"))) == 2
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["metric"] for row in rows} == {"mig", "sap"}
    assert all(set(row) == {"model", "dataset", "metric", "score", "value", "seed"} for row in rows)


def test_evaluate_errors_are_one_line(tmp_path):
    from tests.benchmark.encoders import save_linear_encoder

    result = run_disbench("evaluate", str(tmp_path / "missing.pt"), "toy")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "missing.pt" in result.stderr
    save_linear_encoder(tmp_path / "linear.pt", n_pixels=16 * 16)
    result = run_disbench("evaluate", str(tmp_path / "linear.pt"), "no-such-dataset")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no-such-dataset" in result.stderr
    result = run_disbench("evaluate", "threedots_vae", "toy", "--input-range", "0-255")
    assert result.returncode == 2 and "expected LOW,HIGH" in result.stderr


def test_datasets_lists_every_data_set(capsys):
    from disbench.benchmark.datasets import list_datasets

    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for info in list_datasets():
        assert f"\n{info.name}\n" in f"\n{out}"
    assert "threedots\n  factors:    x0 64, y0 64" in out
