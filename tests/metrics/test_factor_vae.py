"""z_min_var (the FactorVAE score): parity with disentanglement_lib's loop, a hand-counted
vote table, and the scores of controlled codes built from the planned rows' factors.

Tolerances: on evaluation, codes blind to the factors vote independently of the factor
held, so each evaluation point is right with probability 1/K and the accuracy is a binomial
proportion: with K = 3 and 1,000 points its standard deviation is sqrt(2/9 / 1000) = 0.015;
tests allow 4 of them (0.06). Training accuracy is fitted to its own votes and runs higher.
"""

import math

import numpy as np
import pytest

from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.sampling import LabelledSampler, sampler_for
from disbench.metrics.factor_vae import z_min_var, z_min_var_plan

SIZES = (4, 5, 6)
SMALL = {"batch_size": 16, "num_train": 1_000, "num_eval": 1_000, "num_variance_estimate": 2_000}
CHANCE_TOLERANCE = 4 * math.sqrt((1 / 3) * (2 / 3) / 1_000)


def run(sampler, encoder, *, rng=0, prune_threshold=0.05, rescale=False, **sizes):
    """Plan, encode each planned row's factors with ``encoder``, compute."""
    options = {**SMALL, **sizes}
    plan = z_min_var_plan(sampler, rng=rng, **options)
    codes = {name: encoder(sampler.factors(rows)) for name, rows in plan.rows.items()}
    return z_min_var(
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


def dlib_factor_vae(variance, train, train_labels, eval_, eval_labels, batch_size, k, threshold):
    """disentanglement_lib (76f41e3) compute_factor_vae transcribed, one point at a time,
    on the codes of the same rows: votes indexed among the active codes, a (K, D) table."""
    global_variances = np.var(variance, axis=0, ddof=1)
    active_dims = np.sqrt(global_variances) >= threshold

    def votes(codes, labels):
        table = np.zeros((k, global_variances.shape[0]), dtype=np.int64)
        for i, factor_index in enumerate(labels):
            representations = codes[i * batch_size : (i + 1) * batch_size]
            local_variances = np.var(representations, axis=0, ddof=1)
            argmin = np.argmin(local_variances[active_dims] / global_variances[active_dims])
            table[factor_index, argmin] += 1
        return table

    training_votes = votes(train, train_labels)
    classifier = np.argmax(training_votes, axis=0)
    other_index = np.arange(training_votes.shape[1])
    train_accuracy = np.sum(training_votes[classifier, other_index]) * 1.0 / np.sum(training_votes)
    eval_votes = votes(eval_, eval_labels)
    eval_accuracy = np.sum(eval_votes[classifier, other_index]) * 1.0 / np.sum(eval_votes)
    return train_accuracy, eval_accuracy


# --- the plan


def test_plan_holds_one_factor_fixed_per_batch_and_keeps_train_rows_when_num_eval_changes():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    plan = z_min_var_plan(sampler, batch_size=8, num_train=300, num_eval=100, rng=3)
    assert {k: v.shape for k, v in plan.rows.items()} == {
        "variance": (10_000,),
        "train": (2_400,),
        "eval": (800,),
    }
    assert int(plan.meta["num_factors"]) == 3
    for split, n in (("train", 300), ("eval", 100)):
        batches = sampler.factors(plan.rows[split]).reshape(n, 8, 3)
        labels = plan.meta[f"{split}_factor"]
        held = batches[np.arange(n), :, labels]  # (n, 8): the held factor's values
        assert (held == held[:, :1]).all()
        # the other factors vary freely: batches of 8 are almost never constant in them
        others = np.ones((n, 3), dtype=bool)
        others[np.arange(n), labels] = False
        assert (np.ptp(batches, axis=1)[others] > 0).mean() > 0.95
    assert np.bincount(plan.meta["train_factor"], minlength=3).min() > 70  # uniform, ~100
    longer = z_min_var_plan(sampler, batch_size=8, num_train=300, num_eval=500, rng=3)
    np.testing.assert_array_equal(longer.rows["train"], plan.rows["train"])
    np.testing.assert_array_equal(longer.rows["variance"], plan.rows["variance"])


# --- numbers


def test_hand_counted_votes():
    """K = 2, D = 2, batches of 4. Training points: 3 hold factor 0 with code 0 still, 1
    holds factor 1 with code 0 still, 2 hold factor 1 with code 1 still: the table is
    code 0: [3, 1], code 1: [0, 2], the classifier (0, 1), train accuracy 5/6. Evaluation:
    one point of each factor, both with code 1 still: 1/2."""
    varying, held = np.arange(4.0), np.ones(4)
    still_0 = np.stack([held, varying], axis=1)
    still_1 = np.stack([varying, held], axis=1)
    train = np.concatenate([still_0] * 4 + [still_1] * 2)
    train_labels = np.array([0, 0, 0, 1, 1, 1])
    eval_ = np.concatenate([still_1, still_1])
    eval_labels = np.array([0, 1])
    variance = np.random.default_rng(0).normal(size=(50, 2))
    result = z_min_var(variance, train, eval_, train_labels, eval_labels, 2, batch_size=4)
    assert result.scores == {
        "train_accuracy": pytest.approx(5 / 6, abs=1e-15),
        "eval_accuracy": 0.5,
        "num_active_dims": 2.0,
    }
    np.testing.assert_array_equal(result.arrays["train_votes"], [[3, 1], [0, 2]])
    np.testing.assert_array_equal(result.arrays["eval_votes"], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(result.arrays["classifier"], [0, 1])
    rescaled = z_min_var(
        variance, train, eval_, train_labels, eval_labels, 2, batch_size=4, rescale=True
    )
    assert rescaled["train_accuracy"] == pytest.approx((5 / 6 - 1 / 2) / (1 / 2), abs=1e-15)
    assert rescaled["eval_accuracy"] == 0.0


def test_matches_disentanglement_lib_loop_with_inactive_codes():
    """Random codes with an inactive code in the middle (dlib indexes votes among the
    active codes, disbench among all: the accuracies agree exactly)."""
    generator = np.random.default_rng(11)
    k, batch_size, n_train, n_eval = 3, 8, 400, 300
    weights = np.array([1.0, 0.5, 0.01, 2.0])  # code 2: std 0.01 < 0.05
    variance = generator.normal(size=(500, 4)) * weights
    train = generator.normal(size=(n_train * batch_size, 4)) * weights
    eval_ = generator.normal(size=(n_eval * batch_size, 4)) * weights
    train_labels = generator.integers(0, k, n_train)
    eval_labels = generator.integers(0, k, n_eval)
    result = z_min_var(variance, train, eval_, train_labels, eval_labels, k, batch_size=batch_size)
    expected = dlib_factor_vae(
        variance, train, train_labels, eval_, eval_labels, batch_size, k, 0.05
    )
    assert result["train_accuracy"] == pytest.approx(expected[0], abs=1e-12)
    assert result["eval_accuracy"] == pytest.approx(expected[1], abs=1e-12)
    assert result["num_active_dims"] == 3.0
    assert result.arrays["train_votes"][2].sum() == 0


def test_factors_as_codes_score_one_through_toy_sampler():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    result = run(sampler, identity)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3.0}
    np.testing.assert_array_equal(result.arrays["classifier"], [0, 1, 2])
    assert result.notes == ()
    assert run(sampler, identity, rescale=True).scores["eval_accuracy"] == 1.0
    # permuting the codes permutes the classifier and leaves the scores
    permuted = run(sampler, lambda f: identity(f)[:, [2, 0, 1]])
    assert permuted.scores == result.scores
    np.testing.assert_array_equal(permuted.arrays["classifier"], [2, 0, 1])


def test_random_codes_score_chance():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    noise = np.random.default_rng(5)
    result = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)))
    assert result["eval_accuracy"] == pytest.approx(1 / 3, abs=CHANCE_TOLERANCE)
    # the majority vote fits its own training votes: above chance, by little at 250 votes
    # per code
    assert 1 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 1 / 3 + 0.1
    assert result["num_active_dims"] == 4.0
    rescaled = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)), rescale=True)
    assert rescaled["eval_accuracy"] == pytest.approx(0.0, abs=1.5 * CHANCE_TOLERANCE)


