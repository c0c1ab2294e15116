"""z_diff (the BetaVAE score): parity with disentanglement_lib's loop, and the scores of
controlled codes built from the planned rows' factors (toy grid and labelled samples).

Tolerances: on evaluation, codes blind to the factors give features independent of the
shared factor, so each evaluation point is right with probability 1/K and the accuracy is a
binomial proportion: with K = 3 and 1,000 points its standard deviation is
sqrt(2/9 / 1000) = 0.015; tests allow 4 of them (0.06).
"""

import math
import warnings

import numpy as np
import pytest
from sklearn import linear_model

from disbench.benchmark.datasets.toy import Toy
from disbench.benchmark.sampling import LabelledSampler, sampler_for
from disbench.metrics._utils import sklearn_seed
from disbench.metrics.beta_vae import z_diff, z_diff_plan

SIZES = (4, 5, 6)
SMALL = {"batch_size": 16, "num_train": 1_000, "num_eval": 1_000}
CHANCE_TOLERANCE = 4 * math.sqrt((1 / 3) * (2 / 3) / 1_000)


def run(sampler, encoder, *, rng=0, rescale=False, max_iter=100, **sizes):
    """Plan, encode each planned row's factors with ``encoder``, compute."""
    options = {**SMALL, **sizes}
    plan = z_diff_plan(sampler, rng=rng, **options)
    codes = {name: encoder(sampler.factors(rows)) for name, rows in plan.rows.items()}
    return z_diff(
        **codes, **plan.meta, batch_size=options["batch_size"], rescale=rescale, max_iter=max_iter
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


def dlib_beta_vae(train_a, train_b, train_labels, eval_a, eval_b, eval_labels, batch_size, seed):
    """disentanglement_lib (76f41e3) compute_beta_vae_sklearn transcribed, one point at a
    time, on the codes of the same pairs."""

    def batch(a, b, labels):
        points = np.zeros((len(labels), a.shape[1]))
        for i in range(len(labels)):
            representation1 = a[i * batch_size : (i + 1) * batch_size]
            representation2 = b[i * batch_size : (i + 1) * batch_size]
            points[i, :] = np.mean(np.abs(representation1 - representation2), axis=0)
        return points, labels

    train_points, train_labels = batch(train_a, train_b, train_labels)
    model = linear_model.LogisticRegression(random_state=seed)
    model.fit(train_points, train_labels)
    train_accuracy = np.mean(model.predict(train_points) == train_labels)
    eval_points, eval_labels = batch(eval_a, eval_b, eval_labels)
    eval_accuracy = model.score(eval_points, eval_labels)
    return train_accuracy, eval_accuracy


# --- the plan


def test_plan_pairs_share_one_factor_and_train_rows_do_not_depend_on_num_eval():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    plan = z_diff_plan(sampler, batch_size=8, num_train=300, num_eval=100, rng=1)
    assert {k: v.shape for k, v in plan.rows.items()} == {
        "train_a": (2_400,),
        "train_b": (2_400,),
        "eval_a": (800,),
        "eval_b": (800,),
    }
    assert int(plan.meta["num_factors"]) == 3
    for split, n in (("train", 2_400), ("eval", 800)):
        a = sampler.factors(plan.rows[f"{split}_a"])
        b = sampler.factors(plan.rows[f"{split}_b"])
        shared = np.repeat(plan.meta[f"{split}_factor"], 8)
        equal = a == b
        assert equal[np.arange(n), shared].all()
        others = np.ones_like(equal)
        others[np.arange(n), shared] = False
        # the other factors are independent: equal by chance with probability 1/size
        share_by_chance = equal[others].mean()
        assert 0.15 < share_by_chance < 0.25  # 1/4, 1/5, 1/6 mixed: about 0.19
    assert np.bincount(plan.meta["train_factor"], minlength=3).min() > 70  # uniform, ~100
    longer = z_diff_plan(sampler, batch_size=8, num_train=300, num_eval=700, rng=1)
    for name in ("train_a", "train_b"):
        np.testing.assert_array_equal(longer.rows[name], plan.rows[name])


# --- numbers


def test_matches_disentanglement_lib_loop():
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    plan = z_diff_plan(sampler, batch_size=8, num_train=400, num_eval=300, rng=2)

    def encoder(factors):  # rotated codes with noise: neither perfect nor at chance
        return rotated(factors) + np.random.default_rng(len(factors)).normal(size=(len(factors), 3))

    codes = {name: encoder(sampler.factors(rows)) for name, rows in plan.rows.items()}
    result = z_diff(**codes, **plan.meta, batch_size=8, rng=5)
    expected = dlib_beta_vae(
        codes["train_a"],
        codes["train_b"],
        plan.meta["train_factor"],
        codes["eval_a"],
        codes["eval_b"],
        plan.meta["eval_factor"],
        8,
        sklearn_seed(5),
    )
    assert result["train_accuracy"] == pytest.approx(expected[0], abs=1e-12)
    assert result["eval_accuracy"] == pytest.approx(expected[1], abs=1e-12)
    assert 0.4 < result["eval_accuracy"] < 0.9
    confusion = result.arrays["eval_confusion"]
    assert confusion.sum() == 300
    assert np.trace(confusion) / 300 == pytest.approx(result["eval_accuracy"], abs=1e-15)
    np.testing.assert_array_equal(confusion.sum(axis=1), np.bincount(plan.meta["eval_factor"]))


def test_factors_as_codes_score_one_through_toy_sampler():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    result = run(sampler, identity)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}
    assert result.notes == ()
    confusion = result.arrays["eval_confusion"]
    np.testing.assert_array_equal(confusion, np.diag(np.diag(confusion)))
    assert run(sampler, identity, rescale=True).scores == result.scores


