"""Comparison tables: models × metric scores, mean ± std over seeds, ranks.

Everything starts from the tidy frame of ``disbench.results.load``. ``compare`` pivots it
into a ``Comparison`` — the DataFrames behind the table (means, standard deviations,
counts, ranks) — and ``format_table`` writes that as a terminal table, Markdown, LaTeX
(booktabs), CSV or HTML, the best model of each column marked. ``rank_correlation`` gives
the Spearman correlation between metrics across models (Locatello et al. 2019, Fig. 4).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The output formats of ``format_table``.
FORMATS = ("text", "markdown", "latex", "csv", "html")


@dataclass(frozen=True)
class Comparison:
    """The DataFrames behind a comparison table: models (rows) × score columns.

    ``mean``, ``std`` (sample standard deviation over seeds, NaN with one seed) and
    ``count`` (seeds) share their index and columns. ``directions`` gives each column's
    direction (1 higher is better, -1 lower, 0 ranks nothing). ``rank`` is each model's
    rank in each column, 1 the best (ties share the better rank), NaN for unranked columns.
    """

    mean: pd.DataFrame
    std: pd.DataFrame
    count: pd.DataFrame
    directions: pd.Series

    @property
    def rank(self) -> pd.DataFrame:
        """Rank of each model per column (1 best; NaN for a column that ranks nothing)."""
        oriented = self.mean * self.directions.replace(0, np.nan)
        return oriented.rank(ascending=False, method="min")

    @property
    def mean_rank(self) -> pd.Series:
        """Each model's rank averaged over the ranked columns it has."""
        return self.rank.mean(axis=1).rename("mean rank")

    @property
    def best(self) -> pd.DataFrame:
        """True where a model has the best mean of its column (every tied model)."""
        return self.rank == 1


def column_label(metric: str, score: str, variant: str = "", dataset: str | None = None) -> str:
    """``mig`` for a metric's own score, ``dci.completeness`` otherwise; ``[variant]`` and
    ``dataset:`` added where they are needed to tell columns apart."""
    label = metric if score == metric else f"{metric}.{score}"
    if variant:
        label += f"[{variant}]"
    return f"{dataset}: {label}" if dataset else label


