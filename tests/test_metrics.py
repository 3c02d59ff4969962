"""helpers.metrics pinned on cases with known answers; mask designs."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import explain as ex
from helpers import metrics, perturbation, segmentation, shapley, toy_models


def test_top_k_and_jaccard_on_hand_made_rankings():
    assert metrics.top_k(np.array([0.1, 0.5, -1.0, 0.5]), 2) == {1, 3}
    assert metrics.jaccard({1, 2, 3}, {2, 3, 4}) == 0.5
    assert metrics.jaccard(set(), set()) == 0.0  # paper.mask_iou's rule (issue 20)
    coefs = np.array([[3, 2, 1, 0], [3, 2, 0, 1], [0, 1, 2, 3]], float)
    # top-2 sets: {0,1}, {0,1}, {2,3}: pairs 1, 0, 0
    assert metrics.mean_pairwise_jaccard(coefs, 2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="two"):
        metrics.mean_pairwise_jaccard(coefs[:1], 2)


def test_kendalls_w_known_values():
    same = np.tile(np.arange(5.0), (4, 1))
    assert metrics.kendalls_w(same) == pytest.approx(1.0)
    opposite = np.array([np.arange(5.0), -np.arange(5.0)])
    assert metrics.kendalls_w(opposite) == pytest.approx(0.0)
    # 3 raters, 3 items, ranks [1,2,3], [1,3,2], [2,1,3]: R = (4, 6, 8), S = 8, W = 12*8/(9*24)
    raters = np.array([[1, 2, 3], [1, 3, 2], [2, 1, 3]], float)
    assert metrics.kendalls_w(raters) == pytest.approx(12 * 8 / (9 * 24))


def test_spearman_and_summary():
    assert metrics.spearman(np.array([1, 2, 3.0]), np.array([10, 20, 30.0])) == pytest.approx(1)
    assert metrics.spearman(np.array([1, 2, 3.0]), np.array([3, 2, 1.0])) == pytest.approx(-1)
    mean, sd = metrics.stability_summary(np.array([[1.0, 2.0], [3.0, 2.0]]))
    np.testing.assert_allclose(mean, [2, 2])
    np.testing.assert_allclose(sd, [np.sqrt(2), 0])


def test_first_stable_index():
    a, b = frozenset({1, 2}), frozenset({1, 3})
    assert metrics.first_stable_index([a, b, a, a, a], m=2) == 2
    assert metrics.first_stable_index([a, b, a, b], m=1) is None


def test_auc_trapezoid():
    assert metrics.auc(np.array([1.0, 0.0])) == 0.5
    assert metrics.auc(np.array([1.0, 1.0, 1.0])) == 1.0


@pytest.fixture(scope="module")
def region_setup():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    segments = segmentation.grid_segments((32, 32), 4, 4)
    truth = [5, 6, 9, 10]
    model = toy_models.region_classifier(image, np.isin(segments, truth))
    return image, segments, truth, model


def test_true_order_gives_the_best_deletion_and_insertion_auc(region_setup):
    image, segments, truth, model = region_setup
    rest = [j for j in range(16) if j not in truth]
    best = truth + rest
    deletion, insertion = metrics.deletion_insertion_curves(image, segments, best, model, 1)
    assert deletion.shape == insertion.shape == (17,)
    assert deletion[0] == pytest.approx(model(image[None])[0, 1])
    rng = np.random.default_rng(1)
    for _ in range(20):
        order = rng.permutation(16)
        d, i = metrics.deletion_insertion_curves(image, segments, order, model, 1)
        assert metrics.auc(deletion) <= metrics.auc(d) + 1e-12
        assert metrics.auc(insertion) >= metrics.auc(i) - 1e-12
    with pytest.raises(ValueError, match="permutation"):
        metrics.deletion_insertion_curves(image, segments, [0, 1], model, 1)


def test_exact_shapley_of_an_additive_model_is_its_coefficients():
    w = np.array([0.5, -1.0, 2.0, 0.0, 3.0])
    phi = shapley.exact_shapley(lambda z: 7.0 + z @ w, 5)
    np.testing.assert_allclose(phi, w, atol=1e-12)


def test_exact_shapley_of_an_interaction_splits_it_evenly():
    phi = shapley.exact_shapley(lambda z: z[:, 0] * z[:, 1], 3)
    np.testing.assert_allclose(phi, [0.5, 0.5, 0.0], atol=1e-12)


def test_kernel_shap_on_all_coalitions_equals_exact_shapley():
    S = 6
    all_samples = ((np.arange(2**S)[:, None] >> np.arange(S)) & 1).astype(np.uint8)

    def value(z):
        return z[:, 0] * z[:, 1] + 0.5 * z[:, 2] - z[:, 3] * z[:, 4] * z[:, 5]

    phi, base = shapley.kernel_shap(all_samples, value(all_samples))
    np.testing.assert_allclose(phi, shapley.exact_shapley(value, S), atol=1e-4)
    assert base == pytest.approx(0.0, abs=1e-4)
    w = shapley.shapley_kernel_weights(all_samples)
    assert w[0] == w[-1] == 1e6 and w[1] == pytest.approx(5 / (6 * 1 * 5))


def test_linear_pixel_model_limit_is_reached_as_n_grows():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    segments = segmentation.grid_segments((16, 16), 3, 3)
    lam = rng.normal(size=(16, 16, 3)) / 100

    def model(x):
        f = (x.astype(np.float64) * lam).sum(axis=(1, 2, 3))
        return np.stack([-f, f], axis=1)

    limit = shapley.linear_pixel_model_limit(image, segments, lam)
    errors = []
    for n in (50, 500, 5000):
        e = ex.explain(image, model, segments=segments, num_samples=n, labels=[1],
                       random_state=0, progress=False)  # fmt: skip
        errors.append(np.abs(e.coef[1] - limit).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.01 * np.abs(limit).max()
    ols = ex.explain(image, model, segments=segments, num_samples=200, labels=[1],
                     surrogate="ols", random_state=0, progress=False)  # fmt: skip
    np.testing.assert_allclose(ols.coef[1], limit, atol=1e-8)


def test_fidelity_is_perfect_for_a_linear_model(region_setup):
    image, segments, _, _ = region_setup
    w = np.arange(16) / 10
    model = toy_models.linear_superpixel_classifier(image, segments, w)
    e = ex.explain(image, model, segments=segments, num_samples=300, labels=[1],
                   hide_color=(255, 0, 255), surrogate="ols", random_state=0, progress=False)  # fmt: skip
    f = metrics.fidelity_on_fresh_samples(e, model, 1)  # the explanation's own hide_color
    assert f["r2_fresh"] == pytest.approx(1.0, abs=1e-9)
    assert f["surrogate_at_original"] == pytest.approx(f["model_at_original"], abs=1e-9)


@pytest.mark.parametrize("design", perturbation.HALF_DESIGNS)
def test_designs_keep_half_on_average_and_are_seeded(design):
    a = perturbation.draw_samples(512, 20, np.random.default_rng(0), design=design)
    b = perturbation.draw_samples(512, 20, np.random.default_rng(0), design=design)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (512, 20) and a[0].all()
    assert set(np.unique(a)) <= {0, 1}
    assert abs(a[1:].mean() - 0.5) < 0.03
    if design == "antithetic":
        np.testing.assert_array_equal(a[1::2], 1 - a[0::2])
    if design == "stratified":
        counts = np.sort(a[1:].sum(axis=1))
        assert counts[0] >= 3 and counts[-1] <= 17  # no extreme samples by chance


@pytest.mark.parametrize("design", perturbation.DESIGNS)
def test_every_design_is_seeded(design):
    a = perturbation.draw_samples(300, 15, np.random.default_rng(7), design=design)
    b = perturbation.draw_samples(300, 15, np.random.default_rng(7), design=design)
    c = perturbation.draw_samples(300, 15, np.random.default_rng(8), design=design)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and a[0].all() and a.dtype == np.uint8


def test_unknown_design():
    with pytest.raises(ValueError, match="Unknown design"):
        perturbation.draw_samples(4, 4, np.random.default_rng(0), design="latin")
