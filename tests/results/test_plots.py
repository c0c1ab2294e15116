"""Figures: scores per model, rank correlation, MI matrices, saving and ``write_plots``."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from disbench.metrics.registry import get_metric
from disbench.results import Store, make_record, plots
from disbench.results.frame import load
from disbench.results.plots import (
    MI_MATRIX_METRICS,
    mi_matrix,
    plot_mi_matrix,
    plot_rank_correlation,
    plot_scores,
    save_figure,
    write_plots,
)
from disbench.results.tables import Comparison, compare, rank_correlation

FACTORS = ["shape", "scale", "orientation", "position_x", "position_y"]
ENTROPY = np.log([3.0, 6.0, 40.0, 32.0, 32.0])
MODELS = ["beta_vae", "beta_tcvae", "factor_vae", "dip_vae"]
N_CODES = 6
UNSUPERVISED = ("gaussian_total_correlation", "mutual_info_score")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"


def mi_of(model: int, seed: int) -> np.ndarray:
    """A codes × factors MI matrix in nats: code k + model carries factor k; one NaN cell."""
    mi = np.full((N_CODES, len(FACTORS)), 0.01 * (1 + seed))
    for k, h in enumerate(ENTROPY):
        mi[(k + model) % N_CODES, k] = h * (0.5 + 0.1 * model)
    mi[N_CODES - 1, 0] = np.nan
    return mi


def fill(store, dataset="dsprites", models=MODELS, seeds=(0, 1, 2), normalization="factor"):
    """mig, dci and unsupervised records of ``models`` × ``seeds`` on ``dataset``."""
    for m, name in enumerate(models):
        model = {"name": name, "spec": f"{name}.pt", "sha256": f"{m:02x}" * 32}
        data = {"name": dataset, "fingerprint": dataset, "factor_names": FACTORS}
        for seed in seeds:
            quality = 0.2 + 0.15 * m + 0.01 * seed
            common = {"model": model, "dataset": data, "seed": seed}
            store.write(
                make_record(
                    **common,
                    metric="mig",
                    params={"num_bins": 20, "normalization": normalization},
                    scores={"mig": quality},
                    arrays={"mi_matrix": mi_of(m, seed), "factor_entropy": ENTROPY},
                )
            )
            store.write(
                make_record(
                    **common,
                    metric="dci",
                    params={},
                    scores={
                        "disentanglement": quality,
                        "completeness": 1 - quality,
                        "informativeness_test": 0.9 + 0.01 * ((m * 3) % 4) + 0.001 * seed,
                    },
                    arrays={"importance": np.ones((N_CODES, len(FACTORS)))},
                )
            )
            store.write(
                make_record(
                    **common,
                    metric="unsupervised",
                    params={"num_bins": 20},
                    directions={score: -1 for score in UNSUPERVISED},
                    scores={
                        "gaussian_total_correlation": 2 - quality,
                        "mutual_info_score": quality,
                    },
                    arrays={"mi_matrix": np.eye(N_CODES)},
                )
            )
    return store


@pytest.fixture
def store(tmp_path):
    return fill(Store(tmp_path / "store"))


def texts(ax):
    return [text.get_text() for text in ax.texts]


def column_of(ax):
    """The score column a panel shows: its title without the direction note, unwrapped."""
    return ax.get_title().split("\n(")[0].replace("\n", "")


# plot_scores


def test_plot_scores_draws_a_bar_per_model_with_the_std_and_highlights_the_best(store):
    table = compare(load(store))
    figure = plot_scores(table)
    assert isinstance(figure, Figure)
    assert len(figure.axes) == len(table.mean.columns) == 6
    for ax, column in zip(figure.axes, table.mean.columns, strict=True):
        assert column_of(ax) == column
        assert [label.get_text() for label in ax.get_xticklabels()] == list(table.mean.index)
        heights = [bar.get_height() for bar in ax.patches]
        np.testing.assert_allclose(heights, table.mean[column], rtol=0, atol=1e-12)
        # the error bars run from mean - std to mean + std
        (errorbar,) = ax.containers[1:]
        segments = errorbar.lines[2][0].get_segments()
        np.testing.assert_allclose(
            [top - bottom for (_, bottom), (_, top) in segments], 2 * table.std[column], atol=1e-12
        )
        colours = [to_hex(bar.get_facecolor()) for bar in ax.patches]
        best = int(np.argmax(table.mean[column] * table.directions[column]))
        assert colours[best] == plots._BEST
        assert colours.count(plots._BEST) == 1
        lower = "lower is better" in ax.get_title()
        assert lower == (table.directions[column] == -1)
    titles = {column_of(ax) for ax in figure.axes if "lower" in ax.get_title()}
    assert titles == {f"unsupervised.{score}" for score in UNSUPERVISED}
    assert "mean ± std over 3 seeds" in figure.get_suptitle()


def test_plot_scores_draws_the_columns_asked_for_in_order(store):
    table = compare(load(store))
    figure = plot_scores(table, columns=["mig", "dci.completeness"], title="dsprites")
    assert [column_of(ax) for ax in figure.axes] == ["mig", "dci.completeness"]
    assert figure.get_suptitle().startswith("dsprites: ")
    with pytest.raises(ValueError, match=r"no score column 'sap' in the table; it has: dci\."):
        plot_scores(table, columns=["mig", "sap"])


def test_plot_scores_handles_many_models_and_columns_in_a_grid():
    rng = np.random.default_rng(0)
    models = [f"model_{i:02d}_beta{b}" for i, b in enumerate([1, 2, 4, 6, 8, 16] * 5)]
    columns = [f"metric_{j}.score" for j in range(30)]
    mean = pd.DataFrame(rng.uniform(size=(30, 30)), index=models, columns=columns)
    count = pd.DataFrame(3, index=models, columns=columns)
    table = Comparison(mean, mean * 0.1, count, pd.Series(1, index=columns))
    figure = plot_scores(table)
    assert len(figure.axes) == 30
    assert all(len(ax.patches) == 30 for ax in figure.axes)
    rotations = {label.get_rotation() for ax in figure.axes for label in ax.get_xticklabels()}
    assert rotations == {90.0}
    width, height = figure.get_size_inches()
    assert width <= 18 and height < 60


def test_plot_scores_marks_a_missing_score_and_draws_no_error_bar_with_one_seed():
    mean = pd.DataFrame({"mig": [0.3, np.nan, 0.5]}, index=["a", "b", "c"])
    count = pd.DataFrame({"mig": [1, 0, 1]}, index=mean.index)
    table = Comparison(mean, mean * np.nan, count, pd.Series({"mig": 1}))
    (ax,) = plot_scores(table).axes
    assert [bar.get_height() for bar in ax.patches] == [0.3, 0.5]
    assert texts(ax) == ["n/a"]
    (errorbar,) = ax.containers[1:]
    assert len(errorbar.lines[2][0].get_segments()) == 0
    unranked = Comparison(mean, mean * np.nan, count, pd.Series({"mig": 0}))
    (ax,) = plot_scores(unranked).axes
    assert "not ranked" in ax.get_title()
    assert plots._BEST not in {to_hex(bar.get_facecolor()) for bar in ax.patches}


# plot_rank_correlation


def test_plot_rank_correlation_annotates_every_cell_on_a_minus_one_to_one_scale(store):
    correlation = rank_correlation(load(store))
    assert len(correlation) == 6  # every score column ranks and varies across models
    figure = plot_rank_correlation(correlation, title="dsprites")
    ax, colour_bar_axes = figure.axes
    (image,) = ax.images
    assert image.get_clim() == (-1.0, 1.0)
    assert image.norm.vcenter == 0.0
    assert texts(ax) == [f"{value:.2f}" for value in correlation.to_numpy().ravel()]
    assert [label.get_text() for label in ax.get_yticklabels()] == list(correlation.index)
    assert "Spearman" in colour_bar_axes.get_ylabel()
    assert ax.get_title() == "dsprites"


def test_plot_rank_correlation_leaves_nan_cells_empty_and_rejects_bad_input():
    labels = ["a", "b", "c"]
    rho = pd.DataFrame([[1, -0.4, np.nan], [-0.4, 1, 0.2], [np.nan, 0.2, 1]], labels, labels)
    ax = plot_rank_correlation(rho).axes[0]
    assert texts(ax) == ["1.00", "-0.40", "-0.40", "1.00", "0.20", "0.20", "1.00"]
    assert ax.images[0].get_array().mask.sum() == 2
    with pytest.raises(ValueError, match="the same labels on both axes"):
        plot_rank_correlation(rho.iloc[:2])
    with pytest.raises(ValueError, match="no rank correlation to plot"):
        plot_rank_correlation(pd.DataFrame())


# plot_mi_matrix and mi_matrix


def test_plot_mi_matrix_annotates_the_finite_cells_in_nats():
    matrix = mi_of(1, 0)
    figure = plot_mi_matrix(matrix, factor_names=FACTORS, title="beta_vae")
    ax, colour_bar_axes = figure.axes
    finite = matrix[np.isfinite(matrix)]
    assert texts(ax) == [f"{value:.2f}" for value in finite]
    assert len(texts(ax)) == matrix.size - 1
    assert ax.images[0].get_array().mask.sum() == 1
    assert ax.images[0].get_clim() == (0.0, pytest.approx(np.nanmax(matrix)))
    assert [label.get_text() for label in ax.get_xticklabels()] == FACTORS
    assert [label.get_text() for label in ax.get_yticklabels()] == [f"z{j}" for j in range(6)]
    assert "nats" in colour_bar_axes.get_ylabel()
    assert "grey: undefined" in ax.get_xlabel()


def test_plot_mi_matrix_normalised_by_the_factor_entropies():
    matrix = np.array([[0.5, 0.0, 1.5], [0.25, 0.3, np.nan]])
    entropy = np.array([1.0, 0.0, 3.0])  # a constant factor: MI / H undefined
    figure = plot_mi_matrix(matrix, code_names=["mu", "sigma"], normalize_by=entropy)
    ax, colour_bar_axes = figure.axes
    assert texts(ax) == ["0.50", "0.50", "0.25"]
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert "H(v_k)" in colour_bar_axes.get_ylabel()
    assert [label.get_text() for label in ax.get_yticklabels()] == ["mu", "sigma"]
    assert [label.get_text() for label in ax.get_xticklabels()] == [
        "factor 0",
        "factor 1",
        "factor 2",
    ]


def test_plot_mi_matrix_rejects_mismatched_input():
    with pytest.raises(ValueError, match=r"matrix must be 2D \(n_codes, n_factors\).*\(3,\)"):
        plot_mi_matrix(np.ones(3))
    with pytest.raises(ValueError, match="2 factor_names for a matrix of 3 factors"):
        plot_mi_matrix(np.ones((2, 3)), factor_names=["a", "b"])
    with pytest.raises(ValueError, match="1 code_names for a matrix of 2 codes"):
        plot_mi_matrix(np.ones((2, 3)), code_names=["z"])
    with pytest.raises(ValueError, match=r"normalize_by must hold one entropy per factor"):
        plot_mi_matrix(np.ones((2, 3)), normalize_by=[1.0, 1.0])


def test_mi_matrix_reads_the_matrix_names_and_entropies_of_a_record(store):
    record = next(r for r in store.records() if r["metric"]["name"] == "mig" and r["seed"] == 1)
    model = MODELS.index(record["model"]["name"])
    matrix, names, entropy = mi_matrix(record)
    np.testing.assert_array_equal(matrix, mi_of(model, 1))  # null back to NaN
    assert names == FACTORS
    np.testing.assert_allclose(entropy, ENTROPY)
    bare = make_record(
        model={"spec": "m.pt"},
        dataset={"name": "toy"},
        metric="modularity_explicitness",
        params={},
        seed=0,
        arrays={"mi_matrix": np.ones((3, 2))},
    )
    matrix, names, entropy = mi_matrix(bare)
    assert matrix.shape == (3, 2) and names == ["factor 0", "factor 1"] and entropy is None


def test_mi_matrix_says_which_records_have_one(store):
    records = {r["metric"]["name"]: r for r in store.records()}
    which = "records of mig, mig_sup, jemmig, dcimig, modularity_explicitness have one"
    with pytest.raises(
        ValueError, match=f"the dci record has no codes × factors MI matrix; {which}"
    ):
        mi_matrix(records["dci"])
    # unsupervised stores a codes × codes matrix under the same name
    with pytest.raises(ValueError, match="the unsupervised record has no codes × factors MI"):
        mi_matrix(records["unsupervised"])
    failed = make_record(
        model={"spec": "m.pt"},
        dataset={"name": "toy"},
        metric="mig",
        params={},
        seed=0,
        error="codes contain NaN in dimensions [3]",
    )
    with pytest.raises(ValueError, match=r"has no MI matrix: codes contain NaN in dimensions"):
        mi_matrix(failed)
    wrong = {**records["mig"], "dataset": {"name": "dsprites", "factor_names": ["a", "b"]}}
    with pytest.raises(ValueError, match="names 2 factors but its mi_matrix has 5"):
        mi_matrix(wrong)


def test_the_mi_matrix_metrics_store_a_codes_by_factors_matrix():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(400, 3))
    codes = np.concatenate(
        [factors + rng.normal(0, 0.1, factors.shape), rng.normal(size=(400, 2))], 1
    )
    for name in MI_MATRIX_METRICS:
        result = get_metric(name).function(codes, factors)
        assert np.shape(result.arrays["mi_matrix"]) == (5, 3), name
    # why unsupervised is not among them
    assert np.shape(get_metric("unsupervised").function(codes).arrays["mi_matrix"]) == (5, 5)


# save_figure


def test_save_figure_writes_a_png_and_a_pdf_with_a_safe_name(tmp_path):
    figure = plot_mi_matrix(mi_of(0, 0), factor_names=FACTORS)
    folder = tmp_path / "nested" / "plots"
    png, pdf = save_figure(figure, folder, "dsprites: β-VAE/seed 0")
    assert (png.name, pdf.name) == ("dsprites_-VAE_seed_0.png", "dsprites_-VAE_seed_0.pdf")
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 1000
    assert pdf.read_bytes().startswith(PDF_MAGIC) and pdf.stat().st_size > 1000
    # the PDF carries no creation date: the same figure gives the same bytes
    (again,) = save_figure(figure, tmp_path / "again", "x")[1:]
    assert again.read_bytes() == pdf.read_bytes()


# write_plots


def test_write_plots_writes_scores_rank_correlation_and_one_mi_matrix_per_model(store, tmp_path):
    paths = write_plots(store, tmp_path / "plots")
    stems = ["dsprites-scores", "dsprites-rank-correlation"]
    stems += [f"dsprites-mi-{model}" for model in sorted(MODELS)]
    assert [path.name for path in paths] == [
        f"{s}.{suffix}" for s in stems for suffix in ("png", "pdf")
    ]
    for path in paths:
        assert path.parent == tmp_path / "plots"
        assert path.read_bytes().startswith(PNG_MAGIC if path.suffix == ".png" else PDF_MAGIC)


def test_write_plots_skips_the_rank_correlation_with_fewer_than_three_models(tmp_path):
    store = fill(Store(tmp_path / "store"))
    fill(store, dataset="shapes3d", models=MODELS[:2], seeds=(0,))
    names = {path.name for path in write_plots(tmp_path / "store", tmp_path / "plots")}
    assert "dsprites-rank-correlation.png" in names
    assert not any(name.startswith("shapes3d-rank") for name in names)
    assert {
        "shapes3d-scores.png",
        "shapes3d-mi-beta_vae.png",
        "shapes3d-mi-beta_tcvae.pdf",
    } <= names
    assert len(names) == 2 * (2 + 4) + 2 * (1 + 2)


def test_write_plots_applies_the_filters(store, tmp_path):
    names = {p.name for p in write_plots(store, tmp_path / "a", metrics=["dci"])}
    assert names == {
        f"dsprites-{kind}.{s}" for kind in ("scores", "rank-correlation") for s in ("png", "pdf")
    }
    names = {p.stem for p in write_plots(store, tmp_path / "b", models=["beta_vae", "dip_vae"])}
    assert names == {"dsprites-scores", "dsprites-mi-beta_vae", "dsprites-mi-dip_vae"}
    with pytest.raises(ValueError, match="no data set cars3d in the store; it has: dsprites"):
        write_plots(store, tmp_path / "c", datasets=["cars3d"])
    with pytest.raises(ValueError, match=r"no scores to plot: the store .* holds none"):
        write_plots(tmp_path / "empty", tmp_path / "d")


@pytest.mark.parametrize("normalization", ["factor", "none"])
def test_write_plots_draws_the_mig_record_of_the_lowest_seed(tmp_path, monkeypatch, normalization):
    store = fill(Store(tmp_path / "store"), seeds=(2, 1), normalization=normalization)
    drawn = []

    def spy(matrix, **options):
        drawn.append((np.asarray(matrix), options))
        return Figure()

    monkeypatch.setattr(plots, "plot_mi_matrix", spy)
    write_plots(store, tmp_path / "plots", models=["factor_vae"])
    ((matrix, options),) = drawn
    np.testing.assert_array_equal(matrix, mi_of(MODELS.index("factor_vae"), 1))
    assert options["title"] == "factor_vae on dsprites: mig, seed 1"
    assert options["factor_names"] == FACTORS
    # as MIG compares them: MI / H(v_k), or nats where the metric ran without normalising
    if normalization == "factor":
        np.testing.assert_allclose(options["normalize_by"], ENTROPY)
    else:
        assert options["normalize_by"] is None


def test_plots_are_drawn_in_threads_without_pyplot(store, tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from concurrent.futures import ThreadPoolExecutor
        from disbench.results.plots import write_plots

        root, out = {str(store.root)!r}, {str(tmp_path)!r}

        def draw(i):
            return write_plots(root, f"{{out}}/{{i}}", models=["dip_vae"])

        with ThreadPoolExecutor(2) as pool:
            assert [len(paths) for paths in pool.map(draw, range(2))] == [4, 4]
        assert "matplotlib.pyplot" not in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
