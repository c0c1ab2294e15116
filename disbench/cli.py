"""The ``disbench`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from disbench import __version__

_ESTIMATOR_HELP = {
    "plugin": "discrete plug-in (maximum-likelihood) MI of discretised codes and factors",
    "miller_madow": "plug-in MI with the Miller-Madow bias correction of each entropy",
    "knn_cd": "continuous codes vs discrete factors, k-nearest neighbours (Ross 2014)",
    "ksg": "continuous codes vs continuous factors, Kraskov-Stoegbauer-Grassberger 2004",
}
_DISCRETIZER_HELP = {
    "histogram": "disentanglement_lib's: np.histogram edges over min..max, np.digitize",
    "equal_width": "Carbonneau et al.'s: min-max scaled to [0, 1], equal bins",
    "quantile": "equal-frequency bins by rank; ties share a bin",
    "unique": "one class per distinct value (already discrete data)",
}
_NORMALIZATION_HELP = {
    "none": "MI in nats",
    "factor": "MI / H(factor)",
    "code": "MI / H(code)",
    "arithmetic": "MI / ((H(code) + H(factor)) / 2)",
    "geometric": "MI / sqrt(H(code) H(factor))",
}


def _estimators(_: argparse.Namespace) -> int:
    from disbench import estimators

    sections = [
        (
            "estimators (mutual_information(codes, factors, estimator=...))",
            _ESTIMATOR_HELP,
            estimators.ESTIMATORS,
        ),
        (
            "discretizers (code_discretizer=..., factor_discretizer=...)",
            _DISCRETIZER_HELP,
            estimators.DISCRETIZERS,
        ),
        ("normalizations (normalization=...)", _NORMALIZATION_HELP, estimators.NORMALIZATIONS),
    ]
    for title, descriptions, names in sections:
        print(title)
        for name in names:
            print(f"  {name:<14}{descriptions[name]}")
    print("units: nats")
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from disbench.metrics import get_metric, list_metrics

    for name in args.names:
        get_metric(name)
    for spec in list_metrics():
        if args.names and spec.name not in args.names:
            continue
        print(spec.name)
        print(f"  scores:     {', '.join(spec.score_keys)}")
        defaults = ", ".join(f"{key}={value!r}" for key, value in spec.defaults.items())
        print(f"  defaults:   {defaults}")
        sizes = ", ".join(f"{key}={value:,}" for key, value in spec.sample_sizes.items())
        print(f"  samples:    {sizes}")
        print(f"  reference:  {spec.reference}")
    return 0


def _datasets(_: argparse.Namespace) -> int:
    from disbench.benchmark.datasets import list_datasets

    for info in list_datasets(data_dir=_.data_dir):
        sizes = ", ".join(
            f"{n} {s}" for n, s in zip(info.factor_names, info.factor_sizes, strict=True)
        )
        print(info.name)
        print(f"  factors:    {sizes or 'from the file'}")
        print(f"  files:      {info.status}")
    return 0


def _input_range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LOW,HIGH such as 0,255 or -1,1; got {text!r}"
        ) from None
    return low, high


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object such as '{\"latent_dim\": 10}'")
    return value


def _evaluate(args: argparse.Namespace) -> int:
    from disbench.adapters import load_encoder
    from disbench.benchmark.evaluate import EvaluationError, evaluate
    from disbench.benchmark.suites import load_suite
    from disbench.models import BUILTIN_MODELS
    from disbench.results.store import default_store

    suite = load_suite(args.gin_file, args.gin_param)
    store = args.store or default_store()
    model = str(BUILTIN_MODELS.get(args.model, args.model))
    encoder = load_encoder(
        model,
        weights=args.weights,
        init=args.init,
        input_layout=args.input_layout,
        input_range=args.input_range,
        output=int(args.output) if args.output and args.output.isdigit() else args.output,
        device=args.device,
        trust_pickle=args.trust_pickle,
        framework=args.framework,
    )
    sizes = {
        key: value
        for key, value in (("num_train", args.num_train), ("num_test", args.num_test))
        if value is not None
    }
    status = 0
    try:
        frame = evaluate(
            encoder,
            args.dataset,
            args.metrics,
            suite=suite,
            seed=args.seed,
            store=store,
            sample_sizes=sizes or None,
            batch_size=args.batch_size,
            data_dir=args.data_dir,
            cache=not args.no_cache,
            force=args.force,
        )
    except EvaluationError as error:
        frame, status = error.partial, 1
        print(f"disbench evaluate: error: {error}", file=sys.stderr)
    if args.json:
        print(frame.to_json(orient="records", indent=1))
    elif len(frame):
        print(f"{encoder.name} on {frame['dataset'].iloc[0]} (seed {args.seed})")
        table = frame[["metric", "score", "value"]]
        print(table.to_string(index=False, float_format=lambda value: f"{value:.4f}"))
        print(f"records: {store}")
    return status


def _compare(args: argparse.Namespace) -> int:
    import warnings

    from disbench.results.frame import load_with_failures
    from disbench.results.store import default_store
    from disbench.results.tables import compare, format_table

    store = args.store or default_store()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, errors = load_with_failures(store)
    for warning in caught:
        print(f"disbench compare: {warning.message}", file=sys.stderr)
    if not len(frame):
        raise ValueError(f"the store {store} holds no results; run `disbench evaluate` first")
    filters = {"datasets": args.dataset, "metrics": args.metric, "models": args.model}
    table = compare(frame, **filters)
    text = format_table(table, args.format, ranks=args.ranks, precision=args.precision)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"table: {args.output}", file=sys.stderr)
    else:
        print(text.rstrip("\n"))
    if args.plot:
        from disbench.results.plots import write_plots

        for path in write_plots(store, args.plot, frame=frame, **filters):
            print(f"plot: {path}", file=sys.stderr)
    if len(errors):
        print(
            f"disbench compare: {len(errors)} error record(s) left out "
            f"(metrics: {', '.join(sorted(set(errors['metric'].astype(str))))})",
            file=sys.stderr,
        )
    return 0


def _import_dlib(args: argparse.Namespace) -> int:
    from disbench.results.dlib_import import import_dlib
    from disbench.results.store import default_store

    store = args.store or default_store()
    summary = import_dlib(args.directory, store, force=args.force)
    for path, reason in summary.failed:
        print(f"disbench import-dlib: skipped {path}: {reason}", file=sys.stderr)
    print(
        f"imported {summary.imported}, already present {summary.skipped}, "
        f"failed {len(summary.failed)} into {store}"
    )
    return 1 if summary.failed and not summary.imported and not summary.skipped else 0


def _sweep(args: argparse.Namespace) -> int:
    from disbench.benchmark.executors import SlurmOptions
    from disbench.benchmark.sweep import FAILED, load_sweep, run_sweep

    extra = [_read_text(path) for path in args.gin_file] + args.gin_param
    if args.scheduler and args.executor != "dask":
        raise ValueError("--scheduler is a Dask scheduler's address; add --executor dask")
    sweep = load_sweep(args.sweep, extra, store=args.store)
    if args.dry_run:
        for job in sweep.jobs:
            suites = ", ".join(suite.name for suite in job.suites)
            print(f"{job.label}  [{suites}]")
        print(f"{len(sweep.jobs)} jobs; records go to {sweep.store}")
        return 0
    slurm = SlurmOptions(
        folder=args.slurm_folder,
        partition=args.slurm_partition,
        time_minutes=args.slurm_time,
        gpus_per_node=args.slurm_gpus,
        cpus_per_task=args.slurm_cpus,
        mem_gb=args.slurm_mem,
        cluster=args.slurm_cluster,
    )
    summary = run_sweep(
        sweep,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        slurm=slurm,
    )
    for result in summary.results:
        if result.status == FAILED:
            print(f"disbench sweep: failed: {result.label}: {result.message}", file=sys.stderr)
    print(summary)
    print(f"records: {sweep.store} (see `disbench compare --store {sweep.store}`)")
    return 1 if summary.count(FAILED) else 0


def _add_sweep(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sweep",
        help="run a gin sweep of models x data sets x seeds, resumably, here or on a cluster",
        description="Expand SWEEP (a gin file binding sweep.models, sweep.datasets, "
        "sweep.suites, sweep.seeds) into jobs and run those not already in the store.",
    )
    parser.add_argument("sweep", help="the sweep's gin file")
    parser.add_argument(
        "--executor",
        choices=("local", "processes", "dask", "slurm"),
        default="local",
        help="where jobs run (default: one after the other in this process)",
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: CPU cores)")
    parser.add_argument("--scheduler", help="a Dask scheduler address, e.g. tcp://host:8786")
    parser.add_argument(
        "--gin-file", action="append", default=[], help="more gin applied after SWEEP (repeatable)"
    )
    parser.add_argument(
        "--gin-param", action="append", default=[], help="a gin binding (repeatable)"
    )
    parser.add_argument(
        "--store", help="folder of records (default: sweep.store, else the default store)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the jobs, run nothing")
    slurm = parser.add_argument_group("slurm (submitit)")
    slurm.add_argument("--slurm-partition", help="the partition to submit to")
    slurm.add_argument("--slurm-time", type=int, default=60, help="minutes per job (default 60)")
    slurm.add_argument("--slurm-gpus", type=int, default=0, help="GPUs per job (default 0)")
    slurm.add_argument("--slurm-cpus", type=int, default=4, help="CPUs per job (default 4)")
    slurm.add_argument("--slurm-mem", type=float, help="memory per job in GB (default: Slurm's)")
    slurm.add_argument("--slurm-folder", default="disbench-slurm", help="submitit's log folder")
    slurm.add_argument(
        "--slurm-cluster",
        choices=("slurm", "local", "debug"),
        help="submitit's cluster: slurm (default when present), or local/debug on this machine",
    )
    parser.set_defaults(run=_sweep)


def _read_text(path: str) -> str:
    if not Path(path).is_file():
        raise ValueError(f"no gin file {path!r}")
    return Path(path).read_text(encoding="utf-8")


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare",
        help="tabulate stored results: models x metrics, mean ± std over seeds; plots",
        description="Models (rows) × metric scores (columns), mean ± std over seeds, the best "
        "of each column marked, from a store of result records.",
    )
    parser.add_argument(
        "--store", help="folder of records (default: $DISBENCH_STORE or ./disbench-results)"
    )
    parser.add_argument(
        "--dataset", type=_comma_list, help="only these data sets (comma-separated)"
    )
    parser.add_argument(
        "--metric", type=_comma_list, help="only these metrics or scores (mig, dci.completeness)"
    )
    parser.add_argument("--model", type=_comma_list, help="only these models (their table labels)")
    parser.add_argument(
        "--ranks", action="store_true", help="rank models per column; sort by mean rank"
    )
    parser.add_argument(
        "--format", default="text", choices=("text", "markdown", "latex", "csv", "html")
    )
    parser.add_argument("--precision", type=int, default=3, help="decimals (default 3)")
    parser.add_argument("--output", help="write the table to this file instead of printing it")
    parser.add_argument(
        "--plot", metavar="DIR", help="also write figures (PNG and PDF) to this folder"
    )
    parser.set_defaults(run=_compare)


def _add_import_dlib(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import-dlib",
        help="import disentanglement_lib result folders into the store",
        description="Read disentanglement_lib evaluation results under DIRECTORY and store "
        "them as disbench records, with disbench's metric and score names.",
    )
    parser.add_argument("directory", help="a disentanglement_lib output folder")
    parser.add_argument(
        "--store", help="folder of records (default: $DISBENCH_STORE or ./disbench-results)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite records already stored")
    parser.set_defaults(run=_import_dlib)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="evaluate a model (or precomputed codes) on a data set with the metrics",
        description="Evaluate MODEL on DATASET with every metric (or --metrics).",
    )
    parser.add_argument(
        "model",
        help="a model file (.pt TorchScript, .pt2 torch.export, .onnx, a jax.export file), "
        "module:attr (a class with --weights, or a function), an .npz of codes, "
        "or a built-in model: " + ", ".join(_builtin_names()),
    )
    parser.add_argument(
        "dataset",
        nargs="?",
        help="a data set name (see `disbench datasets`) or a file; optional for an .npz of codes",
    )
    parser.add_argument("--metrics", help="comma-separated metric names (see `disbench metrics`)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every plan and metric")
    parser.add_argument("--gin-file", action="append", default=[], help="a gin file (repeatable)")
    parser.add_argument(
        "--gin-param", action="append", default=[], help="a gin binding such as mig.num_bins=10"
    )
    parser.add_argument(
        "--device", default="auto", help="torch device: auto (CUDA when present), cuda, cpu"
    )
    parser.add_argument("--batch-size", type=int, help="images per encoder call (default: probed)")
    parser.add_argument("--data-dir", help="folder of the data files (else $DISBENCH_DATA, ...)")
    parser.add_argument(
        "--store", help="folder of result records (default: $DISBENCH_STORE or ./disbench-results)"
    )
    parser.add_argument("--force", action="store_true", help="recompute records already stored")
    parser.add_argument("--no-cache", action="store_true", help="do not cache a grid's codes")
    parser.add_argument("--num-train", type=int, help="rows per metric (default: the registry's)")
    parser.add_argument("--num-test", type=int, help="test rows per train/test metric")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    model = parser.add_argument_group("model options")
    model.add_argument("--weights", help="state dict or Lightning checkpoint for module:Class")
    model.add_argument("--init", type=_json_object, help="JSON keyword arguments for the class")
    model.add_argument("--input-layout", choices=("nchw", "nhwc"), default="nchw")
    model.add_argument(
        "--input-range", type=_input_range, default=(0.0, 1.0), help="LOW,HIGH (default 0,1)"
    )
    model.add_argument("--output", help="output element to use: an index or a key (default: mean)")
    model.add_argument(
        "--framework",
        choices=("torch", "numpy", "jax"),
        help="what a module:function takes (default: detected from the function)",
    )
    model.add_argument(
        "--trust-pickle", action="store_true", help="allow loading pickles (only files you trust)"
    )
    parser.set_defaults(run=_evaluate)


def _builtin_names() -> list[str]:
    from disbench.models import BUILTIN_MODELS

    return list(BUILTIN_MODELS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``disbench`` command."""
    parser = argparse.ArgumentParser(
        prog="disbench",
        description="Evaluate trained representations with the standard disentanglement metrics.",
    )
    parser.add_argument("--version", action="version", version=f"disbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "estimators", help="list the entropy and mutual-information estimators"
    )
    listing.set_defaults(run=_estimators)
    metrics = commands.add_parser(
        "metrics", help="list the metrics: score keys, defaults, sample sizes, reference"
    )
    metrics.add_argument("names", nargs="*", help="only these metrics (default: all)")
    metrics.set_defaults(run=_metrics)
    datasets = commands.add_parser(
        "datasets", help="list the data sets: factors, and whether their files are present"
    )
    datasets.add_argument("--data-dir", help="folder of the data files (else $DISBENCH_DATA, ...)")
    datasets.set_defaults(run=_datasets)
    _add_evaluate(commands)
    _add_compare(commands)
    _add_import_dlib(commands)
    _add_sweep(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``disbench`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"disbench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
