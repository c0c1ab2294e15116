"""Import disentanglement_lib evaluation results into a disbench store.

disentanglement_lib (dlib, github.com/google-research/disentanglement_lib, read from
commit 76f41e3 to 86a644d: ``evaluation/evaluate.py``, ``utils/results.py``,
``utils/aggregate_results.py``, ``bin/dlib_reproduce``, ``evaluation/metrics/*.py``) ends
every step — train, postprocess, evaluation — with ``results.update_result_directory``.
It copies the previous step's ``results/`` folder and adds, for step ``evaluation``:

``results/gin/evaluation.gin``
    gin's operative configuration: ``# Parameters for mig:`` comments and lines
    ``mig.num_train = 10000``, ``dataset.name = 'dsprites_full'``,
    ``evaluation.evaluation_fn = @mig``.
``results/json/evaluation_config.json``
    That file as a JSON object, binding to gin *text*: every value a string, strings
    still quoted (``"'dsprites_full'"``), numbers as text (``"10000"``), references as
    ``"@mig"``. ``train_config.json`` and ``postprocess_config.json`` (copied along) are
    alike.
``results/json/evaluation_results.json``
    The metric's score dict as JSON numbers, plus ``elapsed_time`` (seconds for the whole
    evaluation, sampling included) and ``uuid``.
``results/aggregate/evaluation.json``
    Every ``json/*.json`` of the folder in one flat object, each key prefixed by its file
    name: ``evaluation_results.discrete_mig``, ``evaluation_config.dataset.name``,
    ``train_config.vae.beta``, ``postprocess_config.postprocess.name``.

``import_dlib`` walks a folder for both layouts: (a) ``results/json/`` (the configs from
``*_config.json``, else from ``results/gin/*.gin`` parsed as dlib's ``gin_dict`` does) and
(b) ``results/aggregate/evaluation.json`` alone. A ``results/`` folder holding both is one
evaluation: it is read from ``json/``, and from ``aggregate/`` where ``json/`` is
unreadable. dlib's study-wide ``dlib_aggregate_results`` table (a pandas JSON) is not read.

Names
-----
The metric is the configurable that ``evaluation.evaluation_fn`` references::

    dlib evaluation_fn        dlib config file          disbench metric
    @mig                      mig.gin                   mig
    @dci                      dci.gin                   dci
    @sap_score                sap_score.gin             sap
    @modularity_explicitness  modularity_explicitness   modularity_explicitness
    @irs                      irs.gin                   irs
    @unsupervised_metrics     unsupervised.gin          unsupervised
    @beta_vae_sklearn         beta_vae_sklearn.gin      z_diff
    @factor_vae_score         factor_vae_metric.gin     z_min_var

Any other (``downstream_task``, ``fairness``, ...) is reported in ``failed``. Scores::

    discrete_mig              -> mig
    SAP_score                 -> sap
    modularity_score          -> modularity
    explicitness_score_train  -> explicitness_train
    explicitness_score_test   -> explicitness_test
    IRS                       -> irs
    elapsed_time              -> timings["compute"] (not a score)
    uuid                      -> dropped

and every other score of the table keeps its name (DCI's ``disentanglement``,
``completeness``, ``informativeness_train/test``; the unsupervised scores;
``train_accuracy``, ``eval_accuracy``, ``num_active_dims``). A score dlib wrote that the
table does not know is kept under its dlib name, with a note. The numbers are dlib's as
written, quirks included: dlib's FactorVAE ``num_active_dims`` is the number of all code
dimensions (``len`` of a boolean mask), its IRS ``num_active_dims`` the sum of the active
codes' values.

Parameters (bindings of the metric's configurable and the helpers it calls)::

    <fn>.num_train, <fn>.num_test, <fn>.num_eval  -> num_train, num_test, num_eval
    beta_vae_sklearn.batch_size, factor_vae_score.batch_size -> batch_size
    factor_vae_score.num_variance_estimate        -> num_variance_estimate
    prune_dims.threshold                          -> prune_threshold
    sap_score.continuous_factors                  -> continuous_factors
    irs.diff_quantile                             -> diff_quantile
    discretizer.num_bins                          -> num_bins
    discretizer.discretizer_fn (MIG only)         -> code_discretizer ("histogram")

Any other binding of those configurables (``mig.batch_size``, the sampling batch) keeps its
dlib binding name and gin value. Data sets: ``dsprites_full`` -> ``dsprites``; every other
name (``shapes3d``, ``mpi3d_toy``, ``mpi3d_realistic``, ``mpi3d_real``, ``cars3d``,
``smallnorb``, ``color_dsprites``, ...) is kept.

Models
------
A record's model is the representation dlib evaluated: a trained model and its
postprocessing (``mean`` or ``sampled``). Its ``sha256`` is that of the TFHub module dlib
loaded, ``postprocessed/<name>/tfhub/saved_model.pb`` beside ``metrics/<name>/<metric>/``
(``dlib_reproduce``'s layout), where present; else that of the canonical JSON of the
train and postprocess configs. Either is the same on every machine and every import, so a
re-import skips what is stored. The name reads ``beta_vae (beta=4, seed 3, mean)``: dlib's
``model.name``, the hyper-parameters of the model's configurable, ``model.random_seed``
and the postprocessing.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbench.results.record import canonical_json, make_record
from disbench.results.store import Store, StoreError

#: Folder name, file name: the files that mark a dlib ``results/`` folder of an evaluation.
_MARKERS = (
    ("json", "evaluation_results.json"),
    ("json", "evaluation_config.json"),
    ("gin", "evaluation.gin"),
    ("aggregate", "evaluation.json"),
)

_DATASETS = {"dsprites_full": "dsprites"}

_UNSUPERVISED_SCORES = (
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm",
    "mutual_info_score",
)


@dataclass(frozen=True)
class _Metric:
    """How one dlib evaluation function maps to a disbench metric."""

    name: str
    scores: dict[str, str]
    params: dict[str, str]
    directions: dict[str, int] = field(default_factory=dict)


def _own(function: str, *names: str) -> dict[str, str]:
    """Bindings ``<function>.<name>`` that keep their parameter name in disbench."""
    return {f"{function}.{name}": name for name in names}


#: dlib's configurable name of ``evaluation.evaluation_fn`` -> the disbench metric.
METRICS: dict[str, _Metric] = {
    "mig": _Metric(
        "mig",
        {"discrete_mig": "mig"},
        {
            **_own("mig", "num_train"),
            "discretizer.num_bins": "num_bins",
            "discretizer.discretizer_fn": "code_discretizer",
        },
    ),
    "dci": _Metric(
        "dci",
        {
            name: name
            for name in (
                "disentanglement",
                "completeness",
                "informativeness_train",
                "informativeness_test",
            )
        },
        _own("dci", "num_train", "num_test"),
    ),
    "sap_score": _Metric(
        "sap",
        {"SAP_score": "sap"},
        _own("sap_score", "num_train", "num_test", "continuous_factors"),
    ),
    "modularity_explicitness": _Metric(
        "modularity_explicitness",
        {
            "modularity_score": "modularity",
            "explicitness_score_train": "explicitness_train",
            "explicitness_score_test": "explicitness_test",
        },
        {
            **_own("modularity_explicitness", "num_train", "num_test"),
            "discretizer.num_bins": "num_bins",
        },
    ),
    "irs": _Metric(
        "irs",
        {"IRS": "irs", "num_active_dims": "num_active_dims"},
        {**_own("irs", "num_train", "diff_quantile"), "discretizer.num_bins": "num_bins"},
        {"num_active_dims": 0},
    ),
    "unsupervised_metrics": _Metric(
        "unsupervised",
        {name: name for name in _UNSUPERVISED_SCORES},
        {**_own("unsupervised_metrics", "num_train"), "discretizer.num_bins": "num_bins"},
        dict.fromkeys(_UNSUPERVISED_SCORES, -1),
    ),
    "beta_vae_sklearn": _Metric(
        "z_diff",
        {"train_accuracy": "train_accuracy", "eval_accuracy": "eval_accuracy"},
        _own("beta_vae_sklearn", "batch_size", "num_train", "num_eval"),
    ),
    "factor_vae_score": _Metric(
        "z_min_var",
        {
            "train_accuracy": "train_accuracy",
            "eval_accuracy": "eval_accuracy",
            "num_active_dims": "num_active_dims",
        },
        {
            **_own(
                "factor_vae_score", "batch_size", "num_train", "num_eval", "num_variance_estimate"
            ),
            "prune_dims.threshold": "prune_threshold",
        },
        {"num_active_dims": 0},
    ),
}

#: Configurables whose bindings, besides the metric's own, are its parameters.
_HELPERS = {
    "mig": ("discretizer",),
    "modularity_explicitness": ("discretizer",),
    "irs": ("discretizer",),
    "unsupervised_metrics": ("discretizer",),
    "factor_vae_score": ("prune_dims",),
}


@dataclass
class ImportSummary:
    """What ``import_dlib`` did.

    Attributes
    ----------
    imported : int
        Records written.
    skipped : int
        Evaluations whose record was already in the store (same key), not rewritten.
    failed : list of (str, str)
        The file that could not be read or mapped, and why.
    """

    imported: int
    skipped: int
    failed: list[tuple[str, str]]


class _Unusable(Exception):
    """An evaluation that cannot become a record: the file at fault and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass
