"""Local MIG and local modularity: the neighbourhood plan, parity with Rhodes & Lee's loops,
and how the scores respond to controlled representations."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from disbench.benchmark.datasets.threedots import ThreeDots
from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.sampling import GridSampler, LabelledSampler, sampler_for
from disbench.estimators import discretize, entropy
from disbench.metrics.local import FIXED_FACTORS, local_mig, local_modularity, local_plan

# Small sizes for speed: 8 neighbourhoods of 2,000 rows (the defaults are 20 of 10,000).
L, N = 8, 2_000

# --- The reference, transcribed loop for loop (travers-rhodes/jlonevae @2ad8a5f).
# Its disentanglement_lib works on (n_codes, n) arrays.


def ref_histogram_discretize(target, num_bins=5):
    """utils._histogram_discretize, target (n_codes, n)."""
    discretized = np.zeros_like(target)
    for i in range(target.shape[0]):
        discretized[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return discretized


def ref_discrete_mutual_info(mus, ys):
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
    return m


def ref_compute_mig(mus_train, ys_train):
    """mig._compute_mig of the jlonevae fork, including its safe-divide line (whose
    ``out=`` is None, since ``fill`` returns None: fine only where every entropy is > 0)."""
    m = ref_discrete_mutual_info(ref_histogram_discretize(mus_train), ys_train)
    h = np.array([mutual_info_score(y, y) for y in ys_train])
    sorted_m = np.sort(m, axis=0)[::-1]
    return np.nanmean(
        np.divide(
            sorted_m[0, :] - sorted_m[1, :], h, out=np.zeros_like(h).fill(np.nan), where=h != 0
        )
    )


def ref_modularity(mutual_information):
    """modularity_explicitness.modularity."""
    squared_mi = np.square(mutual_information)
    max_squared_mi = np.max(squared_mi, axis=1)
    numerator = np.sum(squared_mi, axis=1) - max_squared_mi
    denominator = max_squared_mi * (squared_mi.shape[1] - 1.0)
    modularity_score = 1.0 - numerator / denominator
    modularity_score[max_squared_mi == 0.0] = 0.0
    return np.mean(modularity_score)


def ref_local_scores(codes, factors, neighbourhood):
    """compute_local_mig / compute_local_modularity on given clusters: per-cluster scores."""
    migs, mods = [], []
    for label in np.unique(neighbourhood):
        mus, ys = codes[neighbourhood == label].T, factors[neighbourhood == label].T
        migs.append(ref_compute_mig(mus, ys))
        mods.append(ref_modularity(ref_discrete_mutual_info(ref_histogram_discretize(mus), ys)))
    return np.array(migs), np.array(mods)


# --- Controlled representations, built from the factor values of the planned rows.


def toy_plan(rng=1, **options):
    """Toy (20, 25, 4): factors 0 and 1 vary within ± 2 (5 values, one per bin), factor 2
    (4 values, below the cutoff) is held at the centre's value."""
    sampler = sampler_for(Toy(factor_sizes=(20, 25, 4)))
    return sampler, local_plan(sampler, num_local_clusters=L, num_points=N, rng=rng, **options)


def identity(factors, rng, columns=None):
    """One code per factor: its value plus noise of standard deviation 1e-6."""
    f = factors if columns is None else factors[:, columns]
    return f + 1e-6 * rng.normal(size=f.shape)


def rotated(codes, angle):
    """Codes 0 and 1 turned by ``angle`` radians in their plane (0: unmixed)."""
    c, s = np.cos(angle), np.sin(angle)
    out = codes.copy()
    out[:, 0], out[:, 1] = c * codes[:, 0] + s * codes[:, 1], -s * codes[:, 0] + c * codes[:, 1]
    return out


@pytest.fixture(scope="module")
def toy():
    sampler, plan = toy_plan()
    factors = sampler.factors(plan.rows["codes"])  # as the pipeline's encoder would see them
    return factors, plan.meta["neighbourhood"]


