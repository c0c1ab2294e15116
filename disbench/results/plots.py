"""Figures for papers: scores per model, rank correlation between metrics, MI matrices.

Everything is drawn with matplotlib's object API (``matplotlib.figure.Figure``), never
pyplot's global state, so figures can be made in worker threads and never open a window.
``write_plots`` is what ``disbench compare --plot DIR`` calls: per data set, the scores of
every model, the Spearman rank correlation between the scores (Locatello et al. 2019,
arXiv:1811.12359, Fig. 4) and the mutual-information matrix of each model's ``mig`` record.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from disbench.results.frame import load
from disbench.results.store import Store
from disbench.results.tables import Comparison, compare, rank_correlation, select

#: Metrics whose records hold ``arrays["mi_matrix"]`` of shape (n_codes, n_factors) in nats.
#: (``unsupervised``'s is codes × codes; ``local_mig``'s and ``local_modularity``'s hold one
#: matrix per neighbourhood.)
MI_MATRIX_METRICS = ("mig", "mig_sup", "jemmig", "dcimig", "modularity_explicitness")

#: Resolution of the PNG files ``save_figure`` writes.
PNG_DPI = 150

_BAR = "#9fb4cc"
_BEST = "#d95f02"
_NAN = "0.82"


def plot_scores(
    table: Comparison, *, columns: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """One bar chart per score column: each model's mean over seeds, with the std.

    Parameters
    ----------
    table : Comparison
        From ``disbench.results.tables.compare``.
    columns : sequence of str, default=None
        The score columns to draw, in this order; default all of ``table``'s.
    title : str, default=None
        Put before the figure's caption (e.g. the data set); the caption says what the
        bars and error bars are and over how many seeds.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per column, in a grid. Error bars are the sample std over seeds (none
        with one seed); the best model of a ranked column is highlighted (every tied one),
        and the panel title says when lower is better or the column ranks nothing. A model
        without that score gets no bar, only "n/a".

    Examples
    --------
    >>> import pandas as pd
    >>> mean = pd.DataFrame({"mig": [0.2, 0.4], "sap": [0.1, 0.05]}, index=["a", "b"])
    >>> seeds = pd.DataFrame(3, index=mean.index, columns=mean.columns)
    >>> table = Comparison(mean, mean * 0.1, seeds, pd.Series({"mig": 1, "sap": 1}))
    >>> figure = plot_scores(table)
    >>> [(ax.get_title().splitlines()[0], len(ax.patches)) for ax in figure.axes]
    [('mig', 2), ('sap', 2)]
    """
    chosen = list(table.mean.columns) if columns is None else list(columns)
    missing = [column for column in chosen if column not in table.mean.columns]
    if missing:
        raise ValueError(
            f"no score column {', '.join(map(repr, missing))} in the table; it has: "
            + ", ".join(map(str, table.mean.columns))
        )
    if not chosen or table.mean.empty:
        raise ValueError("no scores to plot: the table is empty")
    models = [str(model) for model in table.mean.index]
    longest = max(map(len, models))
    rotation = 0 if len(models) <= 3 and longest <= 10 else 45 if len(models) <= 12 else 90
    panel_width = max(3.0, (0.32 if len(models) <= 12 else 0.24) * len(models) + 1.0)
    # room below a panel for its slanted or vertical model names
    slant = {0: 0.0, 45: 0.75, 90: 1.0}[rotation]
    panel_height = 2.5 + 0.07 * min(longest, 40) * slant
    ncols = max(1, min(len(chosen), int(17 // panel_width)))
    nrows = math.ceil(len(chosen) / ncols)
    figure = Figure(figsize=(ncols * panel_width, nrows * panel_height + 0.5), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(chosen) :]:
        ax.remove()
    best = table.best
    x = np.arange(len(models))
    tick_size = 9 if len(models) <= 12 else 7
    for ax, column in zip(axes, chosen, strict=False):
        mean = table.mean[column].to_numpy(float)
        std = table.std[column].to_numpy(float)
        is_best = best[column].to_numpy(bool)
        has = np.isfinite(mean)
        colours = [_BEST if flag else _BAR for flag in is_best[has]]
        ax.bar(x[has], mean[has], color=colours, edgecolor="0.3", linewidth=0.5, width=0.75)
        spread = has & np.isfinite(std)
        ax.errorbar(
            x[spread], mean[spread], yerr=std[spread], fmt="none", ecolor="0.15", capsize=2.5, lw=1
        )
        for position in x[~has]:
            ax.text(position, 0, "n/a", ha="center", va="bottom", fontsize=7, color="0.4")
        ax.axhline(0, color="0.3", linewidth=0.6)
        ax.set_xticks(x, models, fontsize=tick_size)
        ax.tick_params(axis="x", labelrotation=rotation)
        if rotation == 45:
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
                label.set_rotation_mode("anchor")
        for label, flag in zip(ax.get_xticklabels(), is_best, strict=True):
            if flag:
                label.set_fontweight("bold")
                label.set_color(_BEST)
        ax.set_xlim(-0.6, len(models) - 0.4)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", color="0.9", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        direction = int(table.directions[column])
        note = {1: "", -1: "lower is better ↓", 0: "not ranked"}[direction]
        heading = _heading(str(column), int(panel_width * 12.5))
        ax.set_title(heading + (f"\n({note})" if note else ""), fontsize=9.5)
    seeds = sorted(set(table.count[chosen].to_numpy().ravel()) - {0})
    if seeds == [1]:
        caption = "one seed per model (no error bars); best model highlighted"
    else:
        counts = "/".join(map(str, seeds))
        caption = f"mean ± std over {counts} seeds; best model highlighted"
    figure.suptitle(f"{title}: {caption}" if title else caption, fontsize=11)
    return figure


def plot_rank_correlation(correlation: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Annotated heat map of the rank correlation between score columns.

    Parameters
    ----------
    correlation : pandas.DataFrame
        Square, the same labels on both axes, values in [-1, 1] (NaN allowed), e.g. from
        ``disbench.results.tables.rank_correlation``.
    title : str, default=None
        Axes title; default "Spearman rank correlation between scores".

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the heat map — a diverging colour map from -1 to 1 centred at 0, the
        value in each cell to two decimals (NaN cells grey and empty) — and a colour bar.

    Examples
    --------
    >>> import pandas as pd
    >>> rho = pd.DataFrame([[1.0, -0.5], [-0.5, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> ax = plot_rank_correlation(rho).axes[0]
    >>> [text.get_text() for text in ax.texts]
    ['1.00', '-0.50', '-0.50', '1.00']
    """
    if correlation.empty:
        raise ValueError("no rank correlation to plot: the DataFrame is empty")
    if list(correlation.index) != list(correlation.columns):
        raise ValueError(
            "correlation must be square with the same labels on both axes; got index "
            f"{list(correlation.index)} and columns {list(correlation.columns)}"
        )
    labels = [str(label) for label in correlation.columns]
    n = len(labels)
    cell = _cell_inches(n)
    label_room = 0.065 * min(max(map(len, labels)), 50)
    figure = Figure(
        figsize=(n * cell + label_room + 2.2, n * cell + 0.75 * label_room + 1.0),
        layout="constrained",
    )
    ax = figure.add_subplot()
    image = _heat_map(
        ax,
        correlation.to_numpy(float),
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-1.0, vmax=1.0),
        cmap="RdBu_r",
        cell=cell,
    )
    _cell_labels(ax, labels, labels, cell=cell)
    colour_bar = figure.colorbar(image, ax=ax, shrink=min(1.0, 5.0 / (n * cell)), aspect=25)
    colour_bar.set_label("Spearman rank correlation ρ")
    colour_bar.set_ticks([-1, -0.5, 0, 0.5, 1])
    ax.set_title(title or "Spearman rank correlation between scores", fontsize=10)
    return figure


