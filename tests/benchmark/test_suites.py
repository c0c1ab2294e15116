"""The built-in metric suites (the repository's gin/ folder) and gin isolation between suites."""

from __future__ import annotations

from pathlib import Path

import gin
import pytest

from disbench.benchmark.suites import builtin_suites, load_suite, suite_dir
from disbench.metrics.registry import REGISTRY

BUILTIN = ("carbonneau", "default", "demo", "dlib", "infomec", "local")

# disentanglement_lib's unsupervised_study_v1 metric configs and metric code defaults.
DLIB = {
    "z_diff": {
        "batch_size": 64,
        "num_train": 10_000,
        "num_eval": 5_000,
        "max_iter": 100,
        "rescale": False,
    },
    "z_min_var": {
        "batch_size": 64,
        "num_train": 10_000,
        "num_eval": 5_000,
        "num_variance_estimate": 10_000,
        "prune_threshold": 0.05,
        "rescale": False,
    },
    "mig": {
        "num_bins": 20,
        "code_discretizer": "histogram",
        "factor_discretizer": "unique",
        "estimator": "plugin",
        "normalization": "factor",
    },
    "modularity_explicitness": {"num_bins": 20},
    "sap": {"continuous_factors": False, "C": 0.01},
    "dci": {"predictor": "gbt", "continuous_factors": False},
    "irs": {"num_bins": 20, "diff_quantile": 0.99},
    "unsupervised": {"num_bins": 20},
}

# ubisoft-laforge-disentanglement-metrics src/experiments/config.py and src/metrics/*.py.
CARBONNEAU = {
    "z_diff": {
        "batch_size": 200,
        "num_train": 10_000,
        "num_eval": 5_000,
        "max_iter": 10_000,
        "rescale": True,
    },
    "z_min_var": {
        "batch_size": 200,
        "num_train": 800,
        "num_eval": 800,
        "num_variance_estimate": 10_000,
        "prune_threshold": 0.02,
        "rescale": True,
    },
    "z_max_var": {
        "batch_size": 200,
        "num_train": 800,
        "num_eval": 800,
        "num_variance_estimate": 10_000,
        "prune_threshold": 0.02,
        "rescale": True,
    },
    "irs": {"num_bins": 10, "diff_quantile": 1.0},
    "dci": {"predictor": "lasso", "continuous_factors": True},
    "modularity_explicitness": {"num_bins": 10},
    "sap": {"continuous_factors": True},
    **{
        name: {
            "num_bins": 10,
            "code_discretizer": "equal_width",
            "factor_discretizer": "equal_width",
            "estimator": "plugin",
        }
        for name in ("jemmig", "dcimig")
    },
    **{
        name: {
            "num_bins": 10,
            "code_discretizer": "equal_width",
            "factor_discretizer": "equal_width",
            "estimator": "plugin",
            "normalization": "code",
        }
        for name in ("mig", "mig_sup")
    },
}

INFOMEC = {"infomec": {"n_neighbors": 10, "active_threshold": 0.05, "discrete_codes": False}}

_LOCAL = {
    "num_points": 10_000,
    "num_local_clusters": 20,
    "continuity_cutoff": 10,
    "num_bins": 5,
    "locality_proportion": 0.1,
    "fixed_factors": None,
}
LOCAL = {"local_mig": _LOCAL, "local_modularity": _LOCAL}

EXPECTED = {"dlib": DLIB, "carbonneau": CARBONNEAU, "infomec": INFOMEC, "local": LOCAL}


@pytest.fixture(autouse=True)
def clean_gin():
    """Every test starts and ends with an empty gin state."""
    gin.clear_config()
    yield
    gin.clear_config()


def _no_bindings() -> bool:
    return all(gin.get_bindings(name) == {} for name in REGISTRY)


def test_builtin_suites_are_listed():
    assert set(BUILTIN) <= set(builtin_suites())
    for name in BUILTIN:
        assert (suite_dir() / f"{name}.gin").is_file()


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_suite_parses_to_registry_names(name):
    suite = load_suite(name)
    assert suite.name == name
    assert _no_bindings()  # loading parses once and leaves gin clear
    if name == "demo":
        assert suite.metrics is None  # demo binds options only: every metric
        return
    metrics = list(suite.metrics)
    assert metrics, name
    assert len(set(metrics)) == len(metrics)
    assert set(metrics) <= set(REGISTRY)


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "demo"])
def test_builtin_suite_starts_with_a_comment_block(name):
    text = (suite_dir() / f"{name}.gin").read_text(encoding="utf-8")
    head = text.splitlines()[:3]
    assert all(line.startswith("#") for line in head), head


def test_default_suite_lists_every_metric_with_its_defaults():
    suite = load_suite("default")
    assert list(suite.metrics) == list(REGISTRY)
    with suite.active():
        assert _no_bindings()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_suite_binds_its_reference_values(name):
    expected = EXPECTED[name]
    suite = load_suite(name)
    assert set(suite.metrics) == set(expected)
    with suite.active():
        for metric, values in expected.items():
            assert gin.get_bindings(metric) == values, metric
            # every bound option is an option of the metric
            assert set(values) <= set(REGISTRY[metric].defaults), metric


