"""``explain(..., num_samples="auto")`` (issue 22): rounds, no repeated model call, the stop.

Synthetic models on a 32 x 32 image cut into a 4 x 4 grid (16 superpixels), hidden in black:
``_ranked`` scores label 1 by a weighted sum of the visible cells (clear top 5, with a
deterministic wiggle so that the fit is not exact), ``_tied`` looks at four cells only (the
fifth of a top 5 is a tie that no number of samples breaks).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers import auto_samples
from helpers.auto_samples import FIRST_ROUND, draw_rounds, round_ends
from helpers.explain import explain
from helpers.explanation import Explanation
from helpers.fitting import ConstantPredictionWarning, refit
from helpers.perturbation import HALF_DESIGNS, draw_samples, perturb

IMAGE = np.full((32, 32, 3), 200, np.uint8)
GRID = {"segmentation": "grid", "segmentation_params": {"n_rows": 4}}
#: Cell weights of ``_ranked``: cells 5, 9, 6, 10, 0 lead, cell 2 is a close sixth.
WEIGHTS = np.array([0.08, 0.01, 0.07, 0.0, 0.01, 0.12, 0.1, 0.0, 0.0, 0.11, 0.09, 0.01,
                    0.02, 0.0, 0.01, 0.0])  # fmt: skip


def _cells(images: np.ndarray) -> np.ndarray:
    """``(B, 16)``: each grid cell's mean brightness in [0, 1]."""
    x = np.asarray(images, np.float64).mean(axis=3) / 255
    return x.reshape(len(x), 4, 8, 4, 8).mean(axis=(2, 4)).reshape(len(x), 16)


def _ranked(images: np.ndarray) -> np.ndarray:
    cells = _cells(images)
    wiggle = 0.06 * np.sin(40.0 * cells @ np.arange(1, 17))  # deterministic misfit
    score = np.clip(cells @ WEIGHTS + 0.2 + wiggle, 0, 1)
    return np.stack([1 - score, score], axis=1)


def _tied(images: np.ndarray) -> np.ndarray:
    cells = _cells(images)
    score = cells[:, [5, 6, 9, 10]].mean(axis=1)
    return np.stack([1 - score, score], axis=1)


class Counting:
    """A classifier that keeps every batch it is given."""

    def __init__(self, model):
        self.model, self.batches = model, []

    def __call__(self, images):
        self.batches.append(np.array(images))
        return self.model(images)

    @property
    def calls(self) -> int:
        return sum(len(b) for b in self.batches)


def _auto(model=_ranked, **kwargs) -> Explanation:
    kwargs = {"labels": [1], "hide_color": 0, "random_state": 0, "progress": False,
              "cache": False, **GRID, **kwargs}  # fmt: skip
    return explain(IMAGE, model, num_samples="auto", **kwargs)


# ----- the rounds --------------------------------------------------------------------------
def test_round_ends_start_at_the_first_round_double_and_stop_at_max_samples():
    assert FIRST_ROUND == 128
    assert round_ends(5000) == (128, 256, 512, 1024, 2048, 4096, 5000)
    assert round_ends(4096) == (128, 256, 512, 1024, 2048, 4096)
    assert round_ends(128) == (128,)
    assert round_ends(129) == (128, 129)
    assert round_ends(100, first_round=10) == (10, 20, 40, 80, 100)
    with pytest.raises(ValueError, match="max_samples >= first_round"):
        round_ends(100)


@pytest.mark.parametrize("design", ["sobol", "bernoulli", "antithetic"])
def test_rounds_stacked_are_the_samples_drawn_at_once(design):
    """One stream: the first N samples of "auto" are those of a fixed num_samples=N."""
    rounds = list(draw_rounds(16, (128, 256, 512, 600), 7, design))
    assert [len(r) for r in rounds] == [128, 128, 256, 88]
    assert all(r.dtype == np.uint8 and r.shape[1] == 16 for r in rounds)
    np.testing.assert_array_equal(np.concatenate(rounds), draw_samples(600, 16, 7, design=design))


@pytest.mark.parametrize("design", [*HALF_DESIGNS, "uniform_count", "keep_rate"])
def test_only_the_first_round_holds_the_original(design):
    rounds = list(draw_rounds(12, (16, 32, 64), 1, design))
    assert rounds[0][0].tolist() == [1] * 12
    stacked = np.concatenate(rounds)
    assert set(np.unique(stacked).tolist()) <= {0, 1}
    assert (stacked[1:].min(axis=1) == 0).any()  # new rows are perturbations, not copies


