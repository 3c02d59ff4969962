"""ExplorerState: every number it shows, recomputed independently with helpers."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.explain import explain
from helpers.explanation import Explanation
from helpers.explorer import HIDE_COLORS, ExplorerState, hide_color_key
from helpers.explorer_app import default_explorer_inputs
from helpers.kernels import cosine_distance, exponential_kernel, sample_distances
from helpers.perturbation import hidden_image, perturb

N = 120  # LIME samples: enough for a real fit, cheap with MobileNetV2 (~4 ms a call)
TREE_FROG = 31


class Counting:
    """A model that counts the images it is asked about."""

    def __init__(self, model):
        self.model = model
        self.images = 0
        self.class_names = model.class_names

    def __call__(self, images):
        self.images += len(images)
        return self.model(images)


@pytest.fixture(scope="module")
def mobilenet(mobilenet_v2):
    return mobilenet_v2


@pytest.fixture(scope="module")
def frog(frog224):
    return frog224


@pytest.fixture(scope="module")
def explanation(frog, mobilenet) -> Explanation:
    return explain(frog, mobilenet, num_samples=N, top_labels=1, random_state=3, progress=False)


@pytest.fixture
def counting(mobilenet) -> Counting:
    return Counting(mobilenet)


@pytest.fixture
def state(explanation, counting) -> ExplorerState:
    return ExplorerState(explanation, counting)


def _model_p(model, e, mask, label, hide_color=None):
    """The network's probability of ``label`` on the image with ``mask``, from scratch."""
    image = perturb(e.image, e.segments, np.asarray(mask)[None], hide_color=hide_color)
    return float(model(image)[0, label])


def _relative_fit(e, mobilenet, **kwargs):
    """explain() again on the same segments and samples (so only the settings differ)."""
    return explain(
        e.image, mobilenet, segments=e.segments, samples=e.samples, progress=False, **kwargs
    )


def test_starts_at_the_original_with_the_explanations_own_numbers(state, explanation, mobilenet):
    label = explanation.labels[0]
    assert label == TREE_FROG and state.label == label
    assert (state.sample == 1).all() and state.sample.shape == (explanation.samples.shape[1],)
    assert state.model_probability == float(mobilenet(explanation.image[None])[0, label])
    assert state.model_probability == explanation.predictions[0, label]
    coef, intercept = explanation.coef[label], explanation.intercept[label]
    assert state.surrogate_prediction == intercept + coef @ np.ones(coef.size)
    assert state.surrogate_prediction == pytest.approx(explanation.local_pred[label], abs=1e-12)
    assert state.distance == 0.0 and state.weight == 1.0
    assert state.kernel_width == explanation.params["kernel_width"]
    assert state.hide_color is None and state.model_calls == 1


def test_toggle_gives_the_networks_probability_and_the_surrogates_prediction(
    state, explanation, mobilenet, counting
):
    label = state.label
    coef, intercept = explanation.coef[label], explanation.intercept[label]
    rng = np.random.default_rng(0)
    expected_mask = np.ones(coef.size, np.uint8)
    for j in rng.choice(coef.size, size=6, replace=False):
        state.toggle(int(j))
        expected_mask[j] = 0
        assert np.array_equal(state.sample, expected_mask)
        assert state.model_probability == _model_p(mobilenet, explanation, expected_mask, label)
        assert state.surrogate_prediction == intercept + coef @ expected_mask
        d = cosine_distance(expected_mask[None])[0]
        assert state.distance == d
        assert state.weight == exponential_kernel(np.array([d]), 0.25)[0]
        assert np.array_equal(state.probabilities, mobilenet(state.masked_image[None])[0])
    assert state.distance == pytest.approx(1 - np.sqrt((coef.size - 6) / coef.size))
    calls = counting.images
    state.toggle(int(j))  # show the last one again, hide it again: samples seen before,
    state.toggle(int(j))  # so no model call
    assert counting.images == calls and state.model_calls == counting.images