def test_random_codes_score_chance():
    sampler = sampler_for(Toy(factor_sizes=SIZES))
    noise = np.random.default_rng(7)
    result = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)))
    assert result["eval_accuracy"] == pytest.approx(1 / 3, abs=CHANCE_TOLERANCE)
    # a linear model on 4 features barely fits noise in 1,000 points
    assert 1 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 1 / 3 + 0.1
    rescaled = run(sampler, lambda f: noise.normal(size=(f.shape[0], 4)), rescale=True)
    assert rescaled["eval_accuracy"] == pytest.approx(0.0, abs=1.5 * CHANCE_TOLERANCE)


def test_rotated_codes_score_two_thirds():
    """Sharing factor 2 zeroes code 2's feature (always recognised); sharing factor 0 or
    factor 1 gives codes 0 and 1 the same |difference| distribution, so the two cannot be
    told apart: 1/3 + 2/3 * 1/2 = 2/3 expected on evaluation."""
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    result = run(sampler, rotated)
    assert result["eval_accuracy"] == pytest.approx(2 / 3, abs=CHANCE_TOLERANCE)
    assert 2 / 3 - CHANCE_TOLERANCE < result["train_accuracy"] < 2 / 3 + 0.08
    confusion = result.arrays["eval_confusion"]
    assert confusion[2, 2] == confusion[2].sum() and confusion[:2, 2].sum() == 0
    assert run(sampler, rotated, rescale=True)["eval_accuracy"] == pytest.approx(
        0.5, abs=1.5 * CHANCE_TOLERANCE
    )


def test_same_seed_same_numbers_and_one_generator_through_plan_and_computation():
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    first, second = run(sampler, rotated, rng=42), run(sampler, rotated, rng=42)
    assert first.scores == second.scores
    np.testing.assert_array_equal(first.arrays["eval_confusion"], second.arrays["eval_confusion"])
    assert run(sampler, rotated, rng=43).arrays["eval_confusion"].tolist() != (
        first.arrays["eval_confusion"].tolist()
    )
    scores = []
    for _ in range(2):
        generator = np.random.default_rng(9)
        plan = z_diff_plan(sampler, batch_size=16, num_train=200, num_eval=100, rng=generator)
        codes = {name: rotated(sampler.factors(rows)) for name, rows in plan.rows.items()}
        scores.append(z_diff(**codes, **plan.meta, batch_size=16, rng=generator).scores)
    assert scores[0] == scores[1]


def test_solver_that_stops_early_is_a_note_not_a_warning():
    sampler = sampler_for(Toy(factor_sizes=(5, 5, 6)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(sampler, rotated, max_iter=1, num_train=200, num_eval=100)
    assert len(result.notes) == 1
    assert result.notes[0].startswith("logistic regression: lbfgs failed to converge")
    assert result.notes[0].endswith("those of the unconverged model (max_iter=1)")
    assert result.params["max_iter"] == 1


# --- labelled samples


def test_labelled_sample_scores_one_for_factor_codes():
    factors = np.random.default_rng(2).integers(0, SIZES, size=(3_000, 3))
    sampler = LabelledSampler(factors, ("a", "b", "c"))
    result = run(sampler, identity)
    assert result.scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0}


def test_labelled_sample_with_a_lone_value_raises():
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])  # factor 0 = 2 once
    sampler = LabelledSampler(factors, ("a", "b"))
    with pytest.raises(ValueError, match=r"too few rows sharing \{'a': 2\}: 1 found"):
        z_diff_plan(sampler, batch_size=4, num_train=200, num_eval=10)


# --- bad input


def test_bad_inputs_raise():
    generator = np.random.default_rng(0)
    a, b = generator.normal(size=(12, 3)), generator.normal(size=(12, 3))
    labels = np.array([0, 1, 2, 1])
    assert z_diff(a, b, a, b, labels, labels, 3, batch_size=3).scores
    with pytest.raises(ValueError, match=r"train_b has 11 rows; expected .* 4 × 3 = 12"):
        z_diff(a, b[:11], a, b, labels, labels, 3, batch_size=3)
    with pytest.raises(ValueError, match=r"train_a has 12 rows; expected .* 4 × 2 = 8"):
        z_diff(a, b, a, b, labels, labels, 3, batch_size=2)
    with pytest.raises(ValueError, match=r"same number of codes; got train_a 3, .* eval_b 2"):
        z_diff(a, b, a, b[:, :2], labels, labels, 3, batch_size=3)
    with pytest.raises(ValueError, match=r"eval_factor must hold factor indices in \[0, 2\)"):
        z_diff(a, b, a, b, labels % 2, labels, 2, batch_size=3)
    with pytest.raises(ValueError, match=r"single factor \(1\); the classifier needs at least"):
        z_diff(a, b, a, b, np.ones(4, dtype=int), labels, 3, batch_size=3)
    with pytest.raises(ValueError, match=r"num_factors must be an integer >= 2"):
        z_diff(a, b, a, b, labels, labels, np.array([3]), batch_size=3)
    with pytest.raises(ValueError, match=r"max_iter must be an integer >= 1"):
        z_diff(a, b, a, b, labels, labels, 3, batch_size=3, max_iter=0)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1"):
        z_diff_plan(sampler_for(Toy(factor_sizes=SIZES)), batch_size=0)
    with pytest.raises(ValueError, match=r"needs at least 2 factors"):
        z_diff_plan(sampler_for(Toy(factor_sizes=(6,))))
