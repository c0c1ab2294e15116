"""The ``disbench`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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
    import gin

    from disbench.adapters import load_encoder
    from disbench.benchmark.evaluate import EvaluationError, evaluate
    from disbench.models import BUILTIN_MODELS

    gin.clear_config()  # each command parses its configuration afresh
    gin.parse_config_files_and_bindings(args.gin_file, args.gin_param, finalize_config=False)
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
            seed=args.seed,
            store=args.store,
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
    return status


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
    parser.add_argument("--store", help="folder of result records to write")
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
