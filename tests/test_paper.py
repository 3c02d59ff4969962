"""helpers.paper: the published Figure 4 panels, IoU, and notebook 07's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data, images, models, paper
from helpers.explain import explain


def test_panel_boxes_are_framed_by_the_gray_fill(offline_data):
    figure = data.load_image("images/image_from_paper.png").astype(int)
    gray = np.abs(figure - 154).max(axis=-1) <= 3
    for rows, cols in paper.FIGURE4_PANELS.values():
        assert (rows.stop - rows.start, cols.stop - cols.start) == (188, 188)
        # the last column inside each panel is gray, the first one outside is not
        assert gray[rows, cols.stop - 1].mean() == 1.0
        assert gray[rows, cols.stop].mean() == 0.0
        # the rows just above and below are the white page
        assert gray[rows.start - 1, cols].mean() == 0.0 and gray[rows.stop, cols].mean() == 0.0


def test_kept_pixels_of_the_published_panels(offline_data):
    kept = paper.figure4_kept_pixels()
    assert list(kept) == list(paper.FIGURE4)
    shares = {name: round(float(mask.mean()), 3) for name, mask in kept.items()}
    assert shares == {
        "electric_guitar": 0.117,
        "acoustic_guitar": 0.135,
        "Labrador_retriever": 0.099,
    }
    resized = paper.figure4_kept_pixels(size=(224, 224))
    assert all(m.shape == (224, 224) and m.dtype == bool for m in resized.values())
    assert abs(resized["electric_guitar"].mean() - 0.117) < 0.005


def test_mask_iou_and_the_random_baseline():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert paper.mask_iou(a, a) == 1.0 and paper.mask_iou(a, ~a) == 0.0
    assert paper.mask_iou(np.zeros(3, bool), np.zeros(3, bool)) == 0.0  # as metrics.jaccard
    with pytest.raises(ValueError, match="same shape"):
        paper.mask_iou(a, a[:2])
    segments = np.repeat(np.arange(4), 4).reshape(4, 4)  # four rows, one superpixel each
    draws = paper.random_superpixel_iou(segments, a, 2, num_draws=600, random_state=1)
    # two random rows of four: IoU 1 (both top rows, 1/6), 0 (both bottom, 1/6), else 1/3
    np.testing.assert_allclose(np.mean(draws == 1.0), 1 / 6, atol=0.05)
    np.testing.assert_allclose(np.mean(np.isclose(draws, 1 / 3)), 4 / 6, atol=0.05)
    np.testing.assert_array_equal(
        draws, paper.random_superpixel_iou(segments, a, 2, num_draws=600, random_state=1)
    )
    with pytest.raises(ValueError, match="between 1"):
        paper.random_superpixel_iou(segments, a, 5)


def test_07_electric_guitar_overlaps_the_published_panel_beyond_chance(offline_data):
    """Notebook 07, section 1: MobileNetV2, seed 0, 1000 samples."""
    model = models.load_model("mobilenet_v2")
    dog = images.resize_image(paper.figure4_input(), model.input_size)
    label = model.class_names.index("electric_guitar")
    kept = paper.figure4_kept_pixels(size=model.input_size)["electric_guitar"]
    for recipe, k in (("lime", 5), ("paper", 10)):
        e = explain(dog, model, recipe=recipe, labels=[label], random_state=0, progress=False)
        ours = e.mask(label, num_features=k, positive_only=True) > 0
        iou = paper.mask_iou(ours, kept)
        chance = paper.random_superpixel_iou(e.segments, kept, len(np.unique(e.segments[ours])))
        assert iou > 2 * chance.mean(), (recipe, iou, chance.mean())
        if recipe == "lime":
            assert iou > np.quantile(chance, 0.95), (iou, np.quantile(chance, 0.95))


def test_mask_iou_and_jaccard_follow_one_rule():
    from helpers import metrics

    rng = np.random.default_rng(0)
    pairs = [(np.zeros(6, bool), np.zeros(6, bool))]
    pairs += [(rng.random(6) < 0.4, rng.random(6) < 0.4) for _ in range(50)]
    for a, b in pairs:
        sets = set(np.flatnonzero(a).tolist()), set(np.flatnonzero(b).tolist())
        assert paper.mask_iou(a, b) == metrics.jaccard(*sets)