# --- The plan.


def test_plan_draws_neighbourhoods_of_the_stated_radius():
    sampler, plan = toy_plan()
    factors, neighbourhood = plan.meta["factors"], plan.meta["neighbourhood"]
    assert plan.rows["codes"].shape == (L * N,)
    np.testing.assert_array_equal(sampler.factors(plan.rows["codes"]), factors)
    np.testing.assert_array_equal(neighbourhood, np.repeat(np.arange(L), N))
    for label in range(L):
        local = factors[neighbourhood == label]
        lo, hi = local.min(axis=0), local.max(axis=0)
        assert hi[2] == lo[2]  # held
        for k, size in ((0, 20), (1, 25)):  # radius floor(0.1 size) = 2: 5 values, clipped
            values = np.unique(local[:, k])
            np.testing.assert_array_equal(values, np.arange(lo[k], hi[k] + 1))  # contiguous
            assert hi[k] - lo[k] == 4 or lo[k] == 0 or hi[k] == size - 1
            # Uniform: each of m values about N / m times (binomial sd < 20; 6 sd).
            counts = np.bincount(local[:, k] - lo[k])
            assert np.all(np.abs(counts - N / values.size) < 120)


def test_plan_at_the_default_sizes():
    sampler = sampler_for(ThreeDots())  # 64 values per factor: radius 6, 13 values
    plan = local_plan(sampler)
    factors, neighbourhood = plan.meta["factors"], plan.meta["neighbourhood"]
    assert plan.rows["codes"].shape == (200_000,) and factors.shape == (200_000, 6)
    spans = np.array([np.ptp(factors[neighbourhood == label], axis=0) for label in range(20)])
    assert spans.max() == 12 and spans.min() >= 6  # 13 values, 7 at a corner of the grid


def test_same_seed_same_rows_and_numbers():
    _, first = toy_plan(rng=5)
    _, again = toy_plan(rng=np.random.default_rng(5))
    _, other = toy_plan(rng=6)
    np.testing.assert_array_equal(first.rows["codes"], again.rows["codes"])
    np.testing.assert_array_equal(first.meta["factors"], again.meta["factors"])
    assert not np.array_equal(first.rows["codes"], other.rows["codes"])
    codes = identity(first.meta["factors"], np.random.default_rng(0))
    a = local_mig(codes, first.meta["factors"], first.meta["neighbourhood"])
    b = local_mig(codes, again.meta["factors"], again.meta["neighbourhood"])
    assert a["local_mig"] == b["local_mig"]


def test_fixed_factors_table_is_honoured():
    # A cars3d-shaped grid: the object (183 values) would vary within ± 18; it is held.
    cars = Toy(factor_sizes=(4, 24, 183), factor_names=("elevation", "azimuth", "object"))
    cars.name = "cars3d"
    plan = local_plan(GridSampler(cars), num_local_clusters=4, num_points=500)
    spans = _spans(plan)
    assert (spans[:, 0] == 0).all() and (spans[:, 2] == 0).all()
    assert ((spans[:, 1] >= 2) & (spans[:, 1] <= 4)).all()  # azimuth: ± 2, clipped at edges
    # fixed_factors=() overrides the table: the object varies.
    free = local_plan(GridSampler(cars), num_local_clusters=4, num_points=500, fixed_factors=())
    assert (_spans(free)[:, 2] > 0).all()

    # dsprites: shape (3 values) is below the cutoff anyway; lowered, the table still holds it.
    names = ("shape", "scale", "orientation", "posX", "posY")
    sprites = GridSampler(Toy(factor_sizes=(3, 6, 40, 32, 32), factor_names=names))
    options = {"num_local_clusters": 4, "num_points": 500, "continuity_cutoff": 2}
    options["locality_proportion"] = 0.5  # radius 1 for shape
    assert (_spans(local_plan(sprites, **options))[:, 0] > 0).all()  # named "toy": varies
    sprites.name = "dsprites"
    assert FIXED_FACTORS["dsprites"] == ("shape",)
    assert (_spans(local_plan(sprites, **options))[:, 0] == 0).all()
    by_hand = local_plan(sprites, **options, fixed_factors=("shape", "posY"))
    assert (_spans(by_hand)[:, [0, 4]] == 0).all()


