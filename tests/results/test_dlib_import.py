"""Importing disentanglement_lib evaluation folders into a store.

The folders are written as dlib writes them (``utils/results.py`` at 86a644d): gin's
operative config text in ``results/gin/<step>.gin``; the same bindings as a JSON object of
gin *text* in ``results/json/<step>_config.json``; the step's result dict in
``results/json/<step>_results.json``; and for each step ``results/aggregate/<step>.json``,
every ``json/*.json`` so far flattened under its file name.
"""

from __future__ import annotations

import hashlib
import json
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from disbench.metrics.registry import REGISTRY
from disbench.results import Store
from disbench.results.dlib_import import METRICS, ImportSummary, import_dlib

MODELS = {
    "0": {
        "model.model": "@vae()",
        "model.name": "'beta_vae'",
        "vae.beta": "4.0",
        "dataset.name": "'dsprites_full'",
        "model.random_seed": "0",
    },
    "1": {
        "model.model": "@factor_vae()",
        "model.name": "'factor_vae'",
        "factor_vae.gamma": "10.0",
        "discriminator.discriminator_fn": "@fc_discriminator",
        "dataset.name": "'shapes3d'",
        "model.random_seed": "1",
    },
}
NAMES = {"0": "beta_vae (beta=4, seed 0, mean)", "1": "factor_vae (gamma=10, seed 1, mean)"}
DATASETS = {"0": "dsprites", "1": "shapes3d"}

DISCRETIZER = {"discretizer.discretizer_fn": "@histogram_discretizer", "discretizer.num_bins": "20"}

#: dlib config name -> (evaluation_fn, metric bindings, dlib score names, ours, our params).
EVALUATIONS: dict[str, tuple[str, dict[str, str], dict[str, str], str, dict[str, Any]]] = {
    "mig": (
        "@mig",
        {"mig.num_train": "10000", "mig.batch_size": "16", **DISCRETIZER},
        {"discrete_mig": "mig"},
        "mig",
        {"num_train": 10000, "mig.batch_size": 16, "num_bins": 20, "code_discretizer": "histogram"},
    ),
    "dci": (
        "@dci",
        {"dci.num_train": "10000", "dci.num_test": "5000", "dci.batch_size": "16"},
        {
            name: name
            for name in (
                "disentanglement",
                "completeness",
                "informativeness_train",
                "informativeness_test",
            )
        },
        "dci",
        {"num_train": 10000, "num_test": 5000, "dci.batch_size": 16},
    ),
    "factor_vae_metric": (
        "@factor_vae_score",
        {
            "factor_vae_score.batch_size": "64",
            "factor_vae_score.num_train": "10000",
            "factor_vae_score.num_eval": "5000",
            "factor_vae_score.num_variance_estimate": "10000",
            "prune_dims.threshold": "0.05",
        },
        {n: n for n in ("train_accuracy", "eval_accuracy", "num_active_dims")},
        "z_min_var",
        {
            "batch_size": 64,
            "num_train": 10000,
            "num_eval": 5000,
            "num_variance_estimate": 10000,
            "prune_threshold": 0.05,
        },
    ),
    "beta_vae_sklearn": (
        "@beta_vae_sklearn",
        {
            "beta_vae_sklearn.batch_size": "64",
            "beta_vae_sklearn.num_train": "10000",
            "beta_vae_sklearn.num_eval": "5000",
        },
        {n: n for n in ("train_accuracy", "eval_accuracy")},
        "z_diff",
        {"batch_size": 64, "num_train": 10000, "num_eval": 5000},
    ),
    "modularity_explicitness": (
        "@modularity_explicitness",
        {
            "modularity_explicitness.num_train": "10000",
            "modularity_explicitness.num_test": "5000",
            "modularity_explicitness.batch_size": "16",
            **DISCRETIZER,
        },
        {
            "modularity_score": "modularity",
            "explicitness_score_train": "explicitness_train",
            "explicitness_score_test": "explicitness_test",
        },
        "modularity_explicitness",
        {
            "num_train": 10000,
            "num_test": 5000,
            "modularity_explicitness.batch_size": 16,
            "num_bins": 20,
            "discretizer.discretizer_fn": "@histogram_discretizer",
        },
    ),
    "sap_score": (
        "@sap_score",
        {
            "sap_score.num_train": "10000",
            "sap_score.num_test": "5000",
            "sap_score.batch_size": "16",
            "sap_score.continuous_factors": "False",
        },
        {"SAP_score": "sap"},
        "sap",
        {
            "num_train": 10000,
            "num_test": 5000,
            "sap_score.batch_size": 16,
            "continuous_factors": False,
        },
    ),
    "unsupervised": (
        "@unsupervised_metrics",
        {
            "unsupervised_metrics.num_train": "10000",
            "unsupervised_metrics.batch_size": "16",
            **DISCRETIZER,
        },
        {
            n: n
            for n in (
                "gaussian_total_correlation",
                "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_norm",
                "mutual_info_score",
            )
        },
        "unsupervised",
        {
            "num_train": 10000,
            "unsupervised_metrics.batch_size": 16,
            "num_bins": 20,
            "discretizer.discretizer_fn": "@histogram_discretizer",
        },
    ),
    "irs": (
        "@irs",
        {
            "irs.num_train": "10000",
            "irs.batch_size": "16",
            "irs.diff_quantile": "0.99",
            **DISCRETIZER,
        },
        {"IRS": "irs", "num_active_dims": "num_active_dims"},
        "irs",
        {
            "num_train": 10000,
            "irs.batch_size": 16,
            "diff_quantile": 0.99,
            "num_bins": 20,
            "discretizer.discretizer_fn": "@histogram_discretizer",
        },
    ),
}

