"""``disbench.evaluate`` end to end: plans, one extraction, metrics, records."""

from __future__ import annotations

import gin
import numpy as np
import pandas as pd
import pytest

from disbench.adapters import load_codes, load_encoder
from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.evaluate import COLUMNS, EvaluationError, default_metrics, evaluate
from disbench.benchmark.extraction import ExtractionError
from disbench.benchmark.plans import metric_generator
from disbench.metrics import dci, get_metric, list_metrics, mig
from disbench.results import Store
from tests.benchmark.encoders import save_linear_encoder, save_nan_encoder

SIZES = {"num_train": 600, "num_test": 300}


@pytest.fixture
def toy() -> Toy:
    return Toy(factor_sizes=(4, 5, 6), observation_shape=(1, 16, 16), seed=0)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "linear.pt"
    weight = save_linear_encoder(path, n_pixels=256, n_codes=4)
    return path, weight.astype(np.float64)


@pytest.fixture(autouse=True)
def clean_gin():
    yield
    gin.clear_config()


def manual(toy, weight, metric, n_train, n_test=None):
    """The metric's rows and codes computed without the pipeline."""
    rng = metric_generator(0, metric)
    train = toy.sample_indices(n_train, rng)
    test = toy.sample_indices(n_test, rng) if n_test else None

    def codes(rows):
        return (toy.observations_at(rows).reshape(len(rows), -1) @ weight).astype(np.float32)

    out = [codes(train), toy.factors_at(train)]
    if test is not None:
        out += [codes(test), toy.factors_at(test)]
    return out, rng


def test_scores_equal_the_metrics_on_independently_computed_codes(toy, model):
    path, weight = model
    frame = evaluate(str(path), toy, ["mig", "dci"], seed=0, sample_sizes=SIZES, cache=False)
    assert tuple(frame.columns) == COLUMNS
    assert set(frame["model"]) == {"linear"} and set(frame["dataset"]) == {toy.name}
    values = frame.set_index(["metric", "score"])["value"]

    (codes, factors), _ = manual(toy, weight, "mig", 600)
    assert values["mig", "mig"] == pytest.approx(mig(codes, factors)["mig"], abs=1e-12)
    (codes, factors, test_codes, test_factors), rng = manual(toy, weight, "dci", 600, 300)
    expected = dci(codes, factors, test_codes=test_codes, test_factors=test_factors, rng=rng)
    for key, value in expected.scores.items():
        assert values["dci", key] == pytest.approx(value, abs=1e-9)


def test_identity_codes_score_about_one_and_the_seed_decides(tmp_path):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, [4, 5, 6], size=(3000, 3))
    codes = factors + 0.01 * rng.normal(size=factors.shape)
    np.savez(tmp_path / "codes.npz", codes=codes, factors=factors)
    table = load_codes(tmp_path / "codes.npz")
    first = evaluate(table, metrics="mig,modularity_explicitness", seed=3)
    values = first.set_index(["metric", "score"])["value"]
    assert values["mig", "mig"] > 0.95 and values["modularity_explicitness", "modularity"] > 0.95
    pd.testing.assert_frame_equal(
        first, evaluate(table, metrics="mig,modularity_explicitness", seed=3)
    )
    # A table of codes is a labelled sample: rows are drawn without replacement, so the
    # seed decides which 1,000 of the 3,000 rows a metric sees, and train/test are disjoint.
    subsets = [
        evaluate(table, metrics=["mig"], seed=seed, sample_sizes={"num_train": 1000})
        for seed in (3, 3, 4)
    ]
    assert subsets[0]["value"].iloc[0] == subsets[1]["value"].iloc[0]
    assert subsets[0]["value"].iloc[0] != subsets[2]["value"].iloc[0]


def test_the_default_suite_is_every_metric():
    names = default_metrics()
    assert names == [s.name for s in list_metrics()]
    assert {"mig", "dci", "sap", "irs", "infomec", "z_diff", "z_min_var", "local_mig"} <= set(names)


def test_records_are_written_once_and_read_back(toy, model, tmp_path):
    path, _ = model
    store = Store(tmp_path / "store")
    first = evaluate(str(path), toy, ["mig", "sap"], store=store, sample_sizes=SIZES, cache=False)
    records = {r["metric"]["name"]: r for r in store.records()}
    assert set(records) == {"mig", "sap"}
    mig_record = records["mig"]
    assert mig_record["status"] == "ok" and mig_record["scores"]["mig"] == pytest.approx(
        first.set_index("score")["value"]["mig"]
    )
    assert mig_record["metric"]["params"]["num_train"] == 600
    assert mig_record["metric"]["version"] == get_metric("mig").version == 1
    assert mig_record["model"]["sha256"] == load_encoder(str(path)).sha256
    assert mig_record["dataset"]["factor_sizes"] == [4, 5, 6]
    assert {"plan", "extraction", "compute"} <= set(mig_record["timings"])
    assert len(mig_record["arrays"]["mi_matrix"]) == 4
    mtimes = {p: p.stat().st_mtime_ns for p in store.root.iterdir()}

    # The same evaluation again: answered from the store, nothing rewritten; --force rewrites.
    again = evaluate(str(path), toy, ["mig", "sap"], store=store, sample_sizes=SIZES, cache=False)
    pd.testing.assert_frame_equal(again, first)
    assert {p: p.stat().st_mtime_ns for p in store.root.iterdir()} == mtimes
    evaluate(str(path), toy, ["mig"], store=store, sample_sizes=SIZES, cache=False, force=True)
    changed = [p for p in store.root.iterdir() if p.stat().st_mtime_ns != mtimes[p]]
    assert [p.stem for p in changed] == [mig_record["key"]]