class _Evaluation:
    """One dlib evaluation as read from either layout; configs are gin text per binding."""

    source: Path
    config_source: Path
    results: dict[str, Any]
    config: dict[str, Any]
    train: dict[str, Any] | None
    postprocess: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def import_dlib(
    directory: str | os.PathLike[str], store: Store | str | os.PathLike[str], *, force: bool = False
) -> ImportSummary:
    """Write the disentanglement_lib evaluations under ``directory`` into ``store``.

    Parameters
    ----------
    directory : path
        Searched recursively for dlib ``results/`` folders of evaluations, e.g. the
        ``output/`` of ``dlib_reproduce`` (``<model>/metrics/<postprocessing>/<metric>/``).
    store : Store or path
        Where the records go.
    force : bool, default=False
        Rewrite records whose key is already stored; by default they are skipped.

    Returns
    -------
    ImportSummary
        Records written, records skipped, and each evaluation that could not be imported
        (unreadable JSON, no evaluation config, a metric disbench has no name for) with
        its file and the reason. One evaluation failing never stops the others, and none
        is half written.

    Raises
    ------
    StoreError
        ``store`` is a file, not a folder.
    """
    if not isinstance(store, Store):
        store = Store(store)
    root = Path(directory).absolute()
    summary = ImportSummary(imported=0, skipped=0, failed=[])
    if not root.is_dir():
        summary.failed.append((str(root), "not a folder"))
        return summary
    folders = _results_folders(root)
    if not folders:
        summary.failed.append(
            (
                str(root),
                "no disentanglement_lib evaluation under it (no results/json/"
                "evaluation_results.json nor results/aggregate/evaluation.json)",
            )
        )
    written: set[str] = set()
    for folder in folders:
        try:
            evaluation = _read_evaluation(folder)
            record = _record(evaluation, folder)
        except _Unusable as error:
            summary.failed.append((str(error.path), error.reason))
            continue
        key = record["key"]
        try:
            if key in written or (not force and store.has_ok(key)):
                summary.skipped += 1
                continue
            store.write(record)
        except StoreError as error:
            summary.failed.append((str(evaluation.source), str(error)))
            continue
        written.add(key)
        summary.imported += 1
    return summary