def test_dlib_reference_values():
    with load_suite("dlib").active():
        assert gin.get_bindings("mig")["num_bins"] == 20
        assert gin.get_bindings("dci") == {"predictor": "gbt", "continuous_factors": False}
        z_diff = gin.get_bindings("z_diff")
        sizes = (z_diff["batch_size"], z_diff["num_train"], z_diff["num_eval"])
        assert sizes == (64, 10_000, 5_000)
        assert gin.get_bindings("z_min_var")["num_variance_estimate"] == 10_000
        assert gin.get_bindings("z_min_var")["prune_threshold"] == 0.05
        assert gin.get_bindings("irs")["diff_quantile"] == 0.99
        # metrics outside the suite are left alone
        assert gin.get_bindings("infomec") == {}
        assert gin.get_bindings("z_max_var") == {}


def test_carbonneau_z_diff_variant():
    with load_suite("carbonneau").active():
        z_diff = gin.get_bindings("z_diff")
        assert z_diff["batch_size"] == 200
        assert z_diff["rescale"] is True
        assert z_diff["max_iter"] == 10_000
        assert gin.get_bindings("z_min_var")["rescale"] is True


def test_bindings_reach_the_interventional_configurables():
    """gin injects the suite's values into the metrics' gin configurables."""
    with load_suite("carbonneau").active():
        options = REGISTRY["z_diff"].configurable()
        assert options["batch_size"] == 200
        assert options["rescale"] is True
    with load_suite("dlib").active():
        options = REGISTRY["z_diff"].configurable()
        assert options["batch_size"] == 64
        assert options["rescale"] is False


def test_two_suites_one_after_the_other_never_leak():
    a, b = load_suite("dlib"), load_suite("carbonneau")
    for _ in range(2):
        with a.active():
            assert gin.get_bindings("mig")["num_bins"] == 20
            assert gin.get_bindings("unsupervised") == {"num_bins": 20}
        assert gin.get_bindings("mig") == {}
        assert _no_bindings()
        with b.active():
            assert gin.get_bindings("mig") == CARBONNEAU["mig"]
            assert gin.get_bindings("unsupervised") == {}  # dlib's binding is gone
            assert gin.get_bindings("z_diff") == CARBONNEAU["z_diff"]
        assert _no_bindings()


def test_a_failure_inside_a_suite_still_clears_gin():
    with pytest.raises(RuntimeError), load_suite("dlib").active():
        assert gin.get_bindings("mig")
        raise RuntimeError("job failed")
    assert _no_bindings()


def test_extra_bindings_override_the_suite():
    suite = load_suite("dlib", ["mig.num_bins = 7"])
    assert suite.name == "dlib*"
    with suite.active():
        assert gin.get_bindings("mig")["num_bins"] == 7
        assert gin.get_bindings("mig")["code_discretizer"] == "histogram"  # the rest stays
    with load_suite("dlib").active():
        assert gin.get_bindings("mig")["num_bins"] == 20  # the built-in file is unchanged


def test_later_sources_override_earlier_ones():
    suite = load_suite(["dlib", "local"])
    assert suite.name == "dlib+local"
    assert list(suite.metrics) == ["local_mig", "local_modularity"]
    with suite.active():
        assert gin.get_bindings("mig")["num_bins"] == 20  # dlib's options are still parsed
        assert gin.get_bindings("local_mig")["num_bins"] == 5


def test_a_gin_file_by_path(tmp_path: Path):
    path = tmp_path / "mine.gin"
    path.write_text('suite.metrics = ["mig"]\nmig.num_bins = 12\n', encoding="utf-8")
    suite = load_suite(path)
    assert suite.name == "mine"
    assert list(suite.metrics) == ["mig"]
    with suite.active():
        assert gin.get_bindings("mig") == {"num_bins": 12}


def test_unknown_option_is_a_clear_value_error():
    with pytest.raises(ValueError, match="no_such_option"):
        load_suite("dlib", ["mig.no_such_option = 3"])
    assert _no_bindings()


def test_unknown_configurable_is_a_clear_value_error():
    with pytest.raises(ValueError, match="no_such_metric"):
        load_suite("dlib", ["no_such_metric.num_bins = 3"])


def test_unknown_metric_in_suite_metrics_is_a_value_error():
    with pytest.raises(ValueError, match="no_such_metric"):
        load_suite("dlib", ['suite.metrics = ["mig", "no_such_metric"]'])


def test_missing_file_is_a_clear_value_error(tmp_path: Path):
    with pytest.raises(ValueError, match="no gin file") as info:
        load_suite("no_such_suite")
    assert "dlib" in str(info.value)  # the message lists the built-in suites
    with pytest.raises(ValueError, match="no gin file"):
        load_suite(tmp_path / "absent.gin")