def select(
    frame: pd.DataFrame,
    *,
    datasets: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of ``frame`` for these data sets, metrics and models (None keeps all).

    A metric may be named (``dci``) or one of its scores picked (``dci.completeness``).
    ``ValueError`` when a name matches nothing in the frame (naming what it holds), or when
    the filters together leave nothing.
    """
    mask = pd.Series(True, index=frame.index)
    if datasets:
        mask &= _matching(frame["dataset"], datasets, "data set")
    if metrics:
        picked = frame["metric"] + "." + frame["score"]
        known = set(frame["metric"].unique()) | set(picked.unique())
        unknown = [name for name in metrics if name not in known]
        if unknown:
            raise ValueError(
                f"no metric {', '.join(unknown)} in the store; it has: {_metric_names(frame)}"
            )
        mask &= frame["metric"].isin(metrics) | picked.isin(metrics)
    if models:
        mask &= _matching(frame["model"], models, "model")
    chosen = frame[mask]
    given = {"data set": datasets, "metric": metrics, "model": models}
    if len(frame) and not len(chosen):
        raise ValueError(
            "no results for "
            + " and ".join(f"{what} {', '.join(names)}" for what, names in given.items() if names)
            + " together"
        )
    return chosen


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds per (data set, column, model).

    Columns: ``dataset, column, metric, variant, score, model, mean, std, count,
    direction``; ``column`` is the label of ``column_label`` (with the data set when the
    frame holds several).
    """
    columns = [
        "dataset",
        "column",
        "metric",
        "variant",
        "score",
        "model",
        "mean",
        "std",
        "count",
        "direction",
    ]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    keys = ["dataset", "metric", "variant", "score", "model"]
    grouped = frame.groupby(keys, sort=False)
    summary = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    summary["direction"] = grouped["direction"].first().to_numpy()
    several = frame["dataset"].nunique() > 1
    summary["column"] = [
        column_label(m, s, v, d if several else None)
        for d, m, v, s in summary[["dataset", "metric", "variant", "score"]].itertuples(index=False)
    ]
    # lexicographic sorts on several keys are stable: scores keep their reported order
    summary = summary.sort_values(["dataset", "metric", "variant"])
    return summary[columns].reset_index(drop=True)


def compare(
    frame: pd.DataFrame,
    *,
    datasets: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> Comparison:
    """Pivot the tidy frame (``disbench.results.load``) into a ``Comparison``.

    Rows are models in name order; columns are scores in data set and metric-name order,
    each metric's scores in the order it reports them.
    """
    summary = summarize(select(frame, datasets=datasets, metrics=metrics, models=models))
    columns = list(dict.fromkeys(summary["column"]))
    index = sorted(summary["model"].unique(), key=str)

    def pivot(value: str) -> pd.DataFrame:
        table = summary.pivot(index="model", columns="column", values=value)
        table = table.reindex(index=index, columns=columns)
        table.columns.name = table.index.name = None
        return table

    directions = summary.drop_duplicates("column").set_index("column")["direction"]
    return Comparison(
        mean=pivot("mean").astype(float),
        std=pivot("std").astype(float),
        count=pivot("count").fillna(0).astype(int),
        directions=directions.reindex(columns).astype(int),
    )


def rank_correlation(frame: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """Spearman rank correlation between score columns across models, on one data set.

    Each column is the models' mean over seeds, oriented so that higher is better (lower-
    is-better scores negated), so +1 means two scores order the models identically from
    best to worst. Columns that rank nothing or are constant across models are left out.
    As in Locatello et al. 2019 (Fig. 4), computed per data set: ``dataset`` may be
    omitted when the frame holds one.
    """
    names = frame["dataset"].unique()
    if dataset is None:
        if len(names) > 1:
            raise ValueError(
                "rank correlation is per data set; choose one of "
                + ", ".join(sorted(map(str, names)))
            )
    else:
        frame = select(frame, datasets=[dataset])
    table = compare(frame)
    oriented = table.mean * table.directions
    oriented = oriented.loc[:, (table.directions != 0) & (oriented.nunique() > 1)]
    oriented = oriented.dropna(how="all")
    if len(oriented) < 3:
        raise ValueError(
            f"rank correlation needs at least 3 models with scores; the store has {len(oriented)}"
        )
    return oriented.corr(method="spearman")


def format_table(
    table: Comparison, fmt: str = "text", *, ranks: bool = False, precision: int = 3
) -> str:
    """``table`` as text, Markdown, LaTeX (booktabs), CSV or HTML.

    Cells are ``mean ± std`` over seeds (the mean alone with one seed); the best model of
    each ranked column is marked — bold in Markdown, LaTeX and HTML, ``*`` in text. With
    ``ranks``, each cell also shows its rank and a ``mean rank`` column orders the models.
    CSV holds the numbers: ``<column> mean``, ``<column> std``, ``<column> n`` (and
    ``<column> rank``), in full precision.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "model": ["a", "a", "b", "b"], "dataset": "toy", "metric": "mig", "variant": "",
    ...     "score": "mig", "value": [0.5, 0.7, 0.2, 0.2], "seed": [0, 1, 0, 1],
    ...     "direction": 1})
    >>> print(format_table(compare(frame), "markdown"))
    | model | mig |
    |:---|---:|
    | a | **0.600 ± 0.141** |
    | b | 0.200 ± 0.000 |
    <BLANKLINE>
    mean ± std over 2 seed(s); best per column marked
    <BLANKLINE>
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if table.mean.empty:
        raise ValueError("no scores to tabulate: the store (after the filters) holds none")
    if ranks:
        order = table.mean_rank.sort_values(kind="stable").index
        table = Comparison(
            table.mean.loc[order], table.std.loc[order], table.count.loc[order], table.directions
        )
    if fmt == "csv":
        return _csv(table, ranks)
    cells = _cells(table, ranks, precision)
    return {"text": _text, "markdown": _markdown, "latex": _latex, "html": _html}[fmt](
        table, cells, ranks
    )


def _matching(column: pd.Series, wanted: Sequence[str], what: str) -> pd.Series:
    """Where ``column`` holds one of ``wanted``; ``ValueError`` for a name it never holds."""
    present = set(column.unique())
    unknown = [name for name in wanted if name not in present]
    if unknown:
        raise ValueError(
            f"no {what} {', '.join(unknown)} in the store; it has: "
            + ", ".join(sorted(map(str, present)))
        )
    return column.isin(wanted)


def _metric_names(frame: pd.DataFrame) -> str:
    """``dci (disentanglement, completeness), mig``: the metric names, each with its scores
    unless its one score bears its name."""
    scores = frame.groupby("metric")["score"].unique()
    return ", ".join(
        name if len(names) == 1 and names[0] == name else f"{name} ({', '.join(names)})"
        for name, names in scores.items()
    )


def _cells(table: Comparison, ranks: bool, precision: int) -> pd.DataFrame:
    """Cell text per model and column (no markup): ``0.612 ± 0.031 (2)``."""

    def number(value: float) -> str:
        return f"{value:.{precision}f}"

    text = table.mean.map(number)
    with_std = (table.count > 1) & np.isfinite(table.std)
    text = text.where(~with_std, text + " ± " + table.std.map(number))
    if ranks:
        rank = table.rank
        text = text.where(rank.isna(), text + " (" + rank.map(lambda r: f"{r:.0f}") + ")")
    return text.where(table.mean.notna(), "–").astype(object)


def _mean_rank(table: Comparison, model: str) -> str:
    value = table.mean_rank[model]
    return "–" if np.isnan(value) else f"{value:.2f}"


def _footer(table: Comparison) -> str:
    seeds = sorted(set(table.count.to_numpy().ravel()) - {0})
    counts = "/".join(map(str, seeds)) or "0"
    lower = [column for column, d in table.directions.items() if d < 0]
    note = f"mean ± std over {counts} seed(s); best per column marked"
    if lower:
        note += "; lower is better for " + ", ".join(lower)
    return note


def _text(table: Comparison, cells: pd.DataFrame, ranks: bool) -> str:
    marked = cells.where(~table.best, cells + " *")
    if ranks:
        marked.insert(0, "mean rank", [_mean_rank(table, model) for model in marked.index])
    body = marked.to_string()
    return f"{body}\n\n* {_footer(table)}\n"


def _markdown(table: Comparison, cells: pd.DataFrame, ranks: bool) -> str:
    marked = cells.where(~table.best, "**" + cells + "**")
    header = ["model", *(["mean rank"] if ranks else []), *map(str, cells.columns)]
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
    for model, row in marked.iterrows():
        extra = [_mean_rank(table, model)] if ranks else []
        lines.append("| " + " | ".join([_md_escape(str(model)), *extra, *row]) + " |")
    return "\n".join(lines) + f"\n\n{_footer(table)}\n"


def _latex(table: Comparison, cells: pd.DataFrame, ranks: bool) -> str:
    def tex(text: str) -> str:
        return re.sub(r"[\\&%$#_{}~^]", lambda match: _TEX_ESCAPES[match.group()], text)

    # cells hold only numbers, "±", ranks in parentheses and "–" for a missing score
    body = cells.map(
        lambda cell: cell.replace("-", "$-$").replace("±", r"$\pm$").replace("–", "--")
    )
    body = body.where(~table.best, r"\textbf{" + body + "}")
    header = ["Model", *(["Mean rank"] if ranks else []), *(tex(str(c)) for c in cells.columns)]
    spec = "l" + "r" * (len(header) - 1)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    for model, row in body.iterrows():
        extra = [_mean_rank(table, model).replace("–", "--")] if ranks else []
        lines.append(" & ".join([tex(str(model)), *extra, *row]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _html(table: Comparison, cells: pd.DataFrame, ranks: bool) -> str:
    header = ["model", *(["mean rank"] if ranks else []), *map(str, cells.columns)]
    lines = ['<table class="disbench-comparison">', "<thead>", "<tr>"]
    lines += [f"<th>{html.escape(h)}</th>" for h in header]
    lines += ["</tr>", "</thead>", "<tbody>"]
    for model, row in cells.iterrows():
        lines.append(f"<tr><th>{html.escape(str(model))}</th>")
        if ranks:
            lines.append(f"<td>{_mean_rank(table, model)}</td>")
        for column, cell in row.items():
            text = html.escape(cell)
            lines.append(
                f"<td><b>{text}</b></td>" if table.best.at[model, column] else f"<td>{text}</td>"
            )
        lines.append("</tr>")
    lines += ["</tbody>", f"<caption>{html.escape(_footer(table))}</caption>", "</table>"]
    return "\n".join(lines) + "\n"


def _csv(table: Comparison, ranks: bool) -> str:
    parts = {}
    rank = table.rank
    for column in table.mean.columns:
        parts[f"{column} mean"] = table.mean[column]
        parts[f"{column} std"] = table.std[column]
        parts[f"{column} n"] = table.count[column]
        if ranks:
            parts[f"{column} rank"] = rank[column]
    wide = pd.DataFrame(parts, index=table.mean.index)
    if ranks:
        wide.insert(0, "mean rank", table.mean_rank)
    # rename_axis, not ``index.name =``: the index is the Comparison's own object.
    # Full precision: every number parses back to the float it was.
    return wide.rename_axis("model").to_csv()


#: LaTeX for the characters that are special in its text.
_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|")