def _results_folders(root: Path) -> list[Path]:
    """Every dlib ``results/`` folder of an evaluation under ``root``, sorted."""
    found = set()
    for path, _, files in os.walk(root):
        folder = Path(path)
        if any(folder.name == parent and name in files for parent, name in _MARKERS):
            found.add(folder.parent)
    return sorted(found)


def _read_evaluation(folder: Path) -> _Evaluation:
    """The evaluation in ``folder``: from ``json/`` (or ``gin/``), else ``aggregate/``."""
    aggregate = folder / "aggregate" / "evaluation.json"
    readers: list[Callable[[], _Evaluation]] = []
    if any((folder / parent / name).is_file() for parent, name in _MARKERS[:3]):
        readers.append(lambda: _read_json_layout(folder))
    if aggregate.is_file():
        readers.append(lambda: _read_aggregate(aggregate))
    errors: list[_Unusable] = []
    for reader in readers:
        try:
            evaluation = reader()
        except _Unusable as error:
            errors.append(error)
            continue
        evaluation.notes += [
            f"read from {evaluation.source}: {error.path} {error.reason}" for error in errors
        ]
        return evaluation
    first = errors[0]
    also = "".join(f"; {error.path} too: {error.reason}" for error in errors[1:])
    raise _Unusable(first.path, first.reason + also)


