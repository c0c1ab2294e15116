"""z_max_var: parity with Carbonneau et al.'s loop, and the scores of controlled codes
built from the planned rows' factors (on the toy grid and on labelled samples).

Tolerances: on evaluation, codes blind to the factors vote independently of the factor
that varied, so each evaluation point is right with probability 1/K and the accuracy is a
binomial proportion: with K = 3 and 1,000 points its standard deviation is
sqrt(2/9 / 1000) = 0.015; tests allow 4 of them (0.06).
"""

import math

import numpy as np
import pytest

from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.sampling import LabelledSampler, sampler_for
from disbench.metrics.z_max_var import z_max_var, z_max_var_plan

SIZES = (4, 5, 6)
SMALL = {"batch_size": 16, "num_train": 1_000, "num_eval": 1_000, "num_variance_estimate": 2_000}
CHANCE_TOLERANCE = 4 * math.sqrt((1 / 3) * (2 / 3) / 1_000)


def run(sampler, encoder, *, rng=0, prune_threshold=0.05, rescale=False, **sizes):
    """Plan, encode each planned row's factors with ``encoder``, compute."""
    options = {**SMALL, **sizes}
    plan = z_max_var_plan(sampler, rng=rng, **options)
    codes = {name: encoder(sampler.factors(rows)) for name, rows in plan.rows.items()}
    return z_max_var(
        **codes,
        **plan.meta,
        batch_size=options["batch_size"],
        prune_threshold=prune_threshold,
        rescale=rescale,
    )


def identity(factors):
    """Codes = factors, plus noise far below the factors' spacing."""
    noise = np.random.default_rng(factors.shape[0]).normal(scale=1e-3, size=factors.shape)
    return factors + noise


def rotated(factors):
    """Standardised factors with factors 0 and 1 rotated by 45 degrees into codes 0 and 1
    (both factors of size 5, so the two mixtures are exchangeable)."""
    sizes = np.array([5, 5, 6])
    standard = (factors - (sizes - 1) / 2) / np.sqrt((sizes**2 - 1) / 12)
    c = 1 / math.sqrt(2)
    return standard @ np.array([[c, c, 0.0], [c, -c, 0.0], [0.0, 0.0, 1.0]])


def carbonneau_z_max_var(variance, train, train_labels, eval_, eval_labels, batch_size, k):
    """ubisoft-laforge-disentanglement-metrics (05d5667) z_max_var transcribed from the
    point where the batches are drawn: per-batch arg-max among the active codes, a
    (codes, factors) vote table, accuracies scaled to chance (their scale=True)."""
    variances = np.var(variance, axis=0, ddof=1)
    active_dims = np.sqrt(variances) >= 0.05
    nb_codes = variance.shape[1]

    def votes(codes, labels):
        table = np.zeros((nb_codes, k), dtype="int64")
        for i, factor_id in enumerate(labels):
            batch = codes[i * batch_size : (i + 1) * batch_size]
            local_variances = np.var(batch, axis=0, ddof=1)
            argmax = np.argmax(local_variances[active_dims] / variances[active_dims])
            table[argmax, factor_id] += 1
        return table

    training_votes = votes(train, train_labels)
    latent_idx = np.arange(nb_codes)
    classifier = np.argmax(training_votes, axis=1)
    train_accuracy = np.sum(training_votes[latent_idx, classifier]) * 1.0 / np.sum(training_votes)
    eval_votes = votes(eval_, eval_labels)
    eval_accuracy = np.sum(eval_votes[latent_idx, classifier]) * 1.0 / np.sum(eval_votes)
    min_val, max_val = 1.0 / k, 1.0
    return (
        (train_accuracy - min_val) / (max_val - min_val),
        (eval_accuracy - min_val) / (max_val - min_val),
    )


# --- the plan


def test_plan_varies_one_factor_per_batch_and_defaults_are_carbonneaus():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    plan = z_max_var_plan(sampler, rng=4)  # batches of 200, 800 + 800 points
    assert {k: v.shape for k, v in plan.rows.items()} == {
        "variance": (10_000,),
        "train": (160_000,),
        "eval": (160_000,),
    }
    for split in ("train", "eval"):
        batches = sampler.factors(plan.rows[split]).reshape(800, 200, 3)
        labels = plan.meta[f"{split}_factor"]
        spread = np.ptp(batches, axis=1)  # (800, 3)
        varies = np.zeros((800, 3), dtype=bool)
        varies[np.arange(800), labels] = True
        assert (spread[~varies] == 0).all()  # every other factor held at the base row's
        # the varying factor takes all its values in 200 draws
        np.testing.assert_array_equal(spread[varies], np.array(SIZES)[labels] - 1)


# --- numbers


def test_matches_carbonneau_loop_with_an_inactive_code():
    generator = np.random.default_rng(12)
    k, batch_size, n_train, n_eval = 3, 10, 300, 200
    weights = np.array([1.0, 0.02, 0.5, 2.0])  # code 1: std 0.02 < 0.05
    variance = generator.normal(size=(500, 4)) * weights
    train = generator.normal(size=(n_train * batch_size, 4)) * weights
    eval_ = generator.normal(size=(n_eval * batch_size, 4)) * weights
    train_labels = generator.integers(0, k, n_train)
    eval_labels = generator.integers(0, k, n_eval)
    result = z_max_var(
        variance, train, eval_, train_labels, eval_labels, k, batch_size=batch_size, rescale=True
    )
    expected = carbonneau_z_max_var(
        variance, train, train_labels, eval_, eval_labels, batch_size, k
    )
    assert result["train_accuracy"] == pytest.approx(expected[0], abs=1e-12)
    assert result["eval_accuracy"] == pytest.approx(expected[1], abs=1e-12)
    np.testing.assert_array_equal(result.arrays["active"], [True, False, True, True])
    assert result.arrays["train_votes"][1].sum() == 0


