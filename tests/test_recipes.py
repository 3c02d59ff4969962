"""The three recipes (lime, paper, MATLAB): presets pinned down number by number."""

from __future__ import annotations

import numpy as np
import pytest
from pipeline_fixtures import quadrant_softmax, small
from scipy.ndimage import gaussian_filter

from helpers import kernels, perturbation, segmentation
from helpers.explain import explain
from helpers.recipes import RECIPES, Settings


@pytest.fixture(scope="module")
def image(data_root):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIME_TUTORIAL_DATA", str(data_root))
        return small("red_eyed_tree_frog.jpg", 60)


@pytest.fixture(scope="module")
def segments(image):
    return segmentation.segment(image, "grid", n_rows=4, n_cols=5)


def _wls(X, y, w):
    """Weighted least squares with intercept, solved independently of helpers."""
    A = np.column_stack([np.ones(len(X)), X]) * np.sqrt(w)[:, None]
    beta = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]
    return beta[1:], beta[0]


def test_uniform_count_draws_the_number_kept_uniformly():
    samples = perturbation.draw_samples(22001, 10, np.random.default_rng(0), design="uniform_count")
    assert (samples[0] == 1).all()
    counts = np.bincount(samples[1:].sum(axis=1), minlength=11)
    assert counts[0] == 0  # at least one superpixel is kept
    np.testing.assert_allclose(counts[1:], 2200, atol=5 * np.sqrt(2200))
    # each superpixel is kept with probability E[k] / S = 5.5 / 10
    np.testing.assert_allclose(samples[1:].mean(axis=0), 0.55, atol=0.015)


def test_keep_rate_draws_one_rate_per_sample():
    S = 400
    samples = perturbation.draw_samples(4001, S, np.random.default_rng(1), design="keep_rate")
    kept = samples[1:].mean(axis=1)  # ~ 1 - 0.8 r with r ~ U(0, 1): uniform on [0.2, 1]
    assert perturbation.KEEP_RATE_SCALE == 0.8
    assert abs(kept.mean() - 0.6) < 0.01
    np.testing.assert_allclose(np.quantile(kept, [0.1, 0.5, 0.9]), [0.28, 0.6, 0.92], atol=0.02)
    assert kept.min() > 0.12 and kept.max() <= 1.0


def test_distances_by_name(image, segments):
    samples = perturbation.draw_samples(50, 20, np.random.default_rng(2))
    k = samples.sum(axis=1)
    np.testing.assert_allclose(
        kernels.sample_distances(samples, "cosine"), 1 - np.sqrt(k / 20), atol=1e-15
    )
    np.testing.assert_allclose(kernels.sample_distances(samples, "hidden_fraction"), 1 - k / 20)
    hidden = perturbation.hidden_image(image, segments, 0)
    images = perturbation.perturb(image, segments, samples, hide_color=0)
    l2 = kernels.pixel_l2_distance(image, images)
    everything = kernels.pixel_l2_distance(image, hidden[None])[0]
    relative = kernels.sample_distances(
        samples, "pixel_l2", image=image, hidden=hidden, segments=segments
    )
    np.testing.assert_allclose(relative, l2 / everything, rtol=1e-12)
    assert relative[0] == 0.0
    with pytest.raises(ValueError, match="needs image"):
        kernels.sample_distances(samples, "pixel_l2")
    with pytest.raises(ValueError, match="Unknown distance"):
        kernels.sample_distances(samples, "manhattan")


def test_lime_kernel_is_the_paper_kernel_at_sqrt2_width():
    d = np.linspace(0, 1, 11)
    np.testing.assert_allclose(kernels.exponential_kernel(d, 0.3, kernel="paper"),
                               np.exp(-(d**2) / 0.09))  # fmt: skip
    np.testing.assert_allclose(
        kernels.exponential_kernel(d, 0.3),
        kernels.exponential_kernel(d, 0.3 * np.sqrt(2), kernel="paper"),
    )


def test_lime_recipe_is_the_default(image, segments, tmp_path):
    default = explain(image, quadrant_softmax, segments=segments, random_state=3, progress=False)
    spelled_out = explain(
        image, quadrant_softmax, segments=segments, random_state=3, progress=False,
        recipe="lime", design="bernoulli", hide_color=None, distance="cosine", kernel="lime",
        kernel_width=0.25, surrogate="ridge", num_features=None,
    )  # fmt: skip
    as_settings = explain(image, quadrant_softmax, segments=segments, random_state=3,
                          progress=False, recipe=Settings())  # fmt: skip
    assert RECIPES["lime"] == Settings()
    first = default.save(tmp_path / "a.npz").read_bytes()
    assert first == spelled_out.save(tmp_path / "b.npz").read_bytes()
    assert first == as_settings.save(tmp_path / "c.npz").read_bytes()
    assert default.settings == Settings()  # read back from the params it recorded
    assert default.params["recipe"] == "lime" and default.params["kernel"] == "lime"
    np.testing.assert_allclose(
        default.kernel_weights, np.sqrt(np.exp(-(default.distances**2) / 0.25**2))
    )