def _read_json_layout(folder: Path) -> _Evaluation:
    results_path = folder / "json" / "evaluation_results.json"
    if not results_path.is_file():
        raise _Unusable(results_path, "missing: the evaluation wrote no results")
    results = _read_json_object(results_path)
    config = _read_config(folder, "evaluation")
    if config is None:
        raise _Unusable(
            results_path,
            "no evaluation config beside it (json/evaluation_config.json or gin/evaluation.gin)",
        )
    train = _read_config(folder, "train")
    postprocess = _read_config(folder, "postprocess")
    return _Evaluation(
        source=results_path,
        config_source=config[1],
        results=results,
        config=config[0],
        train=None if train is None else train[0],
        postprocess=None if postprocess is None else postprocess[0],
    )


def _read_config(folder: Path, step: str) -> tuple[dict[str, Any], Path] | None:
    """A step's gin bindings from ``json/<step>_config.json``, else ``gin/<step>.gin``."""
    path = folder / "json" / f"{step}_config.json"
    if path.is_file():
        return _read_json_object(path), path
    path = folder / "gin" / f"{step}.gin"
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise _Unusable(path, f"unreadable: {error}") from None
        return _gin_dict(text), path
    return None


def _gin_dict(text: str) -> dict[str, str]:
    """Bindings of gin's operative config text, as dlib's ``results.gin_dict`` reads them."""
    result = {}
    for line in text.split("\n"):
        if not line.startswith("#") and " = " in line:
            key, value = line.split(" = ", 1)
            result[key] = value
    return result


