"""The ``disbench`` command as a user runs it."""

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
