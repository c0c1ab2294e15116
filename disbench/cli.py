"""The ``disbench`` command."""

from __future__ import annotations

import argparse
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