def _read_aggregate(path: Path) -> _Evaluation:
    namespaces: dict[str, dict[str, Any]] = {}
    for key, value in _read_json_object(path).items():
        namespace, dot, name = key.partition(".")
        if dot:
            namespaces.setdefault(namespace, {})[name] = value
    missing = [
        f"{namespace}.*"
        for namespace in ("evaluation_results", "evaluation_config")
        if namespace not in namespaces
    ]
    if missing:
        raise _Unusable(
            path, f"not a disentanglement_lib evaluation aggregate: no {' or '.join(missing)} keys"
        )
    return _Evaluation(
        source=path,
        config_source=path,
        results=namespaces["evaluation_results"],
        config=namespaces["evaluation_config"],
        train=namespaces.get("train_config"),
        postprocess=namespaces.get("postprocess_config"),
    )


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise _Unusable(path, f"unreadable: {error}") from None
    except ValueError as error:
        raise _Unusable(path, f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise _Unusable(path, f"not a JSON object but a {type(value).__name__}")
    return value


def _gin_value(text: Any) -> Any:
    """A gin value as Python: ``"'mean'"`` -> ``"mean"``, ``"20"`` -> 20; ``"@mig"`` stays."""
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _reference(text: Any) -> str:
    """The configurable a gin reference names: ``"@vae()"`` -> ``"vae"``."""
    return str(text).strip().lstrip("@").removesuffix("()").rsplit("/", 1)[-1]


def _record(evaluation: _Evaluation, folder: Path) -> dict[str, Any]:
    config, where = evaluation.config, evaluation.config_source
    if "evaluation.evaluation_fn" not in config:
        raise _Unusable(where, "no evaluation.evaluation_fn in the evaluation config")
    function = _reference(config["evaluation.evaluation_fn"])
    metric = METRICS.get(function)
    if metric is None:
        raise _Unusable(
            where,
            f"unknown disentanglement_lib metric {function!r} (evaluation.evaluation_fn = "
            f"{config['evaluation.evaluation_fn']}); disbench imports {', '.join(METRICS)}",
        )
    seed = _gin_value(config.get("evaluation.random_seed"))
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise _Unusable(where, f"evaluation.random_seed is not an integer: {seed!r}")
    dataset = _gin_value(config.get("dataset.name"))
    if not isinstance(dataset, str) or not dataset:
        raise _Unusable(where, f"dataset.name is not a data set name: {dataset!r}")
    scores, timings, score_notes = _scores(evaluation, metric)
    return make_record(
        model=_model(evaluation, folder),
        dataset={"name": _DATASETS.get(dataset, dataset), "fingerprint": None},
        metric=metric.name,
        params=_params(config, function, metric),
        seed=seed,
        directions={score: metric.directions.get(score, 1) for score in scores},
        config={
            "suite": "disentanglement_lib",
            "gin": "".join(f"{key} = {value}\n" for key, value in sorted(config.items())),
        },
        scores=scores,
        notes=[
            f"imported from disentanglement_lib: {evaluation.source}",
            *evaluation.notes,
            *score_notes,
        ],
        timings=timings,
    )


def _scores(
    evaluation: _Evaluation, metric: _Metric
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """The mapped scores, the timings and notes on scores kept under dlib's names."""
    scores: dict[str, float] = {}
    timings: dict[str, float] = {}
    notes = []
    for name, value in evaluation.results.items():
        if name == "uuid":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _Unusable(evaluation.source, f"the result {name!r} is not a number: {value!r}")
        if name == "elapsed_time":
            timings["compute"] = float(value)
        elif name in metric.scores:
            scores[metric.scores[name]] = value
        else:
            scores[name] = value
            notes.append(f"score {name!r} has no disbench name; kept as disentanglement_lib's")
    if not set(metric.scores.values()) & set(scores):
        raise _Unusable(
            evaluation.source,
            f"no {metric.name} score in it (expected {', '.join(metric.scores)})",
        )
    return scores, timings, notes


def _params(config: dict[str, Any], function: str, metric: _Metric) -> dict[str, Any]:
    """The metric's bindings under disbench's parameter names, else dlib's binding names."""
    configurables = (function, *_HELPERS.get(function, ()))
    params = {}
    for binding, text in sorted(config.items()):
        if binding.rpartition(".")[0] not in configurables:
            continue
        name = metric.params.get(binding, binding)
        value = _gin_value(text)
        if name == "code_discretizer":
            value = _reference(value).removesuffix("_discretizer")
        params[name] = value
    return params


def _model(evaluation: _Evaluation, folder: Path) -> dict[str, Any]:
    """The evaluated representation: name, spec and SHA-256 (see the module docstring)."""
    train, postprocess = evaluation.train or {}, evaluation.postprocess or {}
    evaluation_dir = folder.parent
    in_reproduce_layout = evaluation_dir.parent.parent.name == "metrics"
    representation = _gin_value(postprocess.get("postprocess.name"))
    if not representation and in_reproduce_layout:
        representation = evaluation_dir.parent.name
    module = (
        evaluation_dir.parents[2]
        / "postprocessed"
        / evaluation_dir.parent.name
        / "tfhub"
        / "saved_model.pb"
        if in_reproduce_layout
        else None
    )
    if module is not None and module.is_file():
        sha256, files = _sha256_file(module), [str(module.resolve())]
    elif evaluation.train is not None:
        identity = {"train": evaluation.train, "postprocess": evaluation.postprocess}
        sha256, files = hashlib.sha256(canonical_json(identity).encode()).hexdigest(), []
    else:
        raise _Unusable(
            evaluation.source,
            "cannot identify the model: no train config (json/train_config.json, "
            "gin/train.gin or train_config.* keys) and no TFHub module "
            "postprocessed/<name>/tfhub/saved_model.pb beside the evaluation",
        )

    hyper = _reference(train.get("model.model", ""))
    settings = {
        key: _gin_value(value)
        for key, value in sorted(train.items())
        if hyper and key.startswith(f"{hyper}.")
    }
    model_name = _gin_value(train.get("model.name")) or hyper
    if not model_name:
        model_name = evaluation_dir.parents[2].name if in_reproduce_layout else folder.parent.name
    seed = _gin_value(train.get("model.random_seed"))
    label = [f"{key.partition('.')[2]}={_text(value)}" for key, value in settings.items()]
    label += [f"seed {seed}"] if seed is not None else []
    label += [str(representation)] if representation else []
    described = {
        **settings,
        **{
            key: _gin_value(train[key])
            for key in ("encoder.num_latent", "model.random_seed", "model.model_num")
            if key in train
        },
        **({"postprocess.name": representation} if representation else {}),
    }
    spec = " ".join(
        [f"disentanglement_lib:{model_name}"]
        + [f"{key}={_text(value)}" for key, value in described.items()]
    )
    return {
        "spec": spec,
        "name": f"{model_name} ({', '.join(label)})" if label else str(model_name),
        "sha256": sha256,
        "adapter": "disentanglement_lib",
        "options": {},
        "files": files,
    }


def _text(value: Any) -> str:
    """A hyper-parameter for a label: ``4.0`` -> ``"4"``, ``1e-4`` -> ``"0.0001"``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise _Unusable(path, f"unreadable: {error}") from None
    return digest.hexdigest()
