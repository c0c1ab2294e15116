"""The store as a tidy DataFrame: ``load``, ``failures``, ``find_records``, bad files."""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from disbench.results import SCHEMA_VERSION, Store, make_record
from disbench.results.frame import (
    COLUMNS,
    SkippedRecordWarning,
    failures,
    find_records,
    load,
    load_with_failures,
)
from disbench.results.record import canonical_json

#: Models by table label. The two ``betavae`` share a name and differ by folder.
MODELS = {
    "a/betavae.pt": {"spec": "runs/a/betavae.pt", "name": "betavae", "sha256": "a1" * 32},
    "b/betavae.pt": {"spec": "runs/b/betavae.pt", "name": "betavae", "sha256": "b2" * 32},
    "factorvae": {"spec": "factorvae.pt", "name": "factorvae", "sha256": "c3" * 32},
    "dipvae": {"spec": "zoo/dipvae.pt", "name": "dipvae", "sha256": "d4" * 32},
}
DATASETS = ("dsprites", "shapes3d")
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class MetricRun:
    """One metric as a suite runs it: parameters, suite label, scores and directions."""

    metric: str
    params: dict
    suite: str
    scores: tuple[str, ...]
    directions: dict
    datasets: tuple[str, ...] = DATASETS


RUNS = (
    # MIG with two parameter sets from two suites on dsprites, one on shapes3d
    MetricRun("mig", {"num_bins": 20, "num_train": 10_000}, "dlib", ("mig",), {"mig": 1}),
    MetricRun(
        "mig",
        {"num_bins": 10, "num_train": 10_000},
        "carbonneau",
        ("mig",),
        {"mig": 1},
        ("dsprites",),
    ),
    MetricRun("dci", {"predictor": "gbt"}, "dlib", ("disentanglement", "completeness"), {}),
    MetricRun(
        "unsupervised",
        {"num_bins": 20},
        "dlib",
        ("gaussian_total_correlation", "mutual_info_score"),
        {"gaussian_total_correlation": -1, "mutual_info_score": -1},
    ),
    MetricRun("irs", {"num_bins": 20}, "dlib", ("irs", "num_active_dims"), {"num_active_dims": 0}),
)
#: (model label, data set, metric, suite) with fewer seeds: only seeds 0 and 1 are stored.
TWO_SEEDS = {("factorvae", "shapes3d", "dci", "dlib")}
#: A score the metric did not give (stored as null).
NAN_SCORE = ("dipvae", "dsprites", "unsupervised", "mutual_info_score", 1)
#: A run that failed: an error record, no scores.
FAILED = ("dipvae", "shapes3d", "irs", 2)


@dataclass(frozen=True)
class Contents:
    """What ``build_store`` wrote: the store and every score, by
    ``(model label, data set, metric, variant, score, seed)``."""

    root: Path
    values: dict[tuple, float]
    directions: dict[tuple, int]
    keys: dict[tuple, str]


def variant_of(run: MetricRun, dataset: str) -> str:
    """The variant label ``load`` gives: the suite where one metric has two parameter sets."""
    several = sum(r.metric == run.metric and dataset in r.datasets for r in RUNS) > 1
    return run.suite if several else ""


def model_record(label: str, **fields) -> dict:
    """``make_record`` for one of ``MODELS``, with adapter options."""
    model = {**MODELS[label], "adapter": "torchscript", "options": {"input_layout": "nchw"}}
    dataset = {"name": fields.pop("dataset"), "fingerprint": None}
    dataset["fingerprint"] = hashlib.sha256(dataset["name"].encode()).hexdigest()
    return make_record(model=model, dataset=dataset, **fields)


def build_store(root: Path, seed: int = 20261123) -> Contents:
    """A store of 4 models × 2 data sets × 4 metrics (one in two variants) × 3 seeds, with
    one NaN score, one model with two seeds of one metric and one error record."""
    rng = np.random.default_rng(seed)
    store = Store(root)
    values, directions, keys = {}, {}, {}
    for label in MODELS:
        for dataset in DATASETS:
            for run in RUNS:
                if dataset not in run.datasets:
                    continue
                two = (label, dataset, run.metric, run.suite) in TWO_SEEDS
                for seed in SEEDS[:2] if two else SEEDS:
                    common = dict(
                        dataset=dataset,
                        metric=run.metric,
                        params=run.params,
                        seed=seed,
                        directions=run.directions,
                        config={"suite": run.suite, "gin": ""},
                    )
                    if (label, dataset, run.metric, seed) == FAILED:
                        store.write(model_record(label, error="the encoder failed", **common))
                        continue
                    scores = {}
                    for score in run.scores:
                        value = float(np.round(rng.uniform(0, 1), 6))
                        if score == "num_active_dims":
                            value = float(rng.integers(2, 6))
                        if (label, dataset, run.metric, score, seed) == NAN_SCORE:
                            value = math.nan
                        scores[score] = value
                    arrays = {"mi_matrix": rng.uniform(0, 1, (4, 2))}
                    record = model_record(label, scores=scores, arrays=arrays, **common)
                    store.write(record)
                    for score, value in scores.items():
                        cell = (label, dataset, run.metric, variant_of(run, dataset), score, seed)
                        values[cell] = value
                        directions[cell] = run.directions.get(score, 1)
                        keys[cell] = record["key"]
    return Contents(root, values, directions, keys)