def test_rotated_codes_score_two_thirds():
    """Factor 2 keeps its own code (always right). Fixing factor 0 or factor 1 leaves
    codes 0 and 1 exactly as still as each other (each moves with the other factor / sqrt 2),
    so both factors vote alike and the classifier is right for half of those points:
    1/3 + 2/3 * 1/2 = 2/3 on evaluation (binomial sd sqrt(2/9 / 1000) = 0.015; 4 sd
    allowed), a little less in fact (0.657 over 10 runs of 5,000 points): now and then
    code 2 is the stillest by chance."""
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    result = run(sampler, rotated)
    assert result["eval_accuracy"] == pytest.approx(2 / 3, abs=CHANCE_TOLERANCE)
    assert 2 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 2 / 3 + 0.08
    assert result["train_accuracy"] < 0.9 and result["eval_accuracy"] > 0.45
    assert run(sampler, rotated, rescale=True)["eval_accuracy"] == pytest.approx(
        0.5, abs=1.5 * CHANCE_TOLERANCE
    )


def test_same_seed_same_numbers_and_one_generator_through_plan_and_computation():
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    first, second = run(sampler, rotated, rng=42), run(sampler, rotated, rng=42)
    assert first.scores == second.scores
    np.testing.assert_array_equal(first.arrays["train_votes"], second.arrays["train_votes"])
    assert run(sampler, rotated, rng=43).arrays["train_votes"].tolist() != (
        first.arrays["train_votes"].tolist()
    )
    # the pipeline's way: one generator, continued from the plan into the computation
    scores = []
    for _ in range(2):
        generator = np.random.default_rng(9)
        plan = z_min_var_plan(sampler, batch_size=16, num_train=200, num_eval=100, rng=generator)
        codes = {name: rotated(sampler.factors(rows)) for name, rows in plan.rows.items()}
        scores.append(z_min_var(**codes, **plan.meta, batch_size=16, rng=generator).scores)
    assert scores[0] == scores[1]