#: Run folder -> (evaluation seed, layout written).
RUNS = {"run_a": (11, "json"), "run_b": (2746317213, "aggregate")}


def gin_text(bindings: dict[str, str]) -> str:
    """gin's ``operative_config_str``: a commented section per configurable."""
    sections: dict[str, list[str]] = {}
    for key, value in sorted(bindings.items()):
        sections.setdefault(key.rpartition(".")[0], []).append(f"{key} = {value}")
    return "\n".join(
        f"# Parameters for {name}:\n# {'=' * 78}\n" + "\n".join(lines) + "\n"
        for name, lines in sections.items()
    )


def write_results(
    folder: Path, steps: dict[str, tuple[dict[str, str], dict[str, Any]]], layout: str
) -> None:
    """``folder/results`` as dlib's ``update_result_directory`` leaves it after ``steps``.

    ``layout``: ``"json"`` (gin/ and json/), ``"aggregate"`` (aggregate/ only) or ``"both"``.
    """
    results = folder / "results"
    so_far: dict[str, dict[str, Any]] = {}
    for step, (bindings, outcome) in steps.items():
        so_far[f"{step}_config"] = dict(bindings)  # gin_dict: binding -> gin text
        so_far[f"{step}_results"] = {**outcome, "uuid": f"uuid-{step}-{folder.name}"}
        if layout in ("json", "both"):
            (results / "gin").mkdir(parents=True, exist_ok=True)
            (results / "gin" / f"{step}.gin").write_text(gin_text(bindings))
            (results / "json").mkdir(parents=True, exist_ok=True)
            for name in (f"{step}_config", f"{step}_results"):
                (results / "json" / f"{name}.json").write_text(json.dumps(so_far[name], indent=2))
        if layout in ("aggregate", "both"):
            flat = {
                f"{name}.{key}": value for name, d in so_far.items() for key, value in d.items()
            }
            (results / "aggregate").mkdir(parents=True, exist_ok=True)
            (results / "aggregate" / f"{step}.json").write_text(json.dumps(flat, indent=2))


