"""Disentanglement metrics: plain functions over arrays, one module per metric family.

Each takes ``codes`` (n_samples, n_codes) and ``factors`` (n_samples, n_factors) and returns
a ``MetricResult``; the registry lists them by name for the command line, gin and the store.
"""

from disbench.metrics.dci import dci
from disbench.metrics.dcimig import dcimig
from disbench.metrics.infomec import infomec
from disbench.metrics.irs import irs
from disbench.metrics.jemmig import jemmig
from disbench.metrics.mig import mig, mig_sup
from disbench.metrics.modularity import modularity_explicitness
from disbench.metrics.registry import REGISTRY, MetricSpec, get_metric, list_metrics
from disbench.metrics.result import MetricResult
from disbench.metrics.sap import sap
from disbench.metrics.unsupervised import unsupervised

__all__ = [
    "REGISTRY",
    "MetricResult",
    "MetricSpec",
    "dci",
    "dcimig",
    "get_metric",
    "infomec",
    "irs",
    "jemmig",
    "list_metrics",
    "mig",
    "mig_sup",
    "modularity_explicitness",
    "sap",
    "unsupervised",
]
