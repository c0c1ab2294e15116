"""Comparison tables: mean ± std over seeds, ranks, filters, rank correlation, formats."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from disbench.results.frame import load
from disbench.results.tables import (
    FORMATS,
    Comparison,
    compare,
    format_table,
    rank_correlation,
    select,
    summarize,
)
from tests.results.test_frame import MODELS, build_store

LABELS = sorted(MODELS)  # the table's row order: model labels by name


@pytest.fixture(scope="module")
def contents(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def frame(contents):
    return load(contents.root)


def column_name(dataset, metric, variant, score, *, with_dataset=True):
    label = metric if score == metric else f"{metric}.{score}"
    label += f"[{variant}]" if variant else ""
    return f"{dataset}: {label}" if with_dataset else label


def expected_stats(contents, *, with_dataset=True):
    """Mean, std (ddof=1) and count of every (model, column), from the values written,
    computed with numpy; and each column's direction."""
    seeds = defaultdict(list)
    directions = {}
    for (model, dataset, metric, variant, score, _), value in contents.values.items():
        column = column_name(dataset, metric, variant, score, with_dataset=with_dataset)
        seeds[model, column].append(value)
        directions[column] = contents.directions[model, dataset, metric, variant, score, _]
    stats = {}
    for cell, values in seeds.items():
        finite = np.array([v for v in values if not math.isnan(v)])
        std = finite.std(ddof=1) if len(finite) > 1 else math.nan
        stats[cell] = (finite.mean(), std, len(finite))
    return stats, directions


def tidy(rows):
    """A tidy frame by hand: ``(model, score, direction, [values over seeds])`` per row."""
    records = [
        {
            "model": model,
            "dataset": "toy",
            "metric": score,
            "variant": "",
            "score": score,
            "value": value,
            "seed": seed,
            "direction": direction,
        }
        for model, score, direction, values in rows
        for seed, value in enumerate(values)
    ]
    return pd.DataFrame(records)


def test_summarize_gives_mean_std_and_count_over_seeds(frame, contents):
    summary = summarize(frame)
    expected, directions = expected_stats(contents)
    assert len(summary) == len(expected)
    for row in summary.itertuples(index=False):
        mean, std, count = expected[row.model, row.column]
        np.testing.assert_allclose(row.mean, mean, rtol=1e-12)
        np.testing.assert_allclose(row.std, std, rtol=1e-12)  # NaN equals NaN here
        assert row.count == count and row.direction == directions[row.column]
    counts = summary.set_index(["model", "column"])["count"]
    # two seeds stored; three seeds, one failed; three seeds, one NaN (left out of the mean)
    assert counts["factorvae", "shapes3d: dci.completeness"] == 2
    assert counts["dipvae", "shapes3d: irs"] == 2
    assert counts["dipvae", "dsprites: unsupervised.mutual_info_score"] == 2
    assert counts["dipvae", "shapes3d: dci.completeness"] == 3


def test_compare_pivots_models_by_columns(frame, contents):
    table = compare(frame)
    expected, directions = expected_stats(contents)
    assert list(table.mean.index) == LABELS
    scores = [
        "dci.disentanglement",
        "dci.completeness",
        "irs",
        "irs.num_active_dims",
    ]
    unsupervised = [
        "unsupervised.gaussian_total_correlation",
        "unsupervised.mutual_info_score",
    ]
    assert list(table.mean.columns) == [
        *(f"dsprites: {c}" for c in [*scores, "mig[carbonneau]", "mig[dlib]", *unsupervised]),
        *(f"shapes3d: {c}" for c in [*scores, "mig", *unsupervised]),
    ]
    for (model, column), (mean, std, count) in expected.items():
        np.testing.assert_allclose(table.mean.at[model, column], mean, rtol=1e-12)
        np.testing.assert_allclose(table.std.at[model, column], std, rtol=1e-12)
        assert table.count.at[model, column] == count
    assert table.directions.to_dict() == directions
    assert (table.count.dtypes == np.int64).all()