def test_draw_rounds_refuses_bad_ends_and_designs():
    with pytest.raises(ValueError, match="must increase"):
        list(draw_rounds(4, (8, 8), 0))
    with pytest.raises(ValueError, match="Unknown design"):
        list(draw_rounds(4, (8,), 0, "coin"))


# ----- one explanation in rounds ------------------------------------------------------------
def test_each_sample_goes_to_the_model_once_in_order():
    model = Counting(_ranked)
    e = _auto(model)
    n = e.params["num_samples"]
    assert model.calls == n == len(e.samples) == len(e.predictions)
    assert n == e.params["auto_samples"]["rounds"][-1]
    shown = np.concatenate(model.batches)
    np.testing.assert_array_equal(shown, perturb(IMAGE, e.segments, e.samples, hide_color=0))
    assert len(np.unique(e.samples, axis=0)) == n  # no sample drawn twice either


def test_auto_is_a_fixed_run_of_the_samples_it_used():
    """The weights after the stop are those of num_samples=N with the same seed and design."""
    e = _auto()
    n = e.params["num_samples"]
    fixed = explain(IMAGE, _ranked, num_samples=n, design="antithetic", labels=[1], hide_color=0,
                    random_state=0, progress=False, cache=False, **GRID)  # fmt: skip
    np.testing.assert_array_equal(e.samples, fixed.samples)
    np.testing.assert_array_equal(e.predictions, fixed.predictions)
    np.testing.assert_array_equal(e.coef[1], fixed.coef[1])
    assert {k: v for k, v in e.params.items() if k != "auto_samples"} == fixed.params
    assert "auto_samples" not in fixed.params  # a fixed N records nothing new


def test_params_record_the_rounds_the_stability_and_why_it_stopped(tmp_path):
    e = _auto()
    record = e.params["auto_samples"]
    assert set(record) == {
        "max_samples", "confidence", "k", "measure", "rounds", "stability", "stopped"
    }  # fmt: skip
    assert (record["max_samples"], record["confidence"], record["k"]) == (5000, 0.95, 5)
    assert record["measure"] == "set"  # the whole top k stays (uncertainty.top_k_stability)
    assert (record["stopped"], record["rounds"]) == ("stable", [128, 256])
    assert _auto(random_state=1).params["auto_samples"]["rounds"] == [128, 256, 512]
    assert len(record["stability"]) == len(record["rounds"])
    assert record["stability"][-1] >= 0.95 > max(record["stability"][:-1], default=0)
    assert e.params["design"] == "antithetic"
    again = Explanation.load(e.save(tmp_path / "auto.npz"))
    assert again.params == e.params


def test_same_seed_same_stop_and_same_bytes(tmp_path):
    a = _auto().save(tmp_path / "a.npz").read_bytes()
    b = _auto().save(tmp_path / "b.npz").read_bytes()
    assert a == b
    other = _auto(random_state=1)
    assert not np.array_equal(other.samples[1:128], _auto().samples[1:128])


def test_a_tie_in_the_top_k_samples_up_to_max_samples():
    model = Counting(_tied)
    e = _auto(model, max_samples=300)
    record = e.params["auto_samples"]
    assert (record["stopped"], record["rounds"]) == ("max_samples", [128, 256, 300])
    assert model.calls == e.params["num_samples"] == 300
    assert max(record["stability"]) < 0.95
    # the four cells the model sees are stable: k=4 stops early on the same model
    assert _auto(_tied, k=4).params["auto_samples"]["stopped"] == "stable"


def test_the_expected_jaccard_never_stops_later_than_the_whole_set():
    for seed in range(4):
        whole = _auto(random_state=seed)
        soft = _auto(random_state=seed, measure="jaccard")
        assert soft.params["auto_samples"]["measure"] == "jaccard"
        assert soft.params["num_samples"] <= whole.params["num_samples"]
        n = soft.params["num_samples"]
        np.testing.assert_array_equal(soft.samples, whole.samples[:n])  # the same stream
    assert _auto(random_state=2, measure="jaccard").params["auto_samples"]["rounds"] == [128]
    assert _auto(random_state=2).params["auto_samples"]["rounds"] == [128, 256, 512]


