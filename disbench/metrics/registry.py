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

from disbench.metrics.beta_vae import z_diff, z_diff_plan
from disbench.metrics.dci import dci
from disbench.metrics.dcimig import dcimig
from disbench.metrics.factor_vae import z_min_var, z_min_var_plan
from disbench.metrics.infomec import infomec
from disbench.metrics.irs import irs
from disbench.metrics.jemmig import jemmig
from disbench.metrics.local import local_mig, local_modularity, local_plan
from disbench.metrics.mig import mig, mig_sup
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.result import MetricResult
from disbench.metrics.sap import sap
from disbench.metrics.unsupervised import unsupervised
from disbench.metrics.z_max_var import z_max_var, z_max_var_plan

#: Arguments that carry data, never configuration: gin may not bind them.
DATA_ARGUMENTS = ("codes", "factors", "test_codes", "test_factors", "rng")


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    ``function`` is the plain function over arrays. An interventional metric also has a
    ``plan``, which draws the rows it observes from a ``FactorSampler``; its options are
    those of both functions. ``configurable`` is what gin sees under the metric's name.
    ``sample_sizes`` are the numbers of rows the evaluate pipeline observes for an
    observational metric (disentanglement_lib's study defaults); an interventional
    metric's sizes are options of its plan.
    """

    name: str
    function: Callable[..., MetricResult]
    score_keys: tuple[str, ...]
    reference: str
    sample_sizes: dict[str, int] = field(default_factory=dict)
    plan: Callable[..., Any] | None = None
    configurable: Callable[..., Any] | None = None
    #: Bumped whenever a change to the metric changes its numbers, so stored results of
    #: the old version are not reused.
    version: int = 1
    #: Scores where lower is better (a dependence, an error), and scores that rank nothing
    #: (a count); every other score is better higher.
    lower_is_better: tuple[str, ...] = ()
    unranked: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``"interventional"`` when the metric plans its own rows, else ``"observational"``."""
        return "observational" if self.plan is None else "interventional"

    @property
    def directions(self) -> dict[str, int]:
        """Each score's direction for tables: 1 higher is better, -1 lower, 0 neither."""
        return {
            key: 0 if key in self.unranked else -1 if key in self.lower_is_better else 1
            for key in self.score_keys
        }

    @property
    def defaults(self) -> dict[str, Any]:
        """The metric's options and their defaults (plan's and computation's), no data."""
        functions = (self.function,) if self.plan is None else (self.plan, self.function)
        return {
            name: parameter.default
            for function in functions
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is not inspect.Parameter.empty and name not in DATA_ARGUMENTS
        }

    @staticmethod
    def options_for(function: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
        """The entries of ``params`` that ``function`` takes."""
        accepted = inspect.signature(function).parameters
        return {name: value for name, value in params.items() if name in accepted}

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
        version=2,  # normalised by the code's entropy, as the reference code is
    ),
    MetricSpec(
        "jemmig",
        jemmig,
        ("jemmig", "jemmig_score"),
        "Do & Tran 2020, arXiv:1908.09961; Carbonneau et al. 2022",
        _TRAIN,
        lower_is_better=("jemmig",),
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
        unranked=("num_active_dims",),
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
        # dependence between codes: lower is more factorised
        lower_is_better=(
            "gaussian_total_correlation",
            "gaussian_wasserstein_correlation",
            "gaussian_wasserstein_correlation_norm",
            "mutual_info_score",
        ),
    ),
    MetricSpec(
        "z_diff",
        z_diff,
        ("train_accuracy", "eval_accuracy"),
        "Higgins et al. 2017, openreview.net/forum?id=Sy2fzU9gl; disentanglement_lib",
        plan=z_diff_plan,
    ),
    MetricSpec(
        "z_min_var",
        z_min_var,
        ("train_accuracy", "eval_accuracy", "num_active_dims"),
        "Kim & Mnih 2018, arXiv:1802.05983; disentanglement_lib",
        plan=z_min_var_plan,
        unranked=("num_active_dims",),
    ),
    MetricSpec(
        "z_max_var",
        z_max_var,
        ("train_accuracy", "eval_accuracy"),
        "Kim et al. 2019, arXiv:1902.01568; Carbonneau et al. 2022, arXiv:2012.09276",
        plan=z_max_var_plan,
    ),
    MetricSpec(
        "local_mig",
        local_mig,
        ("local_mig",),
        "Rhodes & Lee 2021, arXiv:2106.02923; travers-rhodes/jlonevae",
        plan=local_plan,
    ),
    MetricSpec(
        "local_modularity",
        local_modularity,
        ("local_modularity",),
        "Rhodes & Lee 2021, arXiv:2106.02923; travers-rhodes/jlonevae",
        plan=local_plan,
    ),
)


def _with_gin(spec: MetricSpec) -> MetricSpec:
    if spec.plan is None:
        denylist = [
            name for name in DATA_ARGUMENTS if name in inspect.signature(spec.function).parameters
        ]
        configurable = gin.external_configurable(
            spec.function, name=spec.name, module="disbench", denylist=denylist
        )
    else:
        configurable = gin.external_configurable(
            _options_signature(spec), name=spec.name, module="disbench"
        )
    return MetricSpec(**{**spec.__dict__, "configurable": configurable})


def _options_signature(spec: MetricSpec) -> Callable[..., dict[str, Any]]:
    """A function whose signature is the options of an interventional metric's plan and
    computation together: what gin validates ``z_diff.batch_size = 200`` against."""

    def options(**bound: Any) -> dict[str, Any]:
        return bound

    options.__name__ = options.__qualname__ = spec.name
    options.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in spec.defaults.items()
        ]
    )
    return options


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