def plot_mi_matrix(
    matrix: Any,
    *,
    factor_names: Sequence[str] | None = None,
    code_names: Sequence[str] | None = None,
    title: str | None = None,
    normalize_by: Any = None,
) -> Figure:
    """Annotated heat map of a model's mutual-information matrix, codes × factors.

    Parameters
    ----------
    matrix : array-like of shape (n_codes, n_factors)
        I(z_j; v_k) in nats; NaN where undefined.
    factor_names : sequence of str, default=None
        Column labels; default ``factor 0``, ``factor 1``, ...
    code_names : sequence of str, default=None
        Row labels; default ``z0``, ``z1``, ...
    title : str, default=None
        Axes title; default "Mutual information between codes and factors".
    normalize_by : array-like of shape (n_factors,), default=None
        The factor entropies H(v_k) in nats: then the cells are I(z_j; v_k) / H(v_k) on a
        0–1 scale, as MIG compares them (NaN for a factor with H = 0).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with the heat map — each finite cell annotated to two decimals, NaN cells
        grey and empty — and a colour bar labelled with the unit.

    Examples
    --------
    >>> import numpy as np
    >>> figure = plot_mi_matrix(np.array([[0.69, 0.01], [np.nan, 1.1]]), factor_names=["a", "b"])
    >>> [text.get_text() for text in figure.axes[0].texts]
    ['0.69', '0.01', '1.10']
    """
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(
            f"matrix must be 2D (n_codes, n_factors) and not empty; got shape {values.shape}"
        )
    n_codes, n_factors = values.shape
    factors = [f"factor {k}" for k in range(n_factors)] if factor_names is None else factor_names
    codes = [f"z{j}" for j in range(n_codes)] if code_names is None else code_names
    factors, codes = [str(name) for name in factors], [str(name) for name in codes]
    if len(factors) != n_factors:
        raise ValueError(f"{len(factors)} factor_names for a matrix of {n_factors} factors")
    if len(codes) != n_codes:
        raise ValueError(f"{len(codes)} code_names for a matrix of {n_codes} codes")
    if normalize_by is None:
        top = np.nanmax(values, initial=0.0)
        norm = Normalize(
            vmin=min(0.0, np.nanmin(values, initial=0.0)), vmax=top if top > 0 else 1.0
        )
        unit = "$I(z_j;\\, v_k)$  (nats)"
    else:
        entropy = np.asarray(normalize_by, dtype=float)
        if entropy.shape != (n_factors,):
            raise ValueError(
                f"normalize_by must hold one entropy per factor, shape ({n_factors},); "
                f"got shape {entropy.shape}"
            )
        # H(v_k) = 0 (a constant factor) leaves I / H undefined: NaN, drawn grey.
        positive = np.isfinite(entropy) & (entropy > 0)
        values = np.divide(values, entropy, out=np.full_like(values, np.nan), where=positive)
        norm = Normalize(vmin=min(0.0, np.nanmin(values, initial=0.0)), vmax=1.0)
        unit = "$I(z_j;\\, v_k)\\, /\\, H(v_k)$"
    cell = _cell_inches(max(n_codes, n_factors))
    factor_room = 0.065 * min(max(map(len, factors)), 40)
    code_room = 0.065 * min(max(map(len, codes)), 40)
    figure = Figure(
        figsize=(n_factors * cell + code_room + 2.3, n_codes * cell + 0.75 * factor_room + 1.2),
        layout="constrained",
    )
    ax = figure.add_subplot()
    image = _heat_map(ax, values, norm=norm, cmap="Blues", cell=cell)
    _cell_labels(ax, factors, codes, cell=cell)
    undefined = "\n(grey: undefined)" if np.isnan(values).any() else ""
    ax.set_xlabel("factor $v_k$" + undefined)
    ax.set_ylabel("code $z_j$")
    # MI / H can pass 1 by estimation bias (a kNN estimator): the bar then says so. It is
    # at most 5 inches long, also beside a tall matrix of many codes.
    above = np.nanmax(values, initial=norm.vmax) > norm.vmax
    colour_bar = figure.colorbar(
        image,
        ax=ax,
        shrink=min(1.0, 5.0 / (n_codes * cell)),
        aspect=25,
        extend="max" if above else "neither",
    )
    colour_bar.set_label(unit)
    ax.set_title(_wrap(title or "Mutual information between codes and factors", 60), fontsize=10)
    return figure