def _spans(plan):
    factors, neighbourhood = plan.meta["factors"], plan.meta["neighbourhood"]
    return np.array([np.ptp(factors[neighbourhood == g], axis=0) for g in np.unique(neighbourhood)])


def test_labelled_sample_is_refused():
    factors = np.random.default_rng(0).integers(0, 20, size=(500, 2))
    sampler = LabelledSampler(factors, ("a", "b"))
    with pytest.raises(ValueError, match="local_mig and local_modularity need a complete factor"):
        local_plan(sampler)


def test_plan_errors():
    sampler, _ = toy_plan()
    for name in ("num_local_clusters", "num_points", "continuity_cutoff"):
        with pytest.raises(ValueError, match=f"{name} must be an integer >= 1; got 0"):
            local_plan(sampler, **{name: 0})
    for bad in (0, 0.0, 1.5, -0.1, True, "0.1", float("nan")):
        with pytest.raises(ValueError, match=r"locality_proportion must be a number in \(0, 1\]"):
            local_plan(sampler, locality_proportion=bad)
    with pytest.raises(TypeError, match="fixed_factors must be a sequence of factor names"):
        local_plan(sampler, fixed_factors="f0")
    with pytest.raises(TypeError, match="fixed_factors must be a sequence of factor names"):
        local_plan(sampler, fixed_factors=(0,))
    with pytest.raises(ValueError, match=r"fixed_factors names factors \['shape'\] that 'toy'"):
        local_plan(sampler, fixed_factors=("shape",))
    renamed = sampler_for(Toy(factor_sizes=(20, 25, 4)))
    renamed.name = "dsprites"  # the table's names are not this grid's
    with pytest.raises(ValueError, match=r"FIXED_FACTORS names factors \['shape'\]"):
        local_plan(renamed)
    small = sampler_for(Toy())  # sizes (4, 5, 6): all below the cutoff
    with pytest.raises(ValueError, match="no factor of 'toy' varies in a neighbourhood"):
        local_plan(small)
    with pytest.raises(ValueError, match=r"held \['f0', 'f1'\]"):
        local_plan(sampler, fixed_factors=("f0", "f1"))


# --- Parity with the reference.


def test_matches_the_reference_where_every_factor_varies():
    """three-dots (the paper's data set): every factor varies, so the reference's
    safe-divide and its K in modularity are harmless, and the numbers agree."""
    plan = local_plan(sampler_for(ThreeDots()), num_local_clusters=4, num_points=1_000, rng=3)
    factors, neighbourhood = plan.meta["factors"], plan.meta["neighbourhood"]
    rng = np.random.default_rng(0)
    codes = factors @ rng.normal(size=(6, 4)) + rng.normal(size=(len(factors), 4))
    ref_migs, ref_mods = ref_local_scores(codes, factors, neighbourhood)
    result = local_mig(codes, factors, neighbourhood)
    np.testing.assert_allclose(result.arrays["per_neighbourhood"], ref_migs, rtol=0, atol=1e-12)
    assert result["local_mig"] == pytest.approx(np.mean(ref_migs), abs=1e-12)
    modularity = local_modularity(codes, factors, neighbourhood)
    np.testing.assert_allclose(modularity.arrays["per_neighbourhood"], ref_mods, atol=1e-12)
    assert modularity["local_modularity"] == pytest.approx(np.mean(ref_mods), abs=1e-12)
    # float32 codes are binned in float32, as the reference's np.histogram does.
    codes32 = codes.astype(np.float32)
    ref32, _ = ref_local_scores(codes32, factors, neighbourhood)
    assert local_mig(codes32, factors, neighbourhood)["local_mig"] == pytest.approx(
        np.mean(ref32), abs=1e-12
    )


