"""Fig. 11 made runnable: the confounded dataset, the CNN, and LIME's background share."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import explain, segmentation, synthetic
from helpers.models import classifier_fn


def test_dataset_is_seeded_and_confounded():
    a = synthetic.husky_wolf_dataset(20, random_state=3)
    b = synthetic.husky_wolf_dataset(20, random_state=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (20, 64, 64, 3) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.labels, a.backgrounds)  # wolves on snow, huskies on grass
    assert a.labels.sum() == 10
    assert not np.array_equal(a.images, synthetic.husky_wolf_dataset(20, random_state=4).images)
    free = synthetic.husky_wolf_dataset(200, random_state=3, confounded=False)
    assert 0.3 < np.mean(free.labels == free.backgrounds) < 0.7
    with pytest.raises(ValueError, match="animal"):
        synthetic.draw_scene("cat", "snow")


def test_background_share_counts_positive_weight_on_background():
    segments = np.array([[0, 0, 1, 1], [2, 2, 3, 3]])
    animal = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)  # superpixel 0 animal, 2 half
    coef = np.array([1.0, 2.0, 3.0, -5.0])
    # background: 1 and 3 (superpixel 2 is only half background, not more than half);
    # positive weight 1 + 2 + 3 = 6, of which 2 on background (3's weight is negative)
    assert synthetic.background_share(coef, segments, animal) == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="no positive weight"):
        synthetic.background_share(-np.ones(4), segments, animal)


@pytest.fixture(scope="module")
def trained():
    data = synthetic.husky_wolf_dataset(400, random_state=0)
    return synthetic.train_husky_wolf_cnn(data, random_state=0, epochs=6)


def test_fig11_husky_on_snow_is_a_wolf_because_of_the_background(trained):
    predict = classifier_fn(trained, batch_size=64)
    held_out = synthetic.husky_wolf_dataset(200, random_state=1)
    assert np.mean(predict(held_out.images).argmax(1) == held_out.labels) >= 0.95
    free = synthetic.husky_wolf_dataset(200, random_state=2, confounded=False)
    assert np.mean(predict(free.images).argmax(1) == free.backgrounds) >= 0.9

    image, animal = synthetic.draw_scene("husky", "snow", random_state=123)
    assert predict(image[None])[0, 1] > 0.9  # classified as wolf
    segments = segmentation.segment(image, "slic", n_segments=40)
    shares = []
    for seed in range(3):
        e = explain.explain(
            image, predict, segments=segments, num_samples=1000, labels=[1],
            hide_color=0, random_state=seed, progress=False,
        )  # fmt: skip
        shares.append(synthetic.background_share(e.coef[1], segments, animal))
    assert min(shares) >= 0.70, shares