def mi_matrix(record: dict[str, Any]) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """The MI matrix of a result record, its factor names and the factor entropies.

    Parameters
    ----------
    record : dict
        A successful record of one of ``MI_MATRIX_METRICS`` (``mig``, ``mig_sup``,
        ``jemmig``, ``dcimig``, ``modularity_explicitness``).

    Returns
    -------
    matrix : numpy.ndarray of shape (n_codes, n_factors)
        I(z_j; v_k) in nats, NaN where the record holds null.
    factor_names : list of str
        From the record's data set; ``factor 0``, ``factor 1``, ... when it names none.
    factor_entropy : numpy.ndarray of shape (n_factors,) or None
        H(v_k) in nats; None for a metric that does not store it
        (``modularity_explicitness``).

    Examples
    --------
    >>> from disbench.results import make_record
    >>> record = make_record(model={"spec": "m.pt"}, dataset={"name": "toy",
    ...     "factor_names": ["shape", "scale"]}, metric="mig", params={}, seed=0,
    ...     arrays={"mi_matrix": [[0.6, None]], "factor_entropy": [1.1, 0.0]})
    >>> matrix, names, entropy = mi_matrix(record)
    >>> matrix.tolist(), names, entropy.tolist()
    ([[0.6, nan]], ['shape', 'scale'], [1.1, 0.0])
    """
    metric = record.get("metric", {}).get("name")
    which = ", ".join(MI_MATRIX_METRICS)
    if metric not in MI_MATRIX_METRICS:
        raise ValueError(
            f"the {metric} record has no codes × factors MI matrix; records of {which} have one"
        )
    arrays = record.get("arrays") or {}
    if record.get("status") != "ok" or "mi_matrix" not in arrays:
        reason = record.get("error") or "no arrays['mi_matrix']"
        raise ValueError(f"the {metric} record {record.get('key')} has no MI matrix: {reason}")
    matrix = np.asarray(arrays["mi_matrix"], dtype=float)
    if matrix.ndim != 2:
        raise ValueError(
            f"the {metric} record's mi_matrix must be 2D (n_codes, n_factors); "
            f"got shape {matrix.shape}"
        )
    names = record.get("dataset", {}).get("factor_names")
    if names is None:
        names = [f"factor {k}" for k in range(matrix.shape[1])]
    if len(names) != matrix.shape[1]:
        raise ValueError(
            f"the {metric} record names {len(names)} factors but its mi_matrix has "
            f"{matrix.shape[1]}"
        )
    entropy = arrays.get("factor_entropy")
    if entropy is not None:
        entropy = np.asarray(entropy, dtype=float)
    return matrix, [str(name) for name in names], entropy


