"""``disbench compare``: tables of a store from the command line."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from disbench.cli import main
from disbench.results.frame import load
from disbench.results.tables import compare
from tests.results.test_frame import build_store


@pytest.fixture
def contents(tmp_path):
    return build_store(tmp_path / "store")


@pytest.fixture
def default_store(tmp_path, monkeypatch):
    """``$DISBENCH_STORE`` pointing at a fresh folder of this test's own."""
    root = tmp_path / "default-store"
    monkeypatch.setenv("DISBENCH_STORE", str(root))
    return root


def rows_of(text: str) -> dict[str, list[str]]:
    """The text table's body rows by model label, split into cells at runs of 2+ spaces."""
    lines = text.split("\n\n")[0].splitlines()[1:]
    return {
        line.split()[0]: [c.strip() for c in line.split("  ")[1:] if c.strip()] for line in lines
    }


def test_compare_prints_the_text_table(contents, capsys):
    assert main(["compare", "--store", str(contents.root), "--dataset", "shapes3d"]) == 0
    out, err = capsys.readouterr()
    assert err == "disbench compare: 1 error record(s) left out (metrics: irs)\n"
    header = out.splitlines()[0].split()
    assert header == [
        "dci.disentanglement",
        "dci.completeness",
        "irs",
        "irs.num_active_dims",
        "mig",
        "unsupervised.gaussian_total_correlation",
        "unsupervised.mutual_info_score",
    ]
    table = compare(load(contents.root), datasets=["shapes3d"])
    rows = rows_of(out)
    assert list(rows) == ["a/betavae.pt", "b/betavae.pt", "dipvae", "factorvae"]
    for model, cells in rows.items():
        assert len(cells) == len(header)
        for column, text in zip(header, cells, strict=True):
            mean, std = table.mean.at[model, column], table.std.at[model, column]
            number = f"{mean:.3f} ± {std:.3f}"
            assert text.strip() == (number + " *" if table.best.at[model, column] else number)
    assert "lower is better for unsupervised.gaussian_total_correlation" in out