def test_modularity_with_held_factors_converts_to_the_reference(toy):
    """The reference counts the held factor in K − 1 (K = 3 against K' = 2 here):
    theirs = 1 − (1 − ours)(K' − 1)/(K − 1), as the docstring says."""
    factors, neighbourhood = toy
    rng = np.random.default_rng(2)
    mixing = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 0.5]])  # every code about both factors
    codes = factors[:, :2] @ mixing + 0.5 * rng.normal(size=(len(factors), 3))
    ours = local_modularity(codes, factors, neighbourhood)
    _, ref_mods = ref_local_scores(codes, factors, neighbourhood)
    converted = 1 - (1 - ours.arrays["per_neighbourhood"]) * (2 - 1) / (3 - 1)
    np.testing.assert_allclose(converted, ref_mods, rtol=0, atol=1e-12)
    assert ours["local_modularity"] < np.mean(ref_mods) - 0.1


# --- Controlled representations.


def test_factors_as_codes_score_about_one(toy):
    factors, neighbourhood = toy
    rng = np.random.default_rng(0)
    result = local_mig(identity(factors, rng), factors, neighbourhood)
    # The other codes' MI with a factor is plug-in bias only, about (B − 1)(m − 1)/(2n) =
    # 16 / 4000 nats, against H = log 5 = 1.61 nats: the gap is about 0.997.
    assert result["local_mig"] == pytest.approx(1.0, abs=0.005)
    np.testing.assert_allclose(result.arrays["per_factor"][:2], 1.0, atol=0.005)
    # The codes of the varying factors are modular; in the held factor's code the noise is
    # all that varies (see test_a_code_of_a_held_factor).
    modularity = local_modularity(identity(factors, rng, [0, 1]), factors, neighbourhood)
    assert modularity["local_modularity"] == pytest.approx(1.0, abs=1e-4)


def test_five_bins_cap_a_copy_of_a_factor_with_more_local_values():
    """three-dots: 13 local values in 5 bins, so a perfect code scores H(bins)/H(v) ≈ 0.63,
    the reference's ceiling too (test_matches_the_reference_where_every_factor_varies)."""
    plan = local_plan(sampler_for(ThreeDots()), num_local_clusters=4, num_points=N, rng=1)
    factors, neighbourhood = plan.meta["factors"], plan.meta["neighbourhood"]
    codes = identity(factors, np.random.default_rng(0))
    result = local_mig(codes, factors, neighbourhood)
    ceiling = np.mean(
        [
            entropy(discretize(codes[neighbourhood == g], num_bins=5))
            / entropy(factors[neighbourhood == g])
            for g in range(4)
        ]
    )
    assert 0.6 < ceiling < 0.66
    assert ceiling - 0.01 < result["local_mig"] <= ceiling
    assert local_modularity(codes, factors, neighbourhood)["local_modularity"] > 0.999


def test_random_codes_score_near_zero_on_mig(toy):
    factors, neighbourhood = toy
    codes = np.random.default_rng(0).normal(size=(len(factors), 4))
    result = local_mig(codes, factors, neighbourhood)
    # Each MI is bias alone, χ²((B − 1)(m − 1) = 16)/(2n): mean 0.004 nats, sd 0.0014; the
    # top-two gap of 4 such values is about one sd, / H = 1.61: about 0.001.
    assert result["local_mig"] < 0.005
    assert np.nanmax(result.arrays["mi_matrix"]) < 0.015
    # Modularity has no chance level 0 (see local_modularity's Notes): with K' = 2 and
    # bias-only MI, mod = 1 − (m2 / m1)² for two χ²(16) draws — about 0.4 on average.
    modularity = local_modularity(codes, factors, neighbourhood)["local_modularity"]
    assert 0.25 < modularity < 0.6