def test_a_gin_binding_changes_the_number_and_the_record(toy, model, tmp_path):
    path, weight = model
    store = Store(tmp_path)
    default = evaluate(str(path), toy, ["mig"], store=store, sample_sizes=SIZES, cache=False)
    gin.parse_config("mig.num_bins = 3")
    bound = evaluate(str(path), toy, ["mig"], store=store, sample_sizes=SIZES, cache=False)
    (codes, factors), _ = manual(toy, weight, "mig", 600)
    assert bound["value"].iloc[0] == pytest.approx(mig(codes, factors, num_bins=3)["mig"])
    assert bound["value"].iloc[0] != default["value"].iloc[0]
    params = sorted(r["metric"]["params"]["num_bins"] for r in store.records())
    assert params == [3, 20]


def test_an_encoder_that_returns_nan_fails_with_error_records_only(toy, tmp_path):
    save_nan_encoder(tmp_path / "nan.pt")
    store = Store(tmp_path / "store")
    with pytest.raises(EvaluationError, match="code dimensions 1") as failed:
        evaluate(
            str(tmp_path / "nan.pt"),
            toy,
            ["mig", "sap"],
            store=store,
            cache=False,
            sample_sizes=SIZES,
        )
    assert isinstance(failed.value.__cause__, ExtractionError)
    assert failed.value.partial.empty
    records = list(store.records())
    assert sorted(r["metric"]["name"] for r in records) == ["mig", "sap"]
    assert all(r["status"] == "error" and r["scores"] == {} for r in records)
    assert all("code dimensions 1" in r["error"] for r in records)


def test_a_failing_metric_is_recorded_and_the_others_are_kept(toy, model, tmp_path):
    path, _ = model
    store = Store(tmp_path)
    gin.parse_config("mig.num_bins = 0")
    with pytest.raises(
        EvaluationError, match=r"^1 of 2 metrics failed: mig: num_bins must be"
    ) as error:
        evaluate(
            str(path), toy, ["mig", "unsupervised"], store=store, cache=False, sample_sizes=SIZES
        )
    assert set(error.value.partial["metric"]) == {"unsupervised"}
    status = {r["metric"]["name"]: r["status"] for r in store.records()}
    assert status == {"mig": "error", "unsupervised": "ok"}


def test_bad_requests_say_what_to_do(toy, model, tmp_path):
    path, _ = model
    with pytest.raises(ValueError, match="unknown metric 'migg'"):
        evaluate(str(path), toy, ["migg"])
    with pytest.raises(ValueError, match="no metrics given"):
        evaluate(str(path), toy, "")
    with pytest.raises(ValueError, match="a data set is needed"):
        evaluate(str(path))
    np.savez(tmp_path / "codes.npz", codes=np.zeros((10, 2)), factors=np.zeros((10, 2), int))
    with pytest.raises(ValueError, match="2 factor columns but toy has 3"):
        evaluate(str(tmp_path / "codes.npz"), toy, ["mig"])


def test_a_metric_the_data_cannot_serve_fails_alone(model, tmp_path):
    path, _ = model
    small = Toy(factor_sizes=(4, 5, 6), observation_shape=(1, 16, 16), seed=0)
    with pytest.raises(
        EvaluationError, match=r"^1 of 2 metrics failed: local_mig: cannot plan"
    ) as e:
        evaluate(str(path), small, ["mig", "local_mig"], sample_sizes=SIZES, cache=False)
    assert set(e.value.partial["metric"]) == {"mig"}


def test_labelled_samples_keep_train_and_test_disjoint(tmp_path):
    from disbench.benchmark.plans import observational_plan
    from disbench.benchmark.sampling import LabelledSampler

    factors = np.random.default_rng(0).integers(0, 3, size=(900, 2))
    plan = observational_plan(
        LabelledSampler(factors, ("a", "b")),
        {"num_train": 10_000, "num_test": 5_000},
        np.random.default_rng(1),
    )
    train, test = plan.rows["codes"], plan.rows["test_codes"]
    assert len(test) == 300 and len(train) == 600
    assert len(np.union1d(train, test)) == 900  # every row once


def test_a_function_model_s_records_are_never_reused(toy, tmp_path, monkeypatch):
    module = tmp_path / "fn_model.py"
    module.write_text(
        "import torch\nSCALE = 1.0\n"
        "def encode(x: torch.Tensor) -> torch.Tensor:\n"
        "    return SCALE * x.flatten(1)[:, :4]\n"
    )
    spec = f"{module}:encode"
    store = Store(tmp_path / "store")
    first = evaluate(spec, toy, ["mig"], store=store, sample_sizes=SIZES, cache=False)
    module.write_text(
        module.read_text().replace("SCALE = 1.0", "SCALE = 0")
    )  # new size: no stale .pyc
    import sys

    for name in [key for key in sys.modules if key.startswith("_disbench_model_fn_model")]:
        monkeypatch.delitem(sys.modules, name)  # as a new process would import it afresh
    again = evaluate(spec, toy, ["mig"], store=store, sample_sizes=SIZES, cache=False)
    assert first["value"].iloc[0] > 0 and again["value"].iloc[0] == 0.0