def test_markdown_to_a_file(contents, tmp_path, capsys):
    output = tmp_path / "table.md"
    args = ["compare", "--store", str(contents.root), "--format", "markdown"]
    assert main([*args, "--precision", "2", "--output", str(output)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"table: {output}\n")
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("| model | dsprites: dci.disentanglement | ")
    assert lines[1].startswith("|:---|---:|")
    assert [line.split(" | ")[0] for line in lines[2:6]] == [
        "| a/betavae.pt",
        "| b/betavae.pt",
        "| dipvae",
        "| factorvae",
    ]
    assert lines[6] == "" and "best per column marked" in lines[7]
    # two decimals
    assert all(
        len(number.split(".")[1]) == 2
        for line in lines[2:6]
        for cell in line.split(" | ")[1:]
        for number in cell.strip(" |*").split(" ± ")
    )


def test_csv_with_ranks_parses(contents, capsys):
    args = ["compare", "--store", str(contents.root), "--dataset", "dsprites"]
    assert main([*args, "--metric", "mig", "--format", "csv", "--ranks"]) == 0
    parsed = pd.read_csv(io.StringIO(capsys.readouterr().out), index_col="model")
    table = compare(load(contents.root), datasets=["dsprites"], metrics=["mig"])
    assert list(parsed.columns[:4]) == [
        "mean rank",
        "mig[carbonneau] mean",
        "mig[carbonneau] std",
        "mig[carbonneau] n",
    ]
    np.testing.assert_array_equal(
        parsed["mig[dlib] mean"].to_numpy(), table.mean["mig[dlib]"].loc[parsed.index].to_numpy()
    )
    assert parsed["mean rank"].is_monotonic_increasing


def test_filters_pick_data_sets_scores_and_models(contents, capsys):
    args = ["compare", "--store", str(contents.root), "--dataset", "dsprites"]
    args += ["--metric", "dci.completeness,unsupervised", "--model", "dipvae,b/betavae.pt"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "dci.completeness",
        "unsupervised.gaussian_total_correlation",
        "unsupervised.mutual_info_score",
    ]
    assert list(rows_of(out)) == ["b/betavae.pt", "dipvae"]


def test_a_filter_that_matches_nothing_is_a_one_line_error(contents, capsys):
    assert main(["compare", "--store", str(contents.root), "--metric", "mgi"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("disbench compare: error: no metric mgi in the store; it has: dci (")
    assert err.count("\n") == 1


def test_a_corrupt_file_is_reported_and_the_table_still_comes(contents, capsys):
    (contents.root / "corrupt.json").write_text('{"schema_version": 1, "key": ', encoding="utf-8")
    (contents.root / "notes.json").write_text(json.dumps({"a": 1}), encoding="utf-8")
    assert main(["compare", "--store", str(contents.root)]) == 0
    out, err = capsys.readouterr()
    assert list(rows_of(out)) == ["a/betavae.pt", "b/betavae.pt", "dipvae", "factorvae"]
    lines = err.splitlines()
    assert "disbench compare: skipped corrupt.json: unreadable: " in lines[0]
    assert "disbench compare: skipped notes.json: not a disbench result record" in lines
    # the error record in the store is counted, not tabulated
    assert lines[-1] == "disbench compare: 1 error record(s) left out (metrics: irs)"


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_an_empty_store_exits_2_with_one_line(tmp_path, capsys, kind):
    root = tmp_path / "store"
    if kind == "empty":
        root.mkdir()
    assert main(["compare", "--store", str(root)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"disbench compare: error: the store {root} holds no results; "
        "run `disbench evaluate` first\n"
    )


def test_the_default_store_is_disbench_store(contents, monkeypatch, capsys):
    monkeypatch.setenv("DISBENCH_STORE", str(contents.root))
    assert main(["compare", "--metric", "mig"]) == 0
    assert list(rows_of(capsys.readouterr().out)) == [
        "a/betavae.pt",
        "b/betavae.pt",
        "dipvae",
        "factorvae",
    ]


def write_codes(path, seed: int, noise: float) -> None:
    """An npz of precomputed codes: 2 codes follow the 2 factors (with ``noise``), 2 do not."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, size=(600, 2))
    codes = np.concatenate(
        [factors + rng.normal(scale=noise, size=factors.shape), rng.normal(size=(600, 2))],
        axis=1,
    )
    np.savez(path, codes=codes.astype(np.float32), factors=factors)


def test_evaluate_writes_the_default_store_and_compare_shows_it(tmp_path, default_store, capsys):
    # one factor table, two models: the codes files share their factors (same seed)
    write_codes(tmp_path / "sharp.npz", seed=1, noise=0.1)
    write_codes(tmp_path / "blurry.npz", seed=1, noise=2.0)
    scores = {}
    for name in ("sharp", "blurry"):
        args = ["evaluate", str(tmp_path / f"{name}.npz"), "--metrics", "mig,sap"]
        assert main([*args, "--num-train", "300", "--num-test", "200", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        scores[name] = {row["metric"]: row["value"] for row in rows}
    assert len(list(default_store.glob("*.json"))) == 4

    assert main(["compare", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    parsed = pd.read_csv(io.StringIO(out), index_col="model")
    assert list(parsed.index) == ["blurry", "sharp"]
    for name, values in scores.items():
        for metric, value in values.items():
            # --json prints 10 significant digits
            assert parsed.at[name, f"{metric} mean"] == pytest.approx(value, rel=1e-9)
            assert parsed.at[name, f"{metric} n"] == 1
    assert scores["sharp"]["mig"] > scores["blurry"]["mig"]

    assert main(["compare"]) == 0
    rows = rows_of(capsys.readouterr().out)
    assert rows["sharp"] == [f"{scores['sharp']['mig']:.3f} *", f"{scores['sharp']['sap']:.3f} *"]