@pytest.fixture
def contents(tmp_path) -> Contents:
    return build_store(tmp_path / "store")


def caught_skips(function, *args):
    """``function(*args)`` and the messages of the ``SkippedRecordWarning`` it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args)
    return result, [str(w.message) for w in caught if w.category is SkippedRecordWarning]


def as_cells(frame: pd.DataFrame, column: str = "value") -> dict[tuple, object]:
    cells = frame.set_index(["model", "dataset", "metric", "variant", "score", "seed"])[column]
    assert cells.index.is_unique
    return cells.to_dict()


def test_load_round_trips_every_score_and_seed(contents):
    frame, skips = caught_skips(load, contents.root)
    assert skips == []
    assert list(frame.columns) == list(COLUMNS)
    # 4 models × (dsprites: 1 + 1 + 2 + 2 + 2 scores, shapes3d: 1 + 2 + 2 + 2) × 3 seeds,
    # less factorvae's third dci seed on shapes3d (2 scores) and the error record (2 scores)
    assert len(frame) == 4 * (8 + 7) * 3 - 2 - 2 == len(contents.values)
    loaded = as_cells(frame)
    assert loaded.keys() == contents.values.keys()
    for cell, value in contents.values.items():
        if math.isnan(value):
            assert math.isnan(loaded[cell]), cell
        else:
            assert loaded[cell] == value, cell
    assert as_cells(frame, "direction") == contents.directions
    assert as_cells(frame, "key") == contents.keys
    assert frame["value"].dtype == np.float64 and frame["seed"].dtype == np.int64
    assert frame["direction"].dtype == np.int64
    assert sorted(frame["seed"].unique()) == [0, 1, 2]


def test_a_null_score_is_a_nan_row(contents):
    frame = load(contents.root)
    label, dataset, metric, score, seed = NAN_SCORE
    row = frame[
        (frame["model"] == label)
        & (frame["dataset"] == dataset)
        & (frame["score"] == score)
        & (frame["seed"] == seed)
    ]
    assert len(row) == 1 and np.isnan(row["value"].iloc[0])
    assert row["metric"].iloc[0] == metric and row["direction"].iloc[0] == -1
    assert frame["value"].isna().sum() == 1


def test_suite_params_and_model_id_columns(contents):
    frame = load(contents.root)
    mig = frame[(frame["metric"] == "mig") & (frame["dataset"] == "dsprites")]
    by_suite = mig.groupby("suite")["params"].unique().to_dict()
    assert {suite: list(p) for suite, p in by_suite.items()} == {
        "carbonneau": [canonical_json({"num_bins": 10, "num_train": 10_000})],
        "dlib": ['{"num_bins":20,"num_train":10000}'],
    }
    ids = frame.groupby("model")["model_id"].unique()
    assert {label: list(i) for label, i in ids.items()} == {
        label: [model["sha256"]] for label, model in MODELS.items()
    }


def test_error_records_are_left_out_and_listed_by_failures(contents):
    frame = load(contents.root)
    label, dataset, metric, seed = FAILED
    failed = (
        (frame["model"] == label)
        & (frame["dataset"] == dataset)
        & (frame["metric"] == metric)
        & (frame["seed"] == seed)
    )
    assert not failed.any()
    assert frame[(frame["model"] == label) & (frame["metric"] == metric)]["seed"].nunique() == 3
    errors = failures(contents.root)
    assert list(errors.columns) == ["model", "dataset", "metric", "seed", "error", "key"]
    assert errors.drop(columns="key").to_dict("records") == [
        {
            "model": "dipvae",  # the model's name, as the record has it
            "dataset": dataset,
            "metric": metric,
            "seed": seed,
            "error": "the encoder failed",
        }
    ]
    assert Store(contents.root).read(errors["key"].iloc[0])["status"] == "error"


def write_bad_files(root: Path) -> dict[str, str]:
    """Files that are not readable records, and a word of the reason each should give."""
    newer = make_record(
        model=MODELS["dipvae"], dataset={"name": "dsprites"}, metric="mig", params={}, seed=9
    )
    newer["schema_version"] = SCHEMA_VERSION + 1
    malformed = make_record(
        model=MODELS["dipvae"],
        dataset={"name": "dsprites"},
        metric="mig",
        params={},
        seed=8,
        scores={"mig": 0.5},
    )
    malformed["seed"] = "eight"
    files = {
        "corrupt.json": ('{"schema_version": 1, "key": "trunc', "unreadable"),
        "foreign.json": ('{"a": 1}', "not a disbench result record"),
        "list.json": ("[1, 2, 3]", "not a disbench result record"),
        "latin1.json": (b'{"key": "caf\xe9"}', "unreadable"),
        "newer.json": (json.dumps(newer), f"schema version {SCHEMA_VERSION + 1}"),
        "malformed.json": (json.dumps(malformed), "malformed"),
    }
    for name, (text, _) in files.items():
        path = root / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return {name: reason for name, (_, reason) in files.items()}


def test_each_unreadable_file_is_one_warning_with_its_name_and_reason(contents):
    clean = load(contents.root)
    reasons = write_bad_files(contents.root)
    frame, skips = caught_skips(load, contents.root)
    assert len(skips) == len(reasons)
    for name, reason in reasons.items():
        (message,) = [m for m in skips if name in m]
        assert reason in message, message
    assert "upgrade disbench" in next(m for m in skips if "newer.json" in m)
    assert "ValueError" in next(m for m in skips if "malformed.json" in m)
    # the rest loads as if the bad files were not there
    pd.testing.assert_frame_equal(frame, clean)
    # failures reads the malformed record fine: it is not an error record
    errors, skips = caught_skips(failures, contents.root)
    assert len(errors) == 1 and len(skips) == len(reasons) - 1


def test_load_with_failures_reads_once_and_warns_once_per_file(contents):
    reasons = write_bad_files(contents.root)
    (frame, errors), skips = caught_skips(load_with_failures, contents.root)
    assert len(skips) == len(reasons)
    assert sorted(m.split()[1] for m in skips) == sorted(f"{name}:" for name in reasons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedRecordWarning)
        pd.testing.assert_frame_equal(frame, load(contents.root))
        pd.testing.assert_frame_equal(errors, failures(contents.root))


def test_models_with_one_name_are_labelled_by_the_shortest_path_tail(tmp_path):
    store = Store(tmp_path)
    specs = {
        "/exp/x/run1/model/vae.pt": "01",
        "/exp/y/run1/model/vae.pt": "02",
        "/exp/y/run1/other/vae.pt": "03",
        "relative/vae.onnx": "04",
        "/exp/same/vae.pt": "05",  # one path, two files over time: the hash tells
        "/exp/same/vae.pt@": "06",
        "solo.pt": "07",
    }
    for spec, digits in specs.items():
        name = "solo" if spec == "solo.pt" else "vae"
        sha = digits * 32
        spec = spec.rstrip("@")
        model = {"spec": spec, "name": name, "sha256": sha, "options": {}}
        store.write(
            make_record(
                model=model, dataset={"name": "d"}, metric="m", params={}, seed=0, scores={"m": 1}
            )
        )
    labels = load(tmp_path).set_index("model_id")["model"].to_dict()
    assert labels == {
        # four parts from the end tell the first and the second apart
        "01" * 32: "x/run1/model/vae.pt",
        "02" * 32: "y/run1/model/vae.pt",
        "03" * 32: "y/run1/other/vae.pt",
        "04" * 32: "relative/vae.onnx",
        "05" * 32: "vae@05050505",
        "06" * 32: "vae@06060606",
        "07" * 32: "solo",
    }


def test_two_folders_two_labels(tmp_path):
    store = Store(tmp_path)
    for folder, sha in (("a", "01"), ("b", "02")):
        model = {"spec": f"runs/{folder}/vae.pt", "name": "vae", "sha256": sha * 32}
        store.write(
            make_record(
                model=model, dataset={"name": "d"}, metric="m", params={}, seed=0, scores={"m": 1}
            )
        )
    assert sorted(load(tmp_path)["model"]) == ["a/vae.pt", "b/vae.pt"]


def test_variant_labels_the_suites_that_set_a_metric_s_parameters(contents):
    frame = load(contents.root)
    variants = frame.groupby(["dataset", "metric"])["variant"].unique()
    variants = {key: sorted(v) for key, v in variants.items()}
    assert variants == {
        ("dsprites", "dci"): [""],
        ("dsprites", "irs"): [""],
        ("dsprites", "mig"): ["carbonneau", "dlib"],
        ("dsprites", "unsupervised"): [""],
        ("shapes3d", "dci"): [""],
        ("shapes3d", "irs"): [""],
        ("shapes3d", "mig"): [""],  # one parameter set here
        ("shapes3d", "unsupervised"): [""],
    }
    mig = frame[(frame["dataset"] == "dsprites") & (frame["metric"] == "mig")]
    assert set(zip(mig["variant"], mig["suite"], strict=True)) == {
        ("dlib", "dlib"),
        ("carbonneau", "carbonneau"),
    }


def test_variants_fall_back_to_a_hash_of_the_parameters(tmp_path):
    store = Store(tmp_path)
    runs = [({"num_bins": 20}, "dlib"), ({"num_bins": 10}, "dlib"), ({"num_bins": 5}, None)]
    for params, suite in runs:
        store.write(
            make_record(
                model={"spec": "m.pt", "name": "m", "sha256": "ab" * 32},
                dataset={"name": "d"},
                metric="mig",
                params=params,
                seed=0,
                config={"suite": suite} if suite else {},
                scores={"mig": 0.5},
            )
        )
    frame = load(tmp_path)

    def digest(params):
        return hashlib.sha256(canonical_json(params).encode()).hexdigest()[:6]

    assert dict(zip(frame["params"], frame["variant"], strict=True)) == {
        canonical_json({"num_bins": 20}): f"dlib#{digest({'num_bins': 20})}",
        canonical_json({"num_bins": 10}): f"dlib#{digest({'num_bins': 10})}",
        canonical_json({"num_bins": 5}): f"#{digest({'num_bins': 5})}",
    }


@pytest.mark.parametrize("kind", ["missing", "empty", "errors only"])
def test_a_store_without_scores_is_an_empty_frame_with_the_columns(tmp_path, kind):
    root = tmp_path / "store"
    if kind != "missing":
        root.mkdir()
    if kind == "errors only":
        Store(root).write(model_record("dipvae", dataset="d", metric="m", params={}, seed=0,
                                       error="boom"))  # fmt: skip
    frame, skips = caught_skips(load, root)
    assert skips == [] and len(frame) == 0
    assert list(frame.columns) == list(COLUMNS)
    assert len(failures(root)) == (kind == "errors only")


def test_the_default_store_is_disbench_store(contents, monkeypatch):
    monkeypatch.setenv("DISBENCH_STORE", str(contents.root))
    pd.testing.assert_frame_equal(load(), load(contents.root))


def test_find_records_by_label_data_set_and_metric(contents):
    found = find_records(contents.root, model="b/betavae.pt", dataset="dsprites", metric="mig")
    assert len(found) == 6  # two suites × three seeds
    assert {r["model"]["spec"] for r in found} == {"runs/b/betavae.pt"}
    assert {(r["config"]["suite"], r["seed"]) for r in found} == {
        (suite, seed) for suite in ("dlib", "carbonneau") for seed in SEEDS
    }
    assert find_records(contents.root, model="nobody") == []
    assert len(find_records(contents.root)) == len(set(contents.keys.values()))


def test_data_sets_of_one_name_are_labelled_by_the_parameters_that_differ(tmp_path):
    store = Store(tmp_path)
    toy = {"name": "toy", "params": {"factor_sizes": [4, 5, 6], "seed": 0}}
    variants = [
        {**toy, "fingerprint": "f0" * 32},
        {**toy, "params": {"factor_sizes": [4, 5, 6], "seed": 1}, "fingerprint": "f1" * 32},
        {"name": "toy", "fingerprint": "f2" * 32},  # no parameters: a content digest
        {"name": "dsprites", "fingerprint": "f3" * 32},
    ]
    for dataset in variants:
        store.write(
            make_record(
                model=MODELS["dipvae"],
                dataset=dataset,
                metric="mig",
                params={},
                seed=0,
                scores={"mig": 0.5},
            )
        )
    labels = set(load(store)["dataset"])
    assert labels == {"toy@f0f0f0f0", "toy@f1f1f1f1", "toy@f2f2f2f2", "dsprites"}
    no_params = make_record(
        model=MODELS["dipvae"], dataset=variants[2], metric="mig", params={}, seed=0
    )
    store.path(no_params["key"]).unlink()
    assert set(load(store)["dataset"]) == {"toy(seed=0)", "toy(seed=1)", "dsprites"}