def test_scores_fall_as_two_factors_mix(toy):
    factors, neighbourhood = toy
    codes = identity(factors, np.random.default_rng(0), [0, 1])
    migs, mods = [], []
    for angle in (0.0, 0.3, 0.7, np.pi / 4):
        mixed = rotated(codes, angle)
        migs.append(local_mig(mixed, factors, neighbourhood)["local_mig"])
        mods.append(local_modularity(mixed, factors, neighbourhood)["local_modularity"])
    assert migs[0] > 0.99 and mods[0] > 0.999
    assert 0.35 < migs[1] < 0.65 and 0.05 < migs[2] < 0.2  # in between
    assert migs[3] < 0.02  # at 45°, both codes are equally about both factors
    assert migs == sorted(migs, reverse=True) and mods == sorted(mods, reverse=True)
    assert mods[2] < 0.6


def test_zero_entropy_factors_are_skipped(toy):
    """Factor 2 never varies (4 values < continuity_cutoff): its gap is 0/0, which the
    reference left to uninitialised memory. Here it is skipped: averaging it as 0 would give
    2/3, as NaN would give NaN."""
    factors, neighbourhood = toy
    result = local_mig(identity(factors, np.random.default_rng(0)), factors, neighbourhood)
    assert result["local_mig"] > 0.99
    assert np.isnan(result.arrays["gap"][:, 2]).all() and np.isnan(result.arrays["per_factor"][2])
    np.testing.assert_array_equal(result.arrays["factor_entropy"][:, 2], 0.0)
    np.testing.assert_allclose(
        result.arrays["per_neighbourhood"], result.arrays["gap"][:, :2].mean(axis=1), atol=1e-15
    )
    assert result.notes == (
        f"factor 2 skipped in {L} of {L} neighbourhoods: it takes a single value there",
    )


def test_a_factor_constant_in_one_neighbourhood_is_skipped_there_only(toy):
    factors, neighbourhood = toy
    factors = factors.copy()
    factors[neighbourhood == 3, 0] = 7  # factor 0 stops varying in neighbourhood 3
    codes = identity(factors, np.random.default_rng(0))
    result = local_mig(codes, factors, neighbourhood)
    gap = result.arrays["gap"]
    assert np.isnan(gap[3, 0]) and not np.isnan(gap[np.arange(L) != 3, 0]).any()
    assert result.arrays["per_factor"][0] == pytest.approx(np.mean(np.delete(gap[:, 0], 3)))
    assert result.arrays["per_neighbourhood"][3] == pytest.approx(gap[3, 1])
    assert (
        "factor 0 skipped in 1 of 8 neighbourhoods: it takes a single value there" in result.notes
    )


def test_a_neighbourhood_where_nothing_varies_is_skipped(toy):
    factors, neighbourhood = toy
    factors = factors.copy()
    factors[neighbourhood == 5] = factors[neighbourhood == 5][0]
    codes = identity(factors, np.random.default_rng(0))
    for metric, key in ((local_mig, "local_mig"), (local_modularity, "local_modularity")):
        result = metric(codes, factors, neighbourhood)
        per = result.arrays["per_neighbourhood"]
        assert np.isnan(per[5]) and result[key] == pytest.approx(np.mean(np.delete(per, 5)))
        assert "neighbourhoods [5] (in label order) skipped: no factor varies there" in result.notes
    constant = np.zeros_like(factors)
    with pytest.raises(ValueError, match="local_mig is undefined: no factor takes more than one"):
        local_mig(codes, constant, neighbourhood)


