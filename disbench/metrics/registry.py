"""The metric registry: every metric by its registry name, with its score keys, defaults,
reference and the sample sizes the evaluate pipeline draws for it.

This is the one place that knows gin: each metric is registered with
``gin.external_configurable`` under its registry name, its data arguments denylisted, so
``mig.num_bins = 10`` in a gin file reaches ``disbench.metrics.mig``. The metric modules
themselves stay plain functions over arrays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gin

from disbench.metrics.dci import dci
from disbench.metrics.dcimig import dcimig
from disbench.metrics.infomec import infomec
from disbench.metrics.irs import irs
from disbench.metrics.jemmig import jemmig
from disbench.metrics.mig import mig, mig_sup
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.result import MetricResult
from disbench.metrics.sap import sap
from disbench.metrics.unsupervised import unsupervised

#: Arguments that carry data, never configuration: gin may not bind them.
DATA_ARGUMENTS = ("codes", "factors", "test_codes", "test_factors", "rng")


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    ``function`` is the plain function; ``configurable`` the same function as gin sees it
    (bound parameters applied). ``sample_sizes`` are the numbers of factor rows the
    evaluate pipeline observes for it (disentanglement_lib's study defaults).
    """

    name: str
    function: Callable[..., MetricResult]
    score_keys: tuple[str, ...]
    reference: str
    sample_sizes: dict[str, int] = field(default_factory=dict)
    kind: str = "observational"
    configurable: Callable[..., MetricResult] | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """The metric's options and their defaults, data arguments left out."""
        return {
            name: parameter.default
            for name, parameter in inspect.signature(self.function).parameters.items()
            if parameter.default is not inspect.Parameter.empty and name not in DATA_ARGUMENTS
        }

    @property
    def needs_test_set(self) -> bool:
        """Whether the metric fits a predictor on a train set and scores it on a test set."""
        return "test_codes" in inspect.signature(self.function).parameters


_TRAIN = {"num_train": 10_000}
_TRAIN_TEST = {"num_train": 10_000, "num_test": 5_000}

_SPECS = (
    MetricSpec(
        "mig", mig, ("mig",), "Chen et al. 2018, arXiv:1802.04942; disentanglement_lib", _TRAIN
    ),
    MetricSpec(
        "mig_sup",
        mig_sup,
        ("mig_sup",),
        "Li et al. 2020, arXiv:2002.10549; Carbonneau et al. 2022",
        _TRAIN,
    ),
    MetricSpec(
        "jemmig",
        jemmig,
        ("jemmig", "jemmig_score"),
        "Do & Tran 2020, arXiv:1908.09961; Carbonneau et al. 2022",
        _TRAIN,
    ),
    MetricSpec(
        "dcimig",
        dcimig,
        ("dcimig",),
        "Sepliarskaia et al. 2019, arXiv:1910.05587; Carbonneau et al. 2022",
        _TRAIN,
    ),
    MetricSpec(
        "modularity_explicitness",
        modularity_explicitness,
        ("modularity", "explicitness_train", "explicitness_test"),
        "Ridgeway & Mozer 2018, arXiv:1802.05312; disentanglement_lib",
        _TRAIN_TEST,
    ),
    MetricSpec(
        "sap",
        sap,
        ("sap",),
        "Kumar et al. 2018, arXiv:1711.00848; disentanglement_lib",
        _TRAIN_TEST,
    ),
    MetricSpec(
        "dci",
        dci,
        ("disentanglement", "completeness", "informativeness_train", "informativeness_test"),
        "Eastwood & Williams 2018, openreview.net/forum?id=By-7dz-AZ; disentanglement_lib",
        _TRAIN_TEST,
    ),
    MetricSpec(
        "irs",
        irs,
        ("irs", "num_active_dims"),
        "Suter et al. 2019, arXiv:1811.00007; disentanglement_lib",
        _TRAIN,
    ),
    MetricSpec(
        "infomec", infomec, ("infom", "infoe", "infoc"), "Hsu et al. 2023, arXiv:2305.18378", _TRAIN
    ),
    MetricSpec(
        "unsupervised",
        unsupervised,
        (
            "gaussian_total_correlation",
            "gaussian_wasserstein_correlation",
            "gaussian_wasserstein_correlation_norm",
            "mutual_info_score",
        ),
        "Locatello et al. 2019, arXiv:1811.12359; disentanglement_lib",
        _TRAIN,
    ),
)


def _with_gin(spec: MetricSpec) -> MetricSpec:
    denylist = [
        name for name in DATA_ARGUMENTS if name in inspect.signature(spec.function).parameters
    ]
    configurable = gin.external_configurable(
        spec.function, name=spec.name, module="disbench", denylist=denylist
    )
    return MetricSpec(**{**spec.__dict__, "configurable": configurable})


REGISTRY: dict[str, MetricSpec] = {spec.name: _with_gin(spec) for spec in _SPECS}


def get_metric(name: str) -> MetricSpec:
    """The registered metric called ``name``; ``ValueError`` listing the names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown metric {name!r}; registered metrics: {', '.join(REGISTRY)}"
        ) from None


def list_metrics() -> list[MetricSpec]:
    """Every registered metric, in registry order."""
    return list(REGISTRY.values())