def test_one_data_set_drops_the_data_set_from_the_columns(frame, contents):
    table = compare(frame, datasets=["shapes3d"])
    assert list(table.mean.columns) == [
        "dci.disentanglement",
        "dci.completeness",
        "irs",
        "irs.num_active_dims",
        "mig",
        "unsupervised.gaussian_total_correlation",
        "unsupervised.mutual_info_score",
    ]
    expected, _ = expected_stats(contents)
    assert table.mean.at["dipvae", "mig"] == pytest.approx(expected["dipvae", "shapes3d: mig"][0])


def test_ranks_and_best_follow_each_column_s_direction(frame):
    table = compare(frame)
    rank, best = table.rank, table.best
    for column, direction in table.directions.items():
        means = table.mean[column].to_numpy()
        if direction == 0:  # ranks nothing
            assert rank[column].isna().all() and not best[column].any()
            continue
        expected = scipy.stats.rankdata(-direction * means, method="min")
        np.testing.assert_array_equal(rank[column].to_numpy(), expected)
        winner = np.argmax(means) if direction > 0 else np.argmin(means)
        assert best[column].tolist() == [i == winner for i in range(len(means))]
    lower = "dsprites: unsupervised.gaussian_total_correlation"
    assert table.directions[lower] == -1
    assert best[lower].idxmax() == table.mean[lower].idxmin()
    mean_rank = rank.mean(axis=1)
    pd.testing.assert_series_equal(table.mean_rank, mean_rank, check_names=False)


def test_ties_share_rank_one_and_are_all_marked():
    table = compare(
        tidy(
            [
                ("m1", "high", 1, [0.9, 0.7]),
                ("m2", "high", 1, [0.8, 0.8]),
                ("m3", "high", 1, [0.1, 0.3]),
                ("m1", "low", -1, [0.1, 0.1]),
                ("m2", "low", -1, [0.5, 0.1]),
                ("m3", "low", -1, [0.2, 0.0]),
                ("m1", "size", 0, [3, 4]),
                ("m2", "size", 0, [9, 9]),
                ("m3", "size", 0, [1, 1]),
            ]
        )
    )
    assert table.rank[["high", "low"]].to_dict() == {
        "high": {"m1": 1.0, "m2": 1.0, "m3": 3.0},
        "low": {"m1": 1.0, "m2": 3.0, "m3": 1.0},
    }
    assert table.rank["size"].isna().all()
    assert table.best.to_dict() == {
        "high": {"m1": True, "m2": True, "m3": False},
        "low": {"m1": True, "m2": False, "m3": True},
        "size": {"m1": False, "m2": False, "m3": False},
    }
    assert table.mean_rank.to_dict() == {"m1": 1.0, "m2": 2.0, "m3": 2.0}
    text = format_table(table, "markdown")
    assert "**0.800 ± 0.141**" in text and "**0.800 ± 0.000**" in text
    assert text.count("**") == 2 * 4  # two best in "high", two in "low", none in "size"


def test_filters_keep_data_sets_metrics_scores_and_models(frame):
    table = compare(frame, datasets=["dsprites"], metrics=["dci.completeness", "mig"])
    assert list(table.mean.columns) == ["dci.completeness", "mig[carbonneau]", "mig[dlib]"]
    chosen = select(frame, datasets=["dsprites"], metrics=["dci.completeness", "mig"])
    assert set(chosen["score"]) == {"completeness", "mig"}
    assert set(chosen["dataset"]) == {"dsprites"}
    table = compare(frame, metrics=["irs"], models=["b/betavae.pt", "dipvae"])
    assert list(table.mean.index) == ["b/betavae.pt", "dipvae"]
    assert list(table.mean.columns) == [
        f"{d}: irs{s}" for d in ("dsprites", "shapes3d") for s in ("", ".num_active_dims")
    ]
    assert len(select(frame)) == len(frame)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"datasets": ["mpi3d"]}, r"no data set mpi3d in the store; it has: dsprites, shapes3d$"),
        (
            {"metrics": ["mig", "dci.complete"]},
            r"no metric dci.complete in the store; it has: dci \(disentanglement, "
            r"completeness\), irs \(irs, num_active_dims\), mig, unsupervised \(",
        ),
        (
            {"models": ["betavae"]},
            r"no model betavae in the store; it has: a/betavae.pt, b/betavae.pt, dipvae, "
            r"factorvae$",
        ),
    ],
)
def test_a_filter_that_matches_nothing_names_what_the_store_has(frame, filters, message):
    with pytest.raises(ValueError, match=message):
        compare(frame, **filters)