def test_a_code_of_a_held_factor(toy):
    """Exactly constant in every neighbourhood it scores 0 (dlib's convention), so a perfect
    code of all three factors scores 2/3 on modularity; MIG never looks at it."""
    factors, neighbourhood = toy
    codes = factors.astype(float)
    modularity = local_modularity(codes, factors, neighbourhood)
    # Codes 0 and 1 lose only the plug-in bias of their MI with the other factor.
    np.testing.assert_allclose(modularity.arrays["per_code"], [1.0, 1.0, 0.0], atol=1e-4)
    assert modularity.arrays["per_code"][2] == 0.0
    assert modularity["local_modularity"] == pytest.approx(2 / 3, abs=1e-4)
    assert local_mig(codes, factors, neighbourhood)["local_mig"] == pytest.approx(1.0, abs=0.005)


def test_row_order_labels_and_code_order_change_nothing(toy):
    factors, neighbourhood = toy
    rng = np.random.default_rng(4)
    codes = rotated(identity(factors, rng), 0.3)
    base_mig = local_mig(codes, factors, neighbourhood)
    base_mod = local_modularity(codes, factors, neighbourhood)
    order = rng.permutation(len(factors))
    relabelled = 100 + 7 * neighbourhood[order]
    columns = [2, 0, 1]
    mig = local_mig(codes[order][:, columns], factors[order], relabelled)
    mod = local_modularity(codes[order][:, columns], factors[order], relabelled)
    assert mig["local_mig"] == pytest.approx(base_mig["local_mig"], abs=1e-12)
    assert mod["local_modularity"] == pytest.approx(base_mod["local_modularity"], abs=1e-12)
    np.testing.assert_array_equal(mig.arrays["neighbourhoods"], 100 + 7 * np.arange(L))


def test_torch_codes_give_the_numpy_numbers(toy):
    torch = pytest.importorskip("torch")
    factors, neighbourhood = toy
    codes = rotated(identity(factors, np.random.default_rng(0)), 0.3)
    expected = local_mig(codes, factors, neighbourhood)["local_mig"]
    assert local_mig(torch.from_numpy(codes), factors, neighbourhood)["local_mig"] == expected


def test_end_to_end_at_the_default_sizes():
    sampler = sampler_for(Toy(factor_sizes=(20, 25, 4)))
    plan = local_plan(sampler, rng=0)
    codes = identity(sampler.factors(plan.rows["codes"]), np.random.default_rng(0), [0, 1])
    result = local_mig(codes, **plan.meta)
    assert result.arrays["per_neighbourhood"].shape == (20,)
    assert result["local_mig"] == pytest.approx(1.0, abs=0.002)  # bias 16 / 20000 nats
    assert result.params == {"num_bins": 5, "num_neighbourhoods": 20}
    assert local_modularity(codes, **plan.meta)["local_modularity"] == pytest.approx(1, abs=1e-4)


def test_computation_errors(toy):
    factors, neighbourhood = toy
    codes = identity(factors, np.random.default_rng(0))
    for metric in (local_mig, local_modularity):
        name = metric.__name__
        with pytest.raises(ValueError, match=f"{name}: neighbourhood must be 1-D with one label"):
            metric(codes, factors, neighbourhood[:-1])
        with pytest.raises(ValueError, match=f"{name}: neighbourhood must be 1-D"):
            metric(codes, factors, neighbourhood[:, None])
        with pytest.raises(TypeError, match=f"{name}: neighbourhood must hold integer labels"):
            metric(codes, factors, neighbourhood.astype(float))
        with pytest.raises(ValueError, match=f"{name} needs discrete factors"):
            metric(codes, factors + 0.5, neighbourhood)
        with pytest.raises(ValueError, match="codes and factors must have one row per sample"):
            metric(codes[:-1], factors, neighbourhood)
        bad = codes.copy()
        bad[3, 1] = np.nan
        with pytest.raises(ValueError, match=r"codes has NaN or infinite values in columns \[1\]"):
            metric(bad, factors, neighbourhood)
        with pytest.raises(ValueError, match="num_bins must be an integer >= 1; got 0"):
            metric(codes, factors, neighbourhood, num_bins=0)