def save_figure(figure: Figure, directory: str | os.PathLike[str], stem: str) -> list[Path]:
    """Write ``figure`` as ``<stem>.png`` (150 dpi) and ``<stem>.pdf`` in ``directory``.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    directory : path
        Created (with its parents) when missing.
    stem : str
        The file name without suffix; characters other than ASCII letters, digits, ``.``,
        ``_`` and ``-`` become ``_``.

    Returns
    -------
    list of pathlib.Path
        The PNG and the PDF file. The PDF carries no creation date, so equal figures give
        equal files.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> [path.name for path in save_figure(Figure(), folder, "mig: dsprites/β-VAE")]
    ['mig_dsprites_-VAE.png', 'mig_dsprites_-VAE.pdf']
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    safe = _safe_stem(stem)
    png, pdf = folder / f"{safe}.png", folder / f"{safe}.pdf"
    figure.savefig(png, dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.05)
    figure.savefig(pdf, metadata={"CreationDate": None}, bbox_inches="tight", pad_inches=0.05)
    return [png, pdf]


def write_plots(
    store: Store | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    datasets: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    frame: pd.DataFrame | None = None,
) -> list[Path]:
    """Draw and save the figures of a store, per data set (``disbench compare --plot``).

    Parameters
    ----------
    store : Store or path
        The result store.
    directory : path
        Where the figures go (created when missing).
    datasets, metrics, models : sequence of str, default=None
        Filters as in ``disbench.results.tables.select`` (a metric, or one score as
        ``dci.completeness``); None keeps all. ``ValueError`` when one matches nothing.
    frame : pandas.DataFrame, optional
        ``disbench.results.load(store)`` when the caller has it already (the store is then
        read only for the MI matrices' records).

    Returns
    -------
    list of pathlib.Path
        The files written, a PNG and a PDF per figure. Per data set ``<d>``:

        - ``<d>-scores``: ``plot_scores`` of every score column;
        - ``<d>-rank-correlation``: ``plot_rank_correlation`` between the ranked score
          columns, when at least 3 models have scores and 2 columns vary across them
          (otherwise left out, without error);
        - ``<d>-mi-<model>``: ``plot_mi_matrix`` of each model's ``mig`` record of the
          lowest seed (one per parameter variant, ``<d>-mi-<model>-<variant>``), normalised
          by the factor entropies as MIG compares them, in nats for
          ``normalization="none"``; only when ``mig`` passes the ``metrics`` filter.

    Examples
    --------
    >>> import tempfile
    >>> write_plots(tempfile.mkdtemp(), tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    ValueError: no scores to plot: the store ... holds none
    """
    store = store if isinstance(store, Store) else Store(store)
    if frame is None:
        frame = load(store)
    if not len(frame):
        raise ValueError(f"no scores to plot: the store {store.root} holds none")
    # select raises when a filter, or the filters together, match nothing
    frame = select(frame, datasets=datasets, metrics=metrics, models=models)
    written: list[Path] = []
    stems: set[str] = set()

    def save(figure: Figure, stem: str) -> None:
        # Two labels can become one file name once made safe ("a/b", "a_b"): number them.
        safe, number = _safe_stem(stem), 1
        while safe in stems:
            number += 1
            safe = f"{_safe_stem(stem)}-{number}"
        stems.add(safe)
        written.extend(save_figure(figure, directory, safe))

    for dataset in sorted(frame["dataset"].unique(), key=str):
        part = frame[frame["dataset"] == dataset]
        save(plot_scores(compare(part), title=str(dataset)), f"{dataset}-scores")
        scored = part.groupby("model")["value"].count().gt(0).sum()
        if scored >= 3:
            correlation = rank_correlation(part)
            if len(correlation) >= 2:
                title = f"{dataset}: Spearman rank correlation across {scored} models"
                save(plot_rank_correlation(correlation, title=title), f"{dataset}-rank-correlation")
        mig_rows = part[part["metric"] == "mig"].sort_values("seed", kind="stable")
        for (model, variant), rows in mig_rows.groupby(["model", "variant"], sort=True):
            record = store.read(rows["key"].iloc[0])
            matrix, names, entropy = mi_matrix(record)
            normalize = record["metric"]["params"].get("normalization", "factor") != "none"
            label = f"mig[{variant}]" if variant else "mig"
            title = f"{model} on {dataset}: {label}, seed {record['seed']}"
            figure = plot_mi_matrix(
                matrix,
                factor_names=names,
                title=title,
                normalize_by=entropy if normalize else None,
            )
            save(figure, f"{dataset}-mi-{model}" + (f"-{variant}" if variant else ""))
    return written


def _cell_inches(n: int) -> float:
    """The side of a heat map's cell for ``n`` rows or columns: smaller for a large matrix,
    never so small that a two-decimal annotation stops being legible."""
    return 0.55 if n <= 12 else max(0.4, 6.6 / n)


def _heat_map(
    ax: Axes, values: np.ndarray, *, norm: Normalize, cmap: str, cell: float
) -> AxesImage:
    """``values`` as an image with each finite cell's value in it, NaN cells grey."""
    colour_map = colormaps[cmap].with_extremes(bad=_NAN)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=colour_map, norm=norm, aspect="equal")
    rows, columns = np.nonzero(np.isfinite(values))
    for row, column in zip(rows, columns, strict=True):
        value = values[row, column]
        red, green, blue, _ = colour_map(norm(value))
        # dark cells get white text (relative luminance, ITU-R BT.601 weights)
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        ax.text(
            column,
            row,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=min(9.0, cell * 16),
            color="white" if dark else "black",
        )
    return image


def _cell_labels(ax: Axes, columns: list[str], rows: list[str], *, cell: float) -> None:
    """Tick labels on a heat map: columns below (slanted when long), rows on the left."""
    fontsize = min(9.0, max(7.0, cell * 16))
    ax.set_xticks(np.arange(len(columns)), columns, fontsize=fontsize)
    ax.set_yticks(np.arange(len(rows)), rows, fontsize=fontsize)
    if max(map(len, columns)) > 3:
        for label in ax.get_xticklabels():
            label.set_rotation(45)
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)


def _heading(column: str, width: int) -> str:
    """A score column's label in lines of about ``width`` characters: a long label breaks
    first after the metric (``unsupervised.`` / ``mutual_info_score``)."""
    metric, dot, score = column.partition(".")
    if len(column) <= width or not (dot and score):
        return _wrap(column, width)
    return metric + dot + "\n" + _wrap(score, width)


def _wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters where it can, broken after ``.``,
    ``_``, ``-`` or a space (a longer piece keeps a line of its own)."""
    lines = [""]
    for piece in re.findall(r"[^._\- ]+[._\- ]*|[._\- ]+", text):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)


def _safe_stem(stem: str) -> str:
    """A file name stem of ASCII letters, digits, ``.``, ``_`` and ``-`` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "figure"