def test_paper_recipe(image, segments):
    e = explain(image, quadrant_softmax, segments=segments, recipe="paper", num_samples=600,
                labels=[2], random_state=4, progress=False)  # fmt: skip
    p = e.params
    assert (p["design"], p["distance"], p["kernel"], p["surrogate"]) == (
        "uniform_count", "pixel_l2", "paper", "k_lasso")  # fmt: skip
    assert (p["kernel_width"], p["num_features"], p["hide_color"]) == (0.25, 10, 154)
    hidden = np.full_like(image, 154)
    d = kernels.relative_pixel_l2(image, hidden, segments, e.samples)
    np.testing.assert_allclose(e.distances, d)
    np.testing.assert_allclose(e.kernel_weights, np.exp(-(d**2) / 0.25**2))
    selected = np.flatnonzero(e.coef[2])
    assert 1 <= len(selected) <= 10
    coef, intercept = _wls(e.samples[:, selected], e.predictions[:, 2], e.kernel_weights)
    np.testing.assert_allclose(e.coef[2][selected], coef, atol=1e-9)
    np.testing.assert_allclose(e.intercept[2], intercept, atol=1e-9)
    # the same selection as lime's lasso_path, but lime refits with ridge: other numbers
    lime_style = explain(image, quadrant_softmax, segments=segments, recipe="paper",
                         surrogate="lasso_path", num_samples=600, labels=[2], random_state=4,
                         progress=False)  # fmt: skip
    assert set(np.flatnonzero(lime_style.coef[2])) == set(selected)
    assert not np.allclose(lime_style.coef[2][selected], coef)


def test_matlab_recipe(image, segments):
    e = explain(image, quadrant_softmax, segments=segments, recipe="matlab", num_samples=500,
                labels=[1], random_state=5, progress=False)  # fmt: skip
    p = e.params
    assert (p["design"], p["distance"], p["kernel"], p["kernel_width"], p["surrogate"]) == (
        "keep_rate", "hidden_fraction", "paper", 0.35, "ols")  # fmt: skip
    assert p["hide_color"] == 0
    k = e.samples.sum(axis=1)
    np.testing.assert_allclose(e.distances, 1 - k / 20)
    np.testing.assert_allclose(e.kernel_weights, np.exp(-((1 - k / 20) ** 2) / 0.35**2))
    coef, intercept = _wls(e.samples, e.predictions[:, 1], e.kernel_weights)
    np.testing.assert_allclose(e.coef[1], coef, atol=1e-9)
    np.testing.assert_allclose(e.intercept[1], intercept, atol=1e-9)
    # the write-up's heatmap: positive weights over their superpixels, smoothed with 8 px
    expected = gaussian_filter(np.clip(e.coef[1], 0, None)[segments], sigma=8.0)
    np.testing.assert_allclose(e.heatmap(1, positive_only=True, smooth_sigma=8), expected)


def test_explicit_settings_override_the_recipe(image, segments):
    e = explain(image, quadrant_softmax, segments=segments, recipe="paper", surrogate="ridge",
                hide_color=None, num_samples=100, labels=[0], random_state=6,
                progress=False)  # fmt: skip
    assert e.params["surrogate"] == "ridge" and e.params["hide_color"] is None
    assert e.params["design"] == "uniform_count" and e.params["kernel"] == "paper"


class _Counting:
    calls = 0

    def __call__(self, images):
        self.calls += len(images)
        return quadrant_softmax(images)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recipe": "shap"}, "Unknown recipe"),
        ({"distance": "manhattan"}, "Unknown distance"),
        ({"kernel": "gaussian"}, "Unknown kernel"),
        ({"kernel_width": "wide"}, "kernel_width"),
        ({"surrogate": "tree"}, "Unknown surrogate"),
    ],
)
def test_bad_settings_fail_before_any_model_call(image, segments, kwargs, match):
    model = _Counting()
    with pytest.raises(ValueError, match=match):
        explain(image, model, segments=segments, num_samples=20, progress=False, **kwargs)
    assert model.calls == 0
