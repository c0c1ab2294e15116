"""Disentanglement metrics: plain functions over arrays, one module per metric family.

Observational metrics take ``codes`` (n_samples, n_codes) and ``factors`` (n_samples,
n_factors) and return a ``MetricResult``. Interventional metrics are a plan, which draws the
rows to observe from a ``FactorSampler``, and a computation over the codes of those rows.
The registry lists them all by name for the command line, gin and the store.
"""

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
from disbench.metrics.registry import REGISTRY, MetricSpec, get_metric, list_metrics
from disbench.metrics.result import MetricResult
from disbench.metrics.sampling import FactorSampler, InterventionPlan
from disbench.metrics.sap import sap
from disbench.metrics.unsupervised import unsupervised
from disbench.metrics.z_max_var import z_max_var, z_max_var_plan

__all__ = [
    "REGISTRY",
    "FactorSampler",
    "InterventionPlan",
    "MetricResult",
    "MetricSpec",
    "dci",
    "dcimig",
    "get_metric",
    "infomec",
    "irs",
    "jemmig",
    "list_metrics",
    "local_mig",
    "local_modularity",
    "local_plan",
    "mig",
    "mig_sup",
    "modularity_explicitness",
    "sap",
    "unsupervised",
    "z_diff",
    "z_diff_plan",
    "z_max_var",
    "z_max_var_plan",
    "z_min_var",
    "z_min_var_plan",
]