def test_set_sample_reset_and_the_superpixel_under_a_pixel(state, explanation, mobilenet):
    segments = explanation.segments
    S = explanation.samples.shape[1]
    for row, col in [(0, 0), (100, 37), (223, 223), (57, 180)]:
        assert state.superpixel_at(row, col) == segments[row, col]
    with pytest.raises(ValueError, match="outside the 224 x 224 image"):
        state.superpixel_at(224, 0)
    with pytest.raises(ValueError, match="outside"):
        state.superpixel_at(-1, 5)
    mask = (np.arange(S) % 3 != 0).astype(np.uint8)
    state.set_sample(mask.tolist())
    assert np.array_equal(state.sample, mask)
    assert state.model_probability == _model_p(mobilenet, explanation, mask, state.label)
    assert state.masked_image.shape == explanation.image.shape
    assert (state.masked_image[segments == 0] != explanation.image[segments == 0]).any()
    state.set_sample(np.zeros(S, np.uint8))  # everything hidden: distance 1, as lime
    assert state.distance == 1.0
    state.reset()
    assert (state.sample == 1).all() and state.distance == 0.0
    assert state.model_probability == explanation.predictions[0, state.label]
    with pytest.raises(ValueError, match=f"{S} values of 0 or 1"):
        state.set_sample(np.ones(S + 1))
    with pytest.raises(ValueError, match="0 or 1"):
        state.set_sample(np.full(S, 2))
    with pytest.raises(ValueError, match="does not exist"):
        state.toggle(S)
    with pytest.raises(TypeError):
        state.toggle(1.5)
    assert (state.sample == 1).all()  # rejected inputs change nothing


def test_show_top_keeps_exactly_limes_top_k(state, explanation, mobilenet):
    label = state.label
    for k in (1, 3, 5, 10):
        state.show_top(k)
        lime_mask = explanation.mask(label, num_features=k, positive_only=True)
        kept = np.unique(explanation.segments[lime_mask == 1])
        assert np.array_equal(np.flatnonzero(state.sample), kept)
        assert state.model_probability == _model_p(mobilenet, explanation, state.sample, label)
    state.show_top(0)
    assert state.sample.sum() == 0
    with pytest.raises(ValueError):
        state.show_top(-1)


@pytest.mark.parametrize("width", [0.1, 0.5, 2.0])
def test_a_new_kernel_width_refits_like_explain_without_model_calls(
    state, explanation, mobilenet, counting, width
):
    label = state.label
    state.toggle(3)
    state.toggle(7)
    calls = counting.images
    state.set_kernel_width(width)
    assert counting.images == calls  # refitted from the stored samples and predictions
    reference = _relative_fit(explanation, mobilenet, labels=[label], kernel_width=width)
    assert np.array_equal(state.coef, reference.coef[label])
    assert state.intercept == reference.intercept[label]
    assert state.surrogate_prediction == reference.intercept[label] + reference.coef[
        label
    ] @ state.sample.astype(float)
    assert state.weight == exponential_kernel(np.array([state.distance]), width)[0]
    state.set_kernel_width(0.25)  # back to the explanation's own fit, bit for bit
    assert np.array_equal(state.coef, explanation.coef[label])
    assert counting.images == calls
    with pytest.raises(ValueError, match="kernel_width"):
        state.set_kernel_width(0.0)
    assert state.kernel_width == 0.25


def test_another_label_refits_from_stored_predictions_without_model_calls(
    state, explanation, mobilenet, counting
):
    state.toggle(5)
    calls = counting.images
    labels = state.top_labels(5)
    assert labels[0] == TREE_FROG and len(set(labels)) == 5
    other = labels[1]
    state.set_label(other)
    assert counting.images == calls
    assert state.model_probability == _model_p(mobilenet, explanation, state.sample, other)
    reference = _relative_fit(explanation, mobilenet, labels=[other])
    assert np.array_equal(state.coef, reference.coef[other])
    assert state.surrogate_prediction == reference.intercept[other] + reference.coef[
        other
    ] @ state.sample.astype(float)
    with pytest.raises(ValueError, match="outside"):
        state.set_label(1000)
    with pytest.raises(TypeError):
        state.set_label("tree_frog")