# --- pruning


def test_inactive_codes_are_pruned_and_counted():
    sampler = sampler_for(Toy(factor_sizes=SIZES))

    def with_dead_codes(factors):
        codes = identity(factors)
        n = factors.shape[0]
        faint = 0.01 * np.random.default_rng(n + 1).normal(size=n)  # std 0.01 < 0.05
        return np.stack([codes[:, 0], np.full(n, 3.0), codes[:, 1], faint, codes[:, 2]], 1)

    result = run(sampler, with_dead_codes)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3.0}
    np.testing.assert_array_equal(result.arrays["active"], [True, False, True, False, True])
    assert result.arrays["train_votes"][[1, 3]].sum() == 0
    assert result.notes == (
        "codes [1, 3] inactive: standard deviation below prune_threshold=0.05 (or 0); "
        "they get no vote",
    )
    # a lower threshold keeps the faint code; the constant one stays out at any threshold
    kept = run(sampler, with_dead_codes, prune_threshold=0.0)
    assert kept["num_active_dims"] == 4.0
    np.testing.assert_array_equal(kept.arrays["active"], [True, False, True, True, True])


def test_constant_codes_score_zero_with_a_note():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    for rescale in (False, True):
        result = run(sampler, lambda f: np.ones((f.shape[0], 3)), rescale=rescale)
        assert result.scores == {
            "train_accuracy": 0.0,
            "eval_accuracy": 0.0,
            "num_active_dims": 0.0,
        }
        assert "no active code" in result.notes[0]
        assert "classifier" not in result.arrays


# --- labelled samples


def test_labelled_sample_scores_one_for_factor_codes():
    generator = np.random.default_rng(2)
    factors = generator.integers(0, SIZES, size=(3_000, 3))
    sampler = LabelledSampler(factors, ("a", "b", "c"))
    result = run(sampler, identity, num_variance_estimate=1_000)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3.0}


def test_labelled_sample_with_a_lone_value_raises():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])  # factor 0 = 2 once
    sampler = LabelledSampler(factors, ("a", "b"))
    with pytest.raises(ValueError, match=r"too few rows sharing \{'a': 2\}: 1 found"):
        z_min_var_plan(sampler, batch_size=4, num_train=200, num_eval=10)


# --- bad input


def small_inputs():
    generator = np.random.default_rng(0)
    variance = generator.normal(size=(20, 3))
    train = generator.normal(size=(4 * 5, 3))
    labels = np.array([0, 1, 2, 0])
    return variance, train, labels


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"train": np.zeros((19, 3))}, r"train has 19 rows; expected .* 4 × 5 = 20"),
        ({"batch_size": 4}, r"train has 20 rows; expected .* 4 × 4 = 16"),
        ({"eval": np.ones((20, 2))}, r"same number of codes; got variance 3, train 3, eval 2"),
        ({"train_factor": np.array([0, 1, 3, 0])}, r"train_factor must hold factor indices in"),
        ({"train_factor": np.array([0, 1, 0.5, 0])}, r"train_factor must hold integer"),
        ({"eval_factor": np.zeros((4, 1))}, r"eval_factor must be a non-empty 1-D array"),
        ({"num_factors": 1}, r"num_factors must be an integer >= 2"),
        ({"batch_size": 1}, r"batch_size must be >= 2"),
        ({"prune_threshold": -1.0}, r"prune_threshold must be a finite number >= 0"),
        ({"variance": np.ones((1, 3))}, r"variance needs at least 2 rows"),
        ({"variance": np.full((20, 3), np.nan)}, r"variance has NaN or infinite values"),
    ],
)
def test_bad_inputs_raise(change, match):
    variance, train, labels = small_inputs()
    arguments = {
        "variance": variance,
        "train": train,
        "eval": train,
        "train_factor": labels,
        "eval_factor": labels,
        "num_factors": 3,
        "batch_size": 5,
    }
    assert z_min_var(**arguments)["num_active_dims"] == 3.0
    with pytest.raises(ValueError, match=match):
        z_min_var(**{**arguments, **change})


@pytest.mark.parametrize(
    ("sampler", "options", "match"),
    [
        (sampler_for(Toy(factor_sizes=(4,))), {}, r"needs at least 2 factors .* has 1"),
        (sampler_for(Toy(factor_sizes=SIZES)), {"batch_size": 1}, r"batch_size must be >= 2"),
        (sampler_for(Toy(factor_sizes=SIZES)), {"num_train": 0}, r"num_train must be an"),
        (
            sampler_for(Toy(factor_sizes=SIZES)),
            {"num_variance_estimate": 1},
            r"num_variance_estimate must be >= 2",
        ),
    ],
)
def test_bad_plan_options_raise(sampler, options, match):
    with pytest.raises(ValueError, match=match):
        z_min_var_plan(sampler, **options)
