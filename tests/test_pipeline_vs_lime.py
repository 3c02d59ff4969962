"""The pipeline equals lime==0.2.0.1 for the same segments, samples and fill."""

from __future__ import annotations

import numpy as np
import pytest
from lime.lime_base import LimeBase
from pipeline_fixtures import quadrant_softmax, small
from sklearn.metrics import pairwise_distances

from helpers import explain as ex
from helpers import kernels, perturbation, segmentation, surrogates
from helpers.reference import lime_explain_with_samples
from helpers.segmentation import num_superpixels

N = 60


def _lime_kernel(d, kernel_width=0.25):
    return np.sqrt(np.exp(-(d**2) / kernel_width**2))


@pytest.fixture(scope="module")
def cases(data_root):
    import os

    os.environ.setdefault("LIME_TUTORIAL_DATA", str(data_root))
    frog = small("red_eyed_tree_frog.jpg", 72)
    cat = small("cat_mouse.jpg", 64)
    rng = np.random.default_rng(5)
    smooth = np.clip(
        np.linspace(0, 1, 40)[:, None, None] * rng.uniform(0.2, 1, size=(1, 48, 3)), 0, 1
    ).astype(np.float32)
    return [
        ("frog-quickshift", frog, segmentation.segment(frog)),
        ("frog-slic", frog, segmentation.segment(frog, "slic", n_segments=30)),
        ("cat-felzenszwalb", cat, segmentation.segment(cat, "felzenszwalb", scale=50)),
        ("float-grid", smooth, segmentation.segment(smooth, "grid", n_rows=4, n_cols=5)),
    ]


def _capture_lime_images(image, segments, samples, hide_color):
    """Run lime's explain_instance with our samples and return the images it predicted."""
    seen = []

    def record(batch):
        seen.append(np.array(batch))
        return quadrant_softmax(batch)

    lime_explain_with_samples(
        image, record, segments, samples, hide_color=hide_color, top_labels=2, batch_size=7
    )
    return np.concatenate(seen)


@pytest.mark.parametrize("hide_color", [None, 0, (200, 30, 90)])
def test_perturbed_images_are_bit_equal_to_lime(cases, hide_color):
    rng = np.random.default_rng(0)
    for name, image, segments in cases:
        fill = hide_color if (hide_color is None or image.dtype == np.uint8) else 0.25
        samples = perturbation.draw_samples(N, num_superpixels(segments), rng)
        theirs = _capture_lime_images(image, segments, samples, fill)
        ours = perturbation.perturb(image, segments, samples, hide_color=fill)
        assert ours.dtype == theirs.dtype, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        streamed = np.concatenate(
            list(
                perturbation.perturb_batches(
                    image, segments, samples, hide_color=fill, batch_size=7
                )
            )
        )
        np.testing.assert_array_equal(streamed, theirs, err_msg=name)


def test_labels_starting_at_one_with_gaps(cases):
    """Our result does not depend on the label values; lime's does (it assumes 0..S-1)."""
    _, image, segments = cases[0]
    gapped = segments * 3 + 1  # labels 1, 4, 7, ...
    samples = perturbation.draw_samples(N, num_superpixels(segments), np.random.default_rng(1))
    ours = perturbation.perturb(image, gapped, samples)
    np.testing.assert_array_equal(ours, perturbation.perturb(image, segments, samples))
    np.testing.assert_array_equal(ours, _capture_lime_images(image, segments, samples, None))
    # lime with the gapped labels hides the wrong superpixels.
    assert not np.array_equal(ours, _capture_lime_images(image, gapped, samples, None))
    np.testing.assert_array_equal(segmentation.relabel(gapped), segments)


def _lime_base_fit(samples, targets, distances, label_col, method, k):
    base = LimeBase(_lime_kernel)
    preds = np.zeros((len(targets), 3))
    preds[:, label_col] = targets
    intercept, exp, score, local_pred = base.explain_instance_with_data(
        samples, preds, distances, label_col, k, feature_selection=method
    )
    coef = np.zeros(samples.shape[1])
    for j, w in exp:
        coef[j] = w
    return coef, intercept, score, float(local_pred[0]), [j for j, _ in exp]