def test_a_new_hide_color_predicts_the_samples_once_and_refits_on_them(
    state, explanation, mobilenet, counting
):
    label = state.label
    state.toggle(2)
    calls = counting.images
    state.set_hide_color(0)
    # the N samples again with black, and the current mask with black
    assert counting.images == calls + N + 1
    reference = _relative_fit(explanation, mobilenet, labels=[label], hide_color=0)
    assert np.array_equal(state.coef, reference.coef[label])
    assert state.model_probability == _model_p(mobilenet, explanation, state.sample, label, 0)
    assert state.surrogate_prediction == reference.intercept[label] + reference.coef[
        label
    ] @ state.sample.astype(float)
    state.set_kernel_width(0.5)  # with the new hide color, still no model calls for a width
    reference = _relative_fit(
        explanation, mobilenet, labels=[label], hide_color=0, kernel_width=0.5
    )
    assert np.array_equal(state.coef, reference.coef[label])
    calls = counting.images
    state.set_hide_color(None)  # back: stored predictions, a mask already seen
    state.set_kernel_width(0.25)
    assert counting.images == calls
    assert np.array_equal(state.coef, explanation.coef[label])
    state.set_hide_color([0, 0, 0])  # the same hide color spelled differently: nothing new
    assert counting.images == calls and hide_color_key([0, 0, 0]) == hide_color_key(0.0)
    with pytest.raises(ValueError, match="hide_color"):
        state.set_hide_color("sepia")
    assert state.hide_color == [0, 0, 0]


def test_pairs_record_every_mask_with_the_current_surrogate(state, explanation, mobilenet):
    label = state.label
    samples = [np.ones(explanation.samples.shape[1], np.uint8)]
    for j in (4, 9, 4, 1):
        state.toggle(j)
        samples.append(state.sample)
    # each mask once, in the order last seen (the all-ones mask came back at the third click)
    unique = []
    for m in samples:
        unique = [u for u in unique if not np.array_equal(u, m)] + [m]
    pairs = state.pairs()
    assert pairs.shape == (len(unique), 2)
    assert [v.sample.tolist() for v in state.history] == [m.tolist() for m in unique]
    for (p_model, p_surrogate), m in zip(pairs, unique, strict=True):
        assert p_model == _model_p(mobilenet, explanation, m, label)
        assert p_surrogate == explanation.intercept[label] + explanation.coef[label] @ m
    assert tuple(pairs[-1]) == (state.model_probability, state.surrogate_prediction)
    state.set_kernel_width(0.6)  # the network's column stays, the surrogate's is refitted
    refit = state.pairs()
    assert np.array_equal(refit[:, 0], pairs[:, 0])
    expected = [state.intercept + state.coef @ m for m in unique]
    assert np.array_equal(refit[:, 1], expected)


def test_other_surrogate_settings_are_kept_on_refit(frog, mobilenet, tmp_path):
    e = explain(
        frog, mobilenet, num_samples=60, labels=[TREE_FROG], surrogate="lasso_path",
        num_features=4, random_state=1, progress=False,
    )  # fmt: skip
    loaded = Explanation.load(e.save(tmp_path / "e.npz"))  # a saved explanation works too
    state = ExplorerState(loaded, mobilenet)
    state.set_kernel_width(0.4)
    reference = _relative_fit(
        e, mobilenet, labels=[TREE_FROG], surrogate="lasso_path", num_features=4,
        kernel_width=0.4,
    )  # fmt: skip
    assert np.array_equal(state.coef, reference.coef[TREE_FROG])
    assert np.count_nonzero(state.coef) <= 4


def test_a_label_the_network_never_scores_gets_zero_weights(state):
    never = int(np.flatnonzero(state.explanation.predictions.max(axis=0) == 0)[0])
    state.set_label(never)
    assert (state.coef == 0).all() and state.surrogate_prediction == 0.0
    assert state.model_probability == 0.0


def test_default_inputs_are_mobilenet_and_the_frog(offline_data, monkeypatch):
    monkeypatch.setenv("LIME_TUTORIAL_QUICK", "1")
    e, model = default_explorer_inputs(num_samples=40)
    assert model.name == "mobilenet_v2" and e.image.shape == (224, 224, 3)
    assert e.labels == (TREE_FROG,) and len(e.samples) == 40
    again, _ = default_explorer_inputs(num_samples=40)
    assert np.array_equal(e.samples, again.samples) and np.array_equal(e.coef[31], again.coef[31])
    assert len(default_explorer_inputs()[0].samples) == 300  # quick mode's budget


