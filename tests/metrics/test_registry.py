"""What every metric shares: registry entries, signatures, docs, gin, determinism, real codes."""

import inspect

import gin
import numpy as np
import pytest

from disbench import metrics
from disbench.metrics import MetricResult, get_metric, list_metrics
from tests.metrics import synthetic

# DESIGN.md's catalogue: tables, importers and users rely on these keys.
SCORE_KEYS = {
    "mig": ("mig",),
    "mig_sup": ("mig_sup",),
    "jemmig": ("jemmig", "jemmig_score"),
    "dcimig": ("dcimig",),
    "modularity_explicitness": ("modularity", "explicitness_train", "explicitness_test"),
    "sap": ("sap",),
    "dci": ("disentanglement", "completeness", "informativeness_train", "informativeness_test"),
    "irs": ("irs", "num_active_dims"),
    "infomec": ("infom", "infoe", "infoc"),
    "unsupervised": (
        "gaussian_total_correlation",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
        "mutual_info_score",
    ),
}
#: Options that keep the slowest metrics quick where the test is not about them.
FAST = {"dci": {"predictor": "hist_gbt"}}
#: Scores that are not in [0, 1].
UNBOUNDED = {"num_active_dims", "gaussian_total_correlation", "gaussian_wasserstein_correlation"}


def run(spec, codes, factors, test_codes=None, test_factors=None, **options):
    kwargs = {**FAST.get(spec.name, {}), **options}
    if spec.needs_test_set and test_codes is not None:
        kwargs.update(test_codes=test_codes, test_factors=test_factors)
    return spec.function(codes, factors, **kwargs)


def test_the_registry_holds_every_observational_metric_with_its_keys():
    assert {spec.name: spec.score_keys for spec in list_metrics()} == SCORE_KEYS
    with pytest.raises(ValueError, match="unknown metric 'migg'; registered metrics: mig, "):
        get_metric("migg")


@pytest.mark.parametrize("name", sorted(SCORE_KEYS))
def test_signature_and_documentation(name):
    function = get_metric(name).function
    parameters = inspect.signature(function).parameters
    assert list(parameters)[:2] == ["codes", "factors"]
    for parameter in list(parameters.values())[2:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name
        assert parameter.default is not inspect.Parameter.empty, parameter.name
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    doc = inspect.getdoc(function)
    for section in ("Parameters", "Returns", "Notes", "References", "Examples"):
        assert f"\n{section}\n" in doc, f"{name}: no {section} section"
    assert getattr(metrics, function.__name__) is function


@pytest.mark.parametrize("name", sorted(SCORE_KEYS))
def test_scores_in_range_and_identical_for_the_same_seed(name, rng):
    spec = get_metric(name)
    factors = synthetic.uniform_factors(rng, n=3000)
    codes = synthetic.noisy_codes(factors, 0.3, rng)
    seed = {"rng": 5} if "rng" in inspect.signature(spec.function).parameters else {}
    result = run(spec, codes, factors, **seed)
    assert isinstance(result, MetricResult) and result.name == name
    assert tuple(result.scores) == SCORE_KEYS[name]
    for key, value in result.scores.items():
        assert isinstance(value, float) and np.isfinite(value), key
        if key not in UNBOUNDED:
            assert -1e-12 <= value <= 1 + 1e-12, (key, value)
    assert run(spec, codes, factors, **seed).scores == result.scores


def test_gin_bindings_reach_the_metric_and_do_not_leak(rng):
    factors = synthetic.uniform_factors(rng, n=2000)
    codes = synthetic.noisy_codes(factors, 0.2, rng)
    spec = get_metric("mig")
    plain = spec.configurable(codes, factors)
    try:
        gin.parse_config("mig.num_bins = 5")
        bound = spec.configurable(codes, factors)
    finally:
        gin.clear_config()
    assert bound.params["num_bins"] == 5 and plain.params["num_bins"] == 20
    assert bound["mig"] == spec.function(codes, factors, num_bins=5)["mig"]
    assert spec.configurable(codes, factors)["mig"] == plain["mig"]
    with pytest.raises(ValueError, match=r"blacklisted|denylisted"):
        gin.parse_config("mig.codes = 3")
    gin.clear_config()


@pytest.mark.parametrize("name", sorted(SCORE_KEYS))
def test_real_shapes3d_codes(name, shapes3d_codes):
    codes, factors = shapes3d_codes.mean, shapes3d_codes.factors
    spec = get_metric(name)
    args = (codes[:10_000], factors[:10_000], codes[10_000:15_000], factors[10_000:15_000])
    result = run(spec, *args)
    again = run(spec, *args)
    assert result.scores == again.scores
    for key, value in result.scores.items():
        assert np.isfinite(value), key
        if key not in UNBOUNDED:
            assert 0.0 <= value <= 1.0, (key, value)