def test_filters_that_leave_nothing_together_are_an_error(frame):
    only_dsprites = frame[~((frame["dataset"] == "shapes3d") & (frame["metric"] == "irs"))]
    only_dsprites = only_dsprites[
        ~((only_dsprites["dataset"] == "dsprites") & (only_dsprites["metric"] == "dci"))
    ]
    with pytest.raises(ValueError, match=r"no results for data set shapes3d and metric irs "):
        select(only_dsprites, datasets=["shapes3d"], metrics=["irs"])


def test_rank_correlation_is_spearman_on_the_oriented_means(frame, contents):
    correlation = rank_correlation(frame, dataset="dsprites")
    expected, directions = expected_stats(contents)
    prefix = "dsprites: "
    ranked = sorted(
        c.removeprefix(prefix) for c in directions if c.startswith(prefix) and directions[c]
    )
    assert sorted(correlation.columns) == ranked == sorted(correlation.index)
    oriented = np.array(
        [
            [expected[model, prefix + c][0] * directions[prefix + c] for c in ranked]
            for model in LABELS
        ]
    )
    rho = scipy.stats.spearmanr(oriented).statistic
    np.testing.assert_allclose(correlation.loc[ranked, ranked].to_numpy(), rho, atol=1e-12)
    # one data set in the frame: no need to name it
    one = frame[frame["dataset"] == "dsprites"]
    pd.testing.assert_frame_equal(rank_correlation(one), correlation)


def test_rank_correlation_orients_lower_is_better_scores():
    # "low" orders the models as "high" does once negated: correlation +1
    frame = tidy(
        [
            ("m1", "high", 1, [0.9]),
            ("m2", "high", 1, [0.5]),
            ("m3", "high", 1, [0.1]),
            ("m1", "low", -1, [0.0]),
            ("m2", "low", -1, [0.2]),
            ("m3", "low", -1, [0.7]),
            ("m1", "flat", 1, [0.5]),  # constant: left out
            ("m2", "flat", 1, [0.5]),
            ("m3", "flat", 1, [0.5]),
        ]
    )
    correlation = rank_correlation(frame)
    assert correlation.to_dict() == {
        "high": {"high": 1.0, "low": 1.0},
        "low": {"high": 1.0, "low": 1.0},
    }


def test_rank_correlation_refuses_several_data_sets_and_few_models(frame):
    with pytest.raises(ValueError, match=r"per data set; choose one of dsprites, shapes3d"):
        rank_correlation(frame)
    two = select(frame, models=["dipvae", "factorvae"])
    with pytest.raises(ValueError, match=r"at least 3 models with scores; the store has 2"):
        rank_correlation(two, dataset="shapes3d")


# ---- output formats ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def table(frame):
    return compare(frame, datasets=["dsprites"])


def cell(table: Comparison, model: str, column: str, precision: int = 3) -> str:
    """The cell text as the tables should print it, from the Comparison's numbers."""
    mean, std = table.mean.at[model, column], table.std.at[model, column]
    text = f"{mean:.{precision}f}"
    if table.count.at[model, column] > 1:
        text += f" ± {std:.{precision}f}"
    return text


@pytest.mark.parametrize("ranks", [False, True])
def test_csv_parses_back_to_the_same_numbers(table, ranks):
    parsed = pd.read_csv(io.StringIO(format_table(table, "csv", ranks=ranks)), index_col="model")
    assert table.mean.index.name is None  # the Comparison is left as it was
    order = table.mean_rank.sort_values(kind="stable").index if ranks else table.mean.index
    assert list(parsed.index) == list(order)
    parts = {"mean": table.mean, "std": table.std, "n": table.count}
    if ranks:
        parts["rank"] = table.rank
        pd.testing.assert_series_equal(
            parsed["mean rank"], table.mean_rank.loc[order], check_names=False, check_exact=True
        )
    expected_columns = [f"{c} {part}" for c in table.mean.columns for part in parts]
    assert list(parsed.columns) == (["mean rank"] if ranks else []) + expected_columns
    for column in table.mean.columns:
        for part, numbers in parts.items():
            got = parsed[f"{column} {part}"].to_numpy(dtype=float)
            want = numbers[column].loc[order].to_numpy(dtype=float)
            np.testing.assert_array_equal(got, want)  # exact: NaN where NaN