@pytest.mark.parametrize("recipe", ["paper", "matlab"])
def test_an_explanation_with_another_recipe_keeps_its_distance_kernel_and_surrogate(
    frog, mobilenet, recipe
):
    e = explain(
        frog, mobilenet, recipe=recipe, num_samples=80, labels=[TREE_FROG], random_state=2,
        progress=False,
    )  # fmt: skip
    counting = Counting(mobilenet)
    state = ExplorerState(e, counting)
    assert (state.distance_name, state.kernel_name) == (e.params["distance"], e.params["kernel"])
    assert state.weight == 1.0 and state.distance == 0.0
    state.toggle(0)
    same = _relative_fit(e, mobilenet, recipe=recipe, labels=[TREE_FROG])
    hidden = hidden_image(frog, e.segments, e.params["hide_color"])
    expected = sample_distances(
        state.sample[None], e.params["distance"], image=frog, hidden=hidden, segments=e.segments
    )[0]
    assert state.distance == expected
    assert (
        state.weight
        == exponential_kernel(
            np.array([expected]), e.params["kernel_width"], kernel=e.params["kernel"]
        )[0]
    )
    assert np.array_equal(state.coef, same.coef[TREE_FROG])
    calls = counting.images
    state.set_kernel_width(0.6)
    assert counting.images == calls
    reference = _relative_fit(e, mobilenet, recipe=recipe, labels=[TREE_FROG], kernel_width=0.6)
    assert np.array_equal(state.coef, reference.coef[TREE_FROG])
    state.set_hide_color("blur")  # pixel_l2 distances depend on the hide color: computed again
    reference = _relative_fit(
        e, mobilenet, recipe=recipe, labels=[TREE_FROG], kernel_width=0.6, hide_color="blur"
    )
    assert np.allclose(state.coef, reference.coef[TREE_FROG], rtol=0, atol=1e-12)
    assert state.weight == pytest.approx(
        float(np.exp(-(state.distance**2) / 0.6**2)), abs=1e-15
    )  # the paper's kernel form, for both recipes


class _FailsWhenAsked:
    """The toy model of the docstrings, which raises while ``fail`` is set."""

    def __init__(self, model):
        self.model, self.fail = model, False

    def __call__(self, images):
        if self.fail:
            raise RuntimeError("the model failed")
        return self.model(images)


def _snapshot(state: ExplorerState) -> tuple:
    return (
        state.sample.tolist(), state.label, state.hide_color, state.kernel_width,
        state.model_probability, state.surrogate_prediction, state.distance, state.weight,
        [(v.sample.tolist(), v.hide_color) for v in state.history], state.pairs().tolist(),
    )  # fmt: skip


def test_a_refused_change_leaves_the_explorer_as_it_was_and_usable():
    """Issue 21, item 7: after set_kernel_width(1e-200) was refused the width stayed set, and
    every later toggle, reset and set_label failed."""
    from helpers.toy_models import linear_grid_example

    image, segments, model = linear_grid_example(2)
    e = explain(image, model, segments=segments, num_samples=100, labels=[1], hide_color=0,
                random_state=0, progress=False)  # fmt: skip
    flaky = _FailsWhenAsked(model)
    state, twin = ExplorerState(e, flaky), ExplorerState(e, model)
    state.toggle(0)
    twin.toggle(0)
    before = _snapshot(state)
    refused = [
        (state.set_kernel_width, 1e-200, ValueError),
        (state.set_kernel_width, float("nan"), ValueError),
        (state.set_kernel_width, True, ValueError),
        (state.set_label, 7, ValueError),
        (state.set_label, "one", TypeError),
        (state.set_hide_color, "sepia", ValueError),
        (state.set_sample, [1, 2, 1, 1], ValueError),
        (state.toggle, 4, ValueError),
        (state.show_top, -1, ValueError),
        (state.show_top, 1.5, TypeError),
    ]
    for setter, value, error in refused:
        with pytest.raises(error):
            setter(value)
        assert _snapshot(state) == before, (setter.__name__, value)
    flaky.fail = True  # a model that fails on a new mask changes nothing either
    calls = state.model_calls
    with pytest.raises(RuntimeError, match="the model failed"):
        state.toggle(1)
    assert _snapshot(state) == before and state.model_calls == calls + 1
    flaky.fail = False
    # Everything still works, with exactly the numbers of a state that saw no error.
    for s in (state, twin):
        s.toggle(1)
        s.set_label(0)
        s.reset()
        s.set_kernel_width(0.5)
        s.show_top(2)
    assert _snapshot(state) == _snapshot(twin)


def test_the_explorer_offers_both_grays_by_their_names():
    from helpers.paper import GRAY
    from helpers.recipes import MID_GRAY

    assert HIDE_COLORS == {
        "segment mean": None,
        "mid gray (128)": MID_GRAY,
        "paper's gray (154)": GRAY,
        "black": 0,
        "blur": "blur",
    }
    assert (MID_GRAY, GRAY) == (128, 154)