def test_factors_as_codes_score_one_through_toy_sampler():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    result = run(sampler, identity)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
    np.testing.assert_array_equal(result.arrays["classifier"], [0, 1, 2])
    assert run(sampler, identity, rescale=True).scores == result.scores


def test_random_codes_score_chance():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    noise = np.random.default_rng(6)
    result = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)))
    assert result["eval_accuracy"] == pytest.approx(1 / 3, abs=CHANCE_TOLERANCE)
    assert 1 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 1 / 3 + 0.1
    rescaled = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)), rescale=True)
    assert rescaled["eval_accuracy"] == pytest.approx(0.0, abs=1.5 * CHANCE_TOLERANCE)


def test_rotated_codes_score_two_thirds():
    """Varying factor 2 moves its own code only (always right). Varying factor 0 or
    factor 1 moves codes 0 and 1 exactly alike, so both factors vote alike and the
    classifier is right for half of those points: 1/3 + 2/3 * 1/2 = 2/3 on evaluation."""
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    result = run(sampler, rotated)
    assert result["eval_accuracy"] == pytest.approx(2 / 3, abs=CHANCE_TOLERANCE)
    assert 2 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 2 / 3 + 0.08
    assert run(sampler, rotated, rescale=True)["eval_accuracy"] == pytest.approx(
        0.5, abs=1.5 * CHANCE_TOLERANCE
    )


def test_same_seed_same_numbers():
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    first, second = run(sampler, rotated, rng=42), run(sampler, rotated, rng=42)
    assert first.scores == second.scores
    np.testing.assert_array_equal(first.arrays["eval_votes"], second.arrays["eval_votes"])
    assert run(sampler, rotated, rng=43).arrays["eval_votes"].tolist() != (
        first.arrays["eval_votes"].tolist()
    )


def test_inactive_codes_pruned_and_all_constant_codes_score_zero():
    sampler = sampler_for(Toy(factor_sizes=SIZES))

    def with_constant_code(factors):
        codes = identity(factors)
        return np.concatenate([codes[:, :1], np.zeros((len(codes), 1)), codes[:, 1:]], axis=1)

    result = run(sampler, with_constant_code)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
    np.testing.assert_array_equal(result.arrays["classifier"][[0, 2, 3]], [0, 1, 2])
    assert result.notes == (
        "codes [1] inactive: standard deviation below prune_threshold=0.05 (or 0); "
        "they get no vote",
    )
    constant = run(sampler, lambda f: np.full((f.shape[0], 2), 0.5), rescale=True)
    assert constant.scores == {"train_accuracy": 0.0, "eval_accuracy": 0.0}
    assert constant.notes[0].startswith("no active code")


# --- labelled samples


def test_labelled_sample_with_repeated_combinations_scores_one():
    """Every row of the grid stored twice, in shuffled order: every combination of two
    factors is shared by 2 * size rows."""
    grid = np.indices(SIZES).reshape(3, -1).T
    stored = np.random.default_rng(3).permutation(np.concatenate([grid, grid]))
    sampler = LabelledSampler(stored, ("a", "b", "c"))
    result = run(sampler, identity, num_variance_estimate=500)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}


def test_labelled_sample_too_sparse_for_all_but_one_factor_raises():
    """A random sample of a large grid rarely holds two rows that agree on all factors but
    one: the sampler says which combination was too rare."""
    factors = np.random.default_rng(0).integers(0, 10, size=(500, 4))  # 1,000 triples
    sampler = LabelledSampler(factors, ("a", "b", "c", "d"))
    with pytest.raises(ValueError, match=r"too few rows sharing \{.*\}: 1 found, at least 2"):
        z_max_var_plan(sampler, batch_size=8, num_train=50, num_eval=50)


# --- bad input


def test_bad_inputs_raise():
    generator = np.random.default_rng(0)
    variance, train = generator.normal(size=(20, 3)), generator.normal(size=(20, 3))
    labels = np.array([0, 1, 2, 0])
    assert z_max_var(variance, train, train, labels, labels, 3, batch_size=5)
    with pytest.raises(ValueError, match=r"eval has 20 rows; expected .* 2 × 5 = 10"):
        z_max_var(variance, train, train, labels, labels[:2], 3, batch_size=5)
    with pytest.raises(ValueError, match=r"batch_size must be >= 2"):
        z_max_var(variance, train[:4], train[:4], labels, labels, 3, batch_size=1)
    with pytest.raises(ValueError, match=r"num_factors must be an integer >= 2; got 2.5"):
        z_max_var(variance, train, train, labels, labels, 2.5, batch_size=5)
    with pytest.raises(ValueError, match=r"needs at least 2 factors"):
        z_max_var_plan(sampler_for(Toy(factor_sizes=(3,))))


def test_noise_free_mixture_can_score_one():
    """Documented caveat: codes = standardised factors @ W with each factor's largest
    relative loading on its own code; varied alone, each factor always moves that code most."""
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    mixing = np.array([[1.0, 0.3, 0.3], [0.3, 1.0, 0.3], [0.3, 0.3, 1.0]])
    sizes = np.array(SIZES)

    def mixed(factors):
        return (factors - (sizes - 1) / 2) / np.sqrt((sizes**2 - 1) / 12) @ mixing

    assert run(sampler, mixed).scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