def write_evaluation(
    root: Path,
    model: str,
    metric: str,
    seed: int,
    dlib_scores: dict[str, Any],
    *,
    layout: str = "json",
    evaluation_fn: str | None = None,
) -> Path:
    """One ``dlib_reproduce`` evaluation ``root/<model>/metrics/mean/<metric>``; its folder."""
    train = MODELS[model]
    train_bindings = {
        **train,
        "model.model_num": model,
        "model.batch_size": "64",
        "model.training_steps": "300000",
        "encoder.num_latent": "10",
        "encoder.encoder_fn": "@conv_encoder",
        "vae/AdamOptimizer.learning_rate": "0.0001",
    }
    dataset = train["dataset.name"]
    postprocess = {
        "dataset.name": dataset,
        "postprocess.name": "'mean'",
        "postprocess.postprocess_fn": "@mean_representation",
        "postprocess.random_seed": "2732932154",
    }
    function, bindings = EVALUATIONS[metric][:2] if metric in EVALUATIONS else ("", {})
    evaluation = {
        "dataset.name": dataset,
        "evaluation.evaluation_fn": evaluation_fn or function,
        "evaluation.name": f"'{metric}'",
        "evaluation.random_seed": str(seed),
        **bindings,
    }
    folder = root / model / "metrics" / "mean" / metric
    steps = {
        "train": (train_bindings, {"loss": 20.5, "elapsed_time": 3600.0}),
        "postprocess": (postprocess, {"elapsed_time": 2.0}),
        "evaluation": (evaluation, {**dlib_scores, "elapsed_time": 12.5}),
    }
    write_results(folder, steps, layout)
    return folder


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Two models x eight metrics x two evaluation seeds, one seed per layout."""
    numbers = count(1)
    expected = []
    for run, (seed, layout) in RUNS.items():
        for model in MODELS:
            for metric, (_, _, names, ours, params) in EVALUATIONS.items():
                dlib_scores = {name: round(0.001 * next(numbers), 6) for name in names}
                if "num_active_dims" in dlib_scores:
                    dlib_scores["num_active_dims"] = 7
                folder = write_evaluation(
                    tmp_path / "dlib" / run, model, metric, seed, dlib_scores, layout=layout
                )
                source = (
                    folder / "results" / "json" / "evaluation_results.json"
                    if layout == "json"
                    else folder / "results" / "aggregate" / "evaluation.json"
                )
                expected.append(
                    {
                        "model": model,
                        "metric": ours,
                        "seed": seed,
                        "scores": {names[name]: value for name, value in dlib_scores.items()},
                        "params": params,
                        "source": source,
                    }
                )
    return tmp_path / "dlib", expected


def by_identity(store: Store) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["model"]["name"], r["metric"]["name"], r["seed"]): r for r in store.records()}


def test_the_names_mapped_to_are_registered_metrics_and_scores():
    for metric in METRICS.values():
        spec = REGISTRY[metric.name]
        assert set(metric.scores.values()) <= set(spec.score_keys)
        assert {k: spec.directions[k] for k in metric.directions} == metric.directions


def test_both_layouts_import_with_our_names_scores_seeds_and_data_sets(tmp_path, study):
    directory, expected = study
    store = Store(tmp_path / "store")

    summary = import_dlib(directory, store)

    assert summary == ImportSummary(imported=32, skipped=0, failed=[])
    records = by_identity(store)
    assert len(records) == 32
    for case in expected:
        record = records[(NAMES[case["model"]], case["metric"], case["seed"])]
        assert record["status"] == "ok"
        assert record["scores"] == case["scores"]
        assert record["dataset"] == {"name": DATASETS[case["model"]], "fingerprint": None}
        assert record["metric"]["params"] == case["params"]
        assert record["metric"]["directions"] == {
            score: REGISTRY[case["metric"]].directions[score] for score in case["scores"]
        }
        assert record["timings"] == {"compute": 12.5}
        assert record["notes"] == [f"imported from disentanglement_lib: {case['source']}"]
        assert record["config"]["suite"] == "disentanglement_lib"
        assert f"evaluation.random_seed = {case['seed']}\n" in record["config"]["gin"]
        assert record["model"]["adapter"] == "disentanglement_lib"
        assert record["model"]["options"] == {}
        assert record["model"]["files"] == []
    # One model read from either layout is one model; two models are two.
    sha = {
        (model, seed): record["model"]["sha256"]
        for (name, _, seed), record in records.items()
        for model in MODELS
        if name == NAMES[model]
    }
    assert sha[("0", 11)] == sha[("0", 2746317213)] != sha[("1", 11)] == sha[("1", 2746317213)]
    assert len(sha[("0", 11)]) == 64
    first = records[(NAMES["0"], "mig", 11)]["model"]
    assert first["spec"] == (
        "disentanglement_lib:beta_vae vae.beta=4 encoder.num_latent=10 model.random_seed=0 "
        "model.model_num=0 postprocess.name=mean"
    )
    unsupervised = records[(NAMES["1"], "unsupervised", 11)]["metric"]["directions"]
    assert set(unsupervised.values()) == {-1}
    assert records[(NAMES["1"], "z_min_var", 11)]["metric"]["directions"]["num_active_dims"] == 0
    assert records[(NAMES["0"], "irs", 11)]["scores"] == {"irs": 0.019, "num_active_dims": 7}


def test_reimport_skips_and_force_rewrites(tmp_path, study):
    directory, _ = study
    store = Store(tmp_path / "store")
    import_dlib(directory, store)
    tampered = next(iter(store.records()))
    path = store.path(tampered["key"])
    path.write_text(json.dumps({**tampered, "scores": {"mig": -1.0}}))

    assert import_dlib(directory, store) == ImportSummary(imported=0, skipped=32, failed=[])
    assert json.loads(path.read_text())["scores"] == {"mig": -1.0}

    assert import_dlib(directory, store, force=True) == ImportSummary(32, 0, [])
    assert json.loads(path.read_text())["scores"] == tampered["scores"]
    assert len(list(store.records())) == 32


def test_a_corrupt_json_and_an_unknown_metric_fail_and_the_rest_imports(tmp_path, study):
    directory, _ = study
    corrupt = write_evaluation(directory / "run_c", "0", "mig", 5, {"discrete_mig": 0.5})
    corrupt_file = corrupt / "results" / "json" / "evaluation_results.json"
    corrupt_file.write_text('{"discrete_mig": 0.5,')
    unknown = write_evaluation(
        directory / "run_c",
        "1",
        "downstream_task_logistic_regression",
        5,
        {"10:mean_train_accuracy": 0.9},
        evaluation_fn="@downstream_task",
    )

    summary = import_dlib(directory, tmp_path / "store")

    assert summary.imported == 32
    assert summary.skipped == 0
    assert [path for path, _ in summary.failed] == [
        str(corrupt_file),
        str(unknown / "results" / "json" / "evaluation_config.json"),
    ]
    assert summary.failed[0][1].startswith("not valid JSON")
    assert "unknown disentanglement_lib metric 'downstream_task'" in summary.failed[1][1]
    assert len(list(Store(tmp_path / "store").records())) == 32


def test_a_folder_with_both_layouts_is_one_evaluation_read_from_json(tmp_path):
    write_evaluation(tmp_path / "dlib", "0", "sap_score", 3, {"SAP_score": 0.25}, layout="both")
    store = Store(tmp_path / "store")

    assert import_dlib(tmp_path / "dlib", store) == ImportSummary(1, 0, [])
    (record,) = store.records()
    assert record["scores"] == {"sap": 0.25}
    assert record["notes"][0].endswith("json/evaluation_results.json")


def test_an_unreadable_json_layout_falls_back_to_the_aggregate(tmp_path):
    folder = write_evaluation(
        tmp_path / "dlib", "1", "sap_score", 3, {"SAP_score": 0.25}, layout="both"
    )
    (folder / "results" / "json" / "evaluation_results.json").write_text("")
    store = Store(tmp_path / "store")

    assert import_dlib(tmp_path / "dlib", store) == ImportSummary(1, 0, [])
    (record,) = store.records()
    assert record["scores"] == {"sap": 0.25}
    assert record["seed"] == 3
    assert record["notes"][0].endswith("aggregate/evaluation.json")
    assert "evaluation_results.json not valid JSON" in record["notes"][1]


def test_configs_are_read_from_gin_when_their_json_is_absent(tmp_path):
    for name, with_json in (("json", True), ("gin", False)):
        folder = write_evaluation(tmp_path / name, "0", "mig", 9, {"discrete_mig": 0.125})
        if not with_json:
            for path in (folder / "results" / "json").glob("*_config.json"):
                path.unlink()
        import_dlib(tmp_path / name, tmp_path / f"store_{name}")
    (from_json,) = Store(tmp_path / "store_json").records()
    (from_gin,) = Store(tmp_path / "store_gin").records()

    assert from_gin["key"] == from_json["key"]
    assert from_gin["model"]["name"] == NAMES["0"]
    assert from_gin["metric"]["params"] == EVALUATIONS["mig"][4]
    assert from_gin["scores"] == {"mig": 0.125}


def test_the_tfhub_module_identifies_the_model_where_present(tmp_path):
    folder = write_evaluation(tmp_path / "dlib", "0", "mig", 9, {"discrete_mig": 0.125})
    module = tmp_path / "dlib" / "0" / "postprocessed" / "mean" / "tfhub" / "saved_model.pb"
    module.parent.mkdir(parents=True)
    module.write_bytes(b"\x08\x01 a saved model")
    store = Store(tmp_path / "store")

    assert import_dlib(folder, store) == ImportSummary(1, 0, [])
    (record,) = store.records()
    assert record["model"]["sha256"] == hashlib.sha256(b"\x08\x01 a saved model").hexdigest()
    assert record["model"]["files"] == [str(module.resolve())]
    assert record["model"]["name"] == NAMES["0"]

    # Without a train config the module still identifies the model, named by its folder.
    (folder / "results" / "json" / "train_config.json").unlink()
    (folder / "results" / "gin" / "train.gin").unlink()
    assert import_dlib(folder, store, force=True) == ImportSummary(1, 0, [])
    (again,) = store.records()
    assert again["key"] == record["key"]
    assert again["model"]["name"] == "0 (mean)"
    assert again["model"]["spec"] == "disentanglement_lib:0 postprocess.name=mean"


def test_missing_evaluation_config_and_unidentifiable_model_fail(tmp_path):
    no_config = write_evaluation(tmp_path / "dlib", "0", "mig", 9, {"discrete_mig": 0.1})
    (no_config / "results" / "json" / "evaluation_config.json").unlink()
    (no_config / "results" / "gin" / "evaluation.gin").unlink()
    no_model = write_evaluation(tmp_path / "dlib", "1", "mig", 9, {"discrete_mig": 0.2})
    (no_model / "results" / "json" / "train_config.json").unlink()
    (no_model / "results" / "gin" / "train.gin").unlink()
    store = Store(tmp_path / "store")

    summary = import_dlib(tmp_path / "dlib", store)

    assert (summary.imported, summary.skipped) == (0, 0)
    assert summary.failed == [
        (
            str(no_config / "results" / "json" / "evaluation_results.json"),
            "no evaluation config beside it (json/evaluation_config.json or gin/evaluation.gin)",
        ),
        (str(no_model / "results" / "json" / "evaluation_results.json"), summary.failed[1][1]),
    ]
    assert summary.failed[1][1].startswith("cannot identify the model")
    assert list(store.records()) == []


def test_a_folder_without_dlib_results_is_reported(tmp_path):
    (tmp_path / "photos" / "results").mkdir(parents=True)
    (tmp_path / "photos" / "results" / "notes.json").write_text("{}")
    not_an_aggregate = tmp_path / "other" / "results" / "aggregate" / "evaluation.json"
    not_an_aggregate.parent.mkdir(parents=True)
    not_an_aggregate.write_text(json.dumps({"accuracy": 0.5}))

    photos = import_dlib(tmp_path / "photos", tmp_path / "store")
    other = import_dlib(tmp_path / "other", tmp_path / "store")
    missing = import_dlib(tmp_path / "absent", tmp_path / "store")

    assert photos.imported == 0
    assert photos.failed[0][0] == str(tmp_path / "photos")
    assert photos.failed[0][1].startswith("no disentanglement_lib evaluation under it")
    assert other.failed == [
        (
            str(not_an_aggregate),
            "not a disentanglement_lib evaluation aggregate: no evaluation_results.* or "
            "evaluation_config.* keys",
        )
    ]
    assert missing.failed == [(str(tmp_path / "absent"), "not a folder")]