@pytest.mark.parametrize(
    ("ours", "theirs", "k"),
    [
        ("ridge", "none", None),
        ("ridge", "auto", None),  # lime_image's default: auto with 100000 -> all superpixels
        ("ridge", "highest_weights", 8),
        ("lasso_path", "lasso_path", 5),
        ("lasso_path", "lasso_path", 10),
    ],
)
def test_fit_surrogate_equals_lime_base(cases, ours, theirs, k):
    rng = np.random.default_rng(3)
    for name, image, segments in cases:
        S = num_superpixels(segments)
        samples = perturbation.draw_samples(300, S, rng).astype(np.int64)
        preds = quadrant_softmax(perturbation.perturb(image, segments, samples))
        distances = pairwise_distances(samples, samples[0].reshape(1, -1), metric="cosine").ravel()
        weights = _lime_kernel(distances)
        np.testing.assert_allclose(kernels.cosine_distance(samples), distances, atol=1e-12)
        for label in (0, 3):
            coef, intercept, score, local_pred, used = _lime_base_fit(
                samples, preds[:, label], distances, 1, theirs, 100000 if k is None else k
            )
            fit = surrogates.fit_surrogate(
                samples, preds[:, label], weights, surrogate=ours, num_features=k
            )
            np.testing.assert_allclose(fit.coef, coef, atol=1e-8, rtol=0, err_msg=name)
            assert fit.intercept == pytest.approx(intercept, abs=1e-8)
            assert fit.score == pytest.approx(score, abs=1e-8)
            assert fit.local_pred == pytest.approx(local_pred, abs=1e-8)
            assert sorted(fit.selected.tolist()) == sorted(int(j) for j in used)


def test_forward_selection_and_ols_agree_with_lime_and_sklearn(cases):
    from sklearn.linear_model import LinearRegression

    _, image, segments = cases[1]
    S = num_superpixels(segments)
    samples = perturbation.draw_samples(300, S, np.random.default_rng(4)).astype(np.int64)
    y = quadrant_softmax(perturbation.perturb(image, segments, samples))[:, 2]
    d = pairwise_distances(samples, samples[0].reshape(1, -1), metric="cosine").ravel()
    w = _lime_kernel(d)
    coef, intercept, score, local_pred, used = _lime_base_fit(
        samples, y, d, 1, "forward_selection", 4
    )
    fit = surrogates.fit_surrogate(samples, y, w, surrogate="forward_selection", num_features=4)
    assert fit.selected.tolist() == [int(j) for j in used]
    np.testing.assert_allclose(fit.coef, coef, atol=1e-8)
    assert fit.intercept == pytest.approx(intercept, abs=1e-8)
    assert fit.score == pytest.approx(score, abs=1e-8)
    assert fit.local_pred == pytest.approx(local_pred, abs=1e-8)
    ols = surrogates.fit_surrogate(samples, y, w, surrogate="ols")
    ref = LinearRegression().fit(samples, y, sample_weight=w)
    np.testing.assert_allclose(ols.coef, ref.coef_, atol=1e-8)
    assert ols.intercept == pytest.approx(ref.intercept_, abs=1e-8)


@pytest.mark.parametrize("hide_color", [None, 0])
def test_explain_with_samples_equals_lime_explanation(cases, hide_color):
    for name, image, segments in cases[:3]:
        S = num_superpixels(segments)
        samples = perturbation.draw_samples(200, S, np.random.default_rng(9))
        theirs = lime_explain_with_samples(
            image, quadrant_softmax, segments, samples, hide_color=hide_color, top_labels=5
        )
        ours = ex.explain(
            image, quadrant_softmax, segments=segments, samples=samples, hide_color=hide_color,
            top_labels=5, progress=False,
        )  # fmt: skip
        assert list(ours.labels) == [int(j) for j in theirs.top_labels], name
        for label in ours.labels:
            lime_list = theirs.local_exp[label]
            our_list = ours.as_list(label)
            assert [j for j, _ in our_list] == [int(j) for j, _ in lime_list], name
            np.testing.assert_allclose(
                [w for _, w in our_list], [w for _, w in lime_list], atol=1e-8, err_msg=name
            )
            assert ours.intercept[label] == pytest.approx(theirs.intercept[label], abs=1e-8)
        # lime keeps score/local_pred of the last label it fits only (its loop overwrites
        # them); it fits in ascending order of probability, so that is the top label.
        last = ours.labels[0]
        assert ours.score[last] == pytest.approx(theirs.score, abs=1e-8)
        assert ours.local_pred[last] == pytest.approx(float(theirs.local_pred[0]), abs=1e-8)
        for kwargs in (
            {"positive_only": True},
            {"positive_only": False, "num_features": 7},
            {"positive_only": False, "negative_only": True, "num_features": 3},
            {"positive_only": True, "hide_rest": True, "num_features": 4},
            {"positive_only": False, "min_weight": 0.01, "num_features": 10},
        ):
            for label in ours.labels[:2]:
                t_img, t_mask = theirs.get_image_and_mask(label, **kwargs)
                o_img, o_mask = ours.image_and_mask(label, **kwargs)
                np.testing.assert_array_equal(o_mask, t_mask)
                np.testing.assert_array_equal(o_img, t_img)
                assert o_img.dtype == t_img.dtype