def test_markdown_is_a_pipe_table_with_the_best_in_bold(table):
    text = format_table(table, "markdown")
    lines = text.splitlines()
    header, align, *rows = lines[: 2 + len(LABELS)]
    columns = list(table.mean.columns)
    assert header == "| " + " | ".join(["model", *columns]) + " |"
    assert align == "|:---|" + "|".join(["---:"] * len(columns)) + "|"
    assert lines[2 + len(LABELS)] == ""
    assert "best per column marked" in lines[3 + len(LABELS)]
    assert "lower is better for unsupervised.gaussian_total_correlation" in text
    for model, row in zip(LABELS, rows, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == model and len(cells) == 1 + len(columns)
        for column, got in zip(columns, cells[1:], strict=True):
            want = cell(table, model, column)
            assert got == (f"**{want}**" if table.best.at[model, column] else want)
    assert sum(row.count("**") // 2 for row in rows) == int(table.best.to_numpy().sum())


class TableParser(HTMLParser):
    """Rows of (text, bold) cells of an HTML table, its header and caption."""

    def __init__(self):
        super().__init__()
        self.rows, self.caption, self._cell, self._bold, self._in = [], "", None, False, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell, self._bold = "", False
        elif tag == "b":
            self._bold = True
        elif tag == "caption":
            self._in = "caption"

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append((tag, self._cell, self._bold))
            self._cell = None
        elif tag == "caption":
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._in == "caption":
            self.caption += data


def test_html_parses_back_with_the_best_in_bold(table):
    parser = TableParser()
    parser.feed(format_table(table, "html"))
    header, *rows = parser.rows
    columns = list(table.mean.columns)
    assert [text for _, text, _ in header] == ["model", *columns]
    assert len(rows) == len(LABELS)
    for model, row in zip(LABELS, rows, strict=True):
        assert row[0] == ("th", model, False)
        for column, (tag, text, bold) in zip(columns, row[1:], strict=True):
            assert tag == "td" and text == cell(table, model, column)
            assert bold == bool(table.best.at[model, column])
    assert "mean ± std over 2/3 seed(s)" in parser.caption


def test_html_escapes_model_names():
    table = compare(tidy([("<b>&co", "s", 1, [0.5]), ("x", "s", 1, [0.1])]))
    text = format_table(table, "html")
    assert "<th>&lt;b&gt;&amp;co</th>" in text
    parser = TableParser()
    parser.feed(text)
    assert parser.rows[1][0] == ("th", "<b>&co", False)


def latex_rows(text: str) -> tuple[str, list[str], list[str]]:
    """The tabular's column spec, header cells and body rows; checks the booktabs rules."""
    lines = text.strip().splitlines()
    spec = re.fullmatch(r"\\begin\{tabular\}\{(lr*)\}", lines[0])
    assert spec, lines[0]
    assert lines[1] == r"\toprule" and lines[3] == r"\midrule"
    assert lines[-2:] == [r"\bottomrule", r"\end{tabular}"]
    for line in [lines[2], *lines[4:-2]]:
        assert line.endswith(r" \\")
    return spec.group(1), lines[2], lines[4:-2]


def split_cells(row: str) -> list[str]:
    """A row's cells, at the ``&`` that LaTeX reads as separators (not ``\\&``)."""
    return [c.strip() for c in re.split(r"(?<!\\)&", row.removesuffix(r" \\"))]


def test_latex_is_a_booktabs_tabular(table):
    text = format_table(table, "latex")
    spec, header, rows = latex_rows(text)
    columns = list(table.mean.columns)
    assert spec == "l" + "r" * len(columns)
    assert len(rows) == len(LABELS)
    head = split_cells(header)
    assert len(head) == 1 + len(columns)
    assert head[1:3] == [r"dci.disentanglement", r"dci.completeness"]
    assert r"irs.num\_active\_dims" in head
    assert not re.search(r"(?<!\\)_", text)  # every underscore escaped
    for model, row in zip(LABELS, rows, strict=True):
        cells = split_cells(row)
        assert len(cells) == 1 + len(columns) and cells[0] == model
        for column, got in zip(columns, cells[1:], strict=True):
            want = cell(table, model, column).replace(" ± ", r" $\pm$ ")
            assert got == (rf"\textbf{{{want}}}" if table.best.at[model, column] else want)


def test_latex_escapes_special_characters_and_negative_numbers():
    name = r"a_b&c%d#e$f{g}h~i^j\k"
    table = compare(tidy([(name, "x_y", 1, [-0.25, -0.75]), ("m", "x_y", 1, [0.5])]))
    _, header, rows = latex_rows(format_table(table, "latex", ranks=True))
    assert split_cells(header) == ["Model", "Mean rank", r"x\_y"]
    first, second = (split_cells(row) for row in rows)
    assert second[0] == (
        r"a\_b\&c\%d\#e\$f\{g\}h\textasciitilde{}i\textasciicircum{}j\textbackslash{}k"
    )
    assert second[1:] == ["2.00", r"$-$0.500 $\pm$ 0.354 (2)"]
    assert first == ["m", "1.00", r"\textbf{0.500 (1)}"]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_in_a_booktabs_document(table, tmp_path):
    body = format_table(table, "latex", ranks=True)
    document = "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage[T1]{fontenc}",
            r"\usepackage{booktabs}",
            r"\usepackage[landscape,margin=1cm]{geometry}",
            r"\begin{document}",
            r"\tiny",
            body,
            r"\end{document}",
        ]
    )
    (tmp_path / "table.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "table.pdf").stat().st_size > 0


def test_text_marks_the_best_with_a_star(table):
    text = format_table(table, "text")
    lines = text.splitlines()
    columns = list(table.mean.columns)
    assert lines[0].split() == columns
    for model, line in zip(LABELS, lines[1 : 1 + len(LABELS)], strict=True):
        assert line.startswith(model)
        for column in columns:
            want = cell(table, model, column)
            assert (want + " *" in line) == bool(table.best.at[model, column]), (model, column)
            assert want in line
    assert lines[-1].startswith("* mean ± std over 2/3 seed(s); best per column marked")


def test_ranks_order_the_models_and_show_in_each_cell(table):
    text = format_table(table, "markdown", ranks=True)
    rows = text.splitlines()[2 : 2 + len(LABELS)]
    order = table.mean_rank.sort_values(kind="stable")
    assert [r.split("|")[1].strip() for r in rows] == list(order.index)
    assert [r.split("|")[2].strip() for r in rows] == [f"{v:.2f}" for v in order]
    first = order.index[0]
    for column in table.mean.columns:
        rank = table.rank.at[first, column]
        shown = rows[0].split("|")[3 + list(table.mean.columns).index(column)].strip()
        if np.isnan(rank):
            assert not shown.endswith(")")
        else:
            assert shown.strip("*").endswith(f"({int(rank)})")


def test_precision_and_missing_cells():
    table = compare(
        tidy([("m1", "a", 1, [0.123456, 0.2]), ("m1", "b", 1, [0.5]), ("m2", "a", 1, [0.9])])
    )
    text = format_table(table, "text", precision=5)
    assert "0.16173 ± 0.05412" in text and "0.90000 *" in text
    row = next(line for line in text.splitlines() if line.startswith("m2"))
    assert row.rstrip().endswith("–")  # m2 has no score b
    assert "mean ± std over 1/2 seed(s)" in text


def test_a_column_that_ranks_nothing_has_no_mean_rank():
    table = compare(tidy([("m1", "size", 0, [3]), ("m2", "size", 0, [4])]))
    text = format_table(table, "markdown", ranks=True)
    assert "| m1 | – | 3.000 |" in text and "**" not in text


def test_unknown_format_and_empty_table_are_errors(table, tmp_path):
    with pytest.raises(ValueError, match=r"unknown table format 'pdf'; choose one of text, "):
        format_table(table, "pdf")
    empty = compare(load(tmp_path / "none"))
    for fmt in FORMATS:
        with pytest.raises(ValueError, match=r"no scores to tabulate"):
            format_table(empty, fmt)