def test_every_label_explained_must_be_stable():
    one = _auto(labels=[1])
    both = _auto(labels=[0, 1])  # label 0 is 1 - label 1: the same top 5 from the other end
    assert both.labels == (0, 1)
    assert both.params["num_samples"] >= one.params["num_samples"]


def test_the_design_follows_the_recipe_unless_given():
    assert _auto().params["design"] == "antithetic"  # lime's fair coins -> AUTO_DESIGN
    assert _auto(design="bernoulli").params["design"] == "bernoulli"
    assert _auto(design="stratified").params["design"] == "stratified"
    paper = _auto(recipe="paper", max_samples=256)
    assert paper.params["design"] == "uniform_count"  # the paper's own design is kept


def test_a_constant_label_warns_once():
    def flat(images):
        return np.tile([0.25, 0.75], (len(images), 1))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = _auto(flat)
    constant = [w for w in caught if w.category is ConstantPredictionWarning]
    assert len(constant) == 1
    assert e.params["auto_samples"]["stopped"] == "stable"  # all-zero weights do not move
    assert e.params["num_samples"] == FIRST_ROUND


def test_refit_keeps_the_record_of_how_the_samples_were_drawn():
    e = _auto()
    again = refit(e, surrogate="ols")
    assert again.params["auto_samples"] == e.params["auto_samples"]
    assert again.params["num_samples"] == e.params["num_samples"]


# ----- checks at the door -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_samples": "Auto"}, ValueError, "integer or 'auto'"),
        ({"samples": np.ones((4, 16), np.uint8)}, ValueError, "cannot take samples="),
        ({"max_samples": 100}, ValueError, "fewer than the 128 samples of the first round"),
        ({"max_samples": 1000.0}, TypeError, "max_samples must be an integer"),
        ({"max_samples": True}, TypeError, "max_samples must be an integer"),
        ({"confidence": 1.0}, ValueError, "strictly between 0 and 1"),
        ({"confidence": 0}, ValueError, "strictly between 0 and 1"),
        ({"confidence": "high"}, TypeError, "confidence must be a number"),
        ({"k": 0}, ValueError, "must be >= 1"),
        ({"k": 2.5}, TypeError, "k must be an integer"),
        ({"k": 16}, ValueError, "k below 16"),
        ({"k": 40}, ValueError, "k below 16"),
        ({"surrogate": "k_lasso", "num_features": 3}, ValueError, "more than num_features=3"),
        ({"measure": "mean"}, ValueError, "Unknown measure 'mean'"),
    ],
)
def test_bad_stopping_rules_are_refused_before_any_model_call(kwargs, error, match):
    model = Counting(_ranked)
    kwargs = {"num_samples": "auto", **kwargs}
    with pytest.raises(error, match=match):
        explain(IMAGE, model, labels=[1], hide_color=0, random_state=0, progress=False,
                cache=False, **GRID, **kwargs)  # fmt: skip
    assert model.calls == 0


def test_a_fixed_num_samples_ignores_the_stopping_rule():
    fixed = dict(num_samples=200, labels=[1], hide_color=0, random_state=0, progress=False,
                 cache=False, **GRID)  # fmt: skip
    a = explain(IMAGE, _ranked, **fixed)
    b = explain(IMAGE, _ranked, max_samples=999, confidence=0.5, k=2, measure="x", **fixed)
    np.testing.assert_array_equal(a.coef[1], b.coef[1])
    assert a.params == b.params and a.params["design"] == "bernoulli"


def test_auto_samples_is_what_explain_runs():
    assert explain.__module__ == "helpers.explain"
    assert auto_samples.AUTO_DESIGN in HALF_DESIGNS


def test_explain_dataset_takes_auto_and_checks_its_rule_once_for_the_run():
    from helpers.dataset import _check_explain_kwargs

    _check_explain_kwargs({"num_samples": "auto", "max_samples": 1024, "k": 3})
    with pytest.raises(ValueError, match="fewer than the 128 samples"):
        _check_explain_kwargs({"num_samples": "auto", "max_samples": 64})
    with pytest.raises(ValueError, match="integer or 'auto'"):
        _check_explain_kwargs({"num_samples": "many"})
