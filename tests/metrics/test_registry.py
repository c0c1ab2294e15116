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
INTERVENTIONAL_KEYS = {
    "z_diff": ("train_accuracy", "eval_accuracy"),
    "z_min_var": ("train_accuracy", "eval_accuracy", "num_active_dims"),
    "z_max_var": ("train_accuracy", "eval_accuracy"),
    "local_mig": ("local_mig",),
    "local_modularity": ("local_modularity",),
}
#: Small plans: the registry tests are about the common contract, not the numbers.
SMALL_PLANS = {
    "num_train": 300,
    "num_eval": 200,
    "batch_size": 8,
    "num_local_clusters": 3,
    "num_points": 500,
    "continuity_cutoff": 4,
    "locality_proportion": 0.5,
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


def test_the_registry_holds_every_metric_with_its_keys():
    assert {spec.name: spec.score_keys for spec in list_metrics()} == {
        **SCORE_KEYS,
        **INTERVENTIONAL_KEYS,
    }
    kinds = {spec.name: spec.kind for spec in list_metrics()}
    assert {name for name, kind in kinds.items() if kind == "interventional"} == set(
        INTERVENTIONAL_KEYS
    )
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


@pytest.mark.parametrize("name", sorted(INTERVENTIONAL_KEYS))
def test_interventional_plan_and_computation_signatures(name):
    spec = get_metric(name)
    for function in (spec.plan, spec.function):
        parameters = inspect.signature(function).parameters
        options = [p for p in parameters.values() if p.default is not inspect.Parameter.empty]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in options), name
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        doc = inspect.getdoc(function)
        assert "\nExamples\n" in doc and "\nReturns\n" in doc, function.__name__
        assert getattr(metrics, function.__name__) is function
    assert next(iter(inspect.signature(spec.plan).parameters)) == "sampler"


@pytest.mark.parametrize("name", sorted(INTERVENTIONAL_KEYS))
def test_interventional_scores_in_range_and_identical_for_the_same_seed(name):
    from disbench.benchmark.datasets.toy import Toy
    from disbench.benchmark.sampling import sampler_for

    spec = get_metric(name)
    sampler = sampler_for(Toy(factor_sizes=(4, 5, 6)))

    def run_once():
        generator = np.random.default_rng(3)
        plan = spec.plan(sampler, **spec.options_for(spec.plan, SMALL_PLANS), rng=generator)
        noise = np.random.default_rng(4)
        codes = {
            key: sampler.factors(rows) + 0.5 * noise.normal(size=(len(rows), 3))
            for key, rows in plan.rows.items()
        }
        options = spec.options_for(spec.function, SMALL_PLANS)
        if "rng" in inspect.signature(spec.function).parameters:
            options["rng"] = generator
        return spec.function(**codes, **plan.meta, **options)

    result = run_once()
    assert tuple(result.scores) == INTERVENTIONAL_KEYS[name]
    for key, value in result.scores.items():
        assert isinstance(value, float) and np.isfinite(value), key
        if key not in UNBOUNDED:
            assert 0.0 <= value <= 1.0, (key, value)
    assert run_once().scores == result.scores


def test_gin_binds_an_interventional_metric_s_plan_and_computation_options():
    try:
        gin.parse_config("z_diff.batch_size = 200\nz_diff.num_train = 100")
        assert gin.get_bindings("z_diff") == {"batch_size": 200, "num_train": 100}
        with pytest.raises(ValueError, match="doesn't have a parameter named 'train_a'"):
            gin.parse_config("z_diff.train_a = 3")
    finally:
        gin.clear_config()
