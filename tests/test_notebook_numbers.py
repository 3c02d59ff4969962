"""The numbers behind the notebooks' figures (nbval does not compare images)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.segmentation import quickshift

from helpers import data, kernels, perturbation, segmentation, synthetic, toy_models
from helpers.explain import explain
from helpers.fitting import refit
from helpers.segmentation import num_superpixels


@pytest.fixture(scope="module")
def images(data_root):
    import os

    os.environ.setdefault("LIME_TUTORIAL_DATA", str(data_root))
    return {
        "frog": data.load_image("red_eyed_tree_frog.jpg", size=(299, 299)),
        "cat": data.load_image("cat_mouse.jpg", size=(299, 299)),
    }


# 01_superpixels: segment counts for fixed parameters and seed 0 (scikit-image 0.26).
EXPECTED_COUNTS = {
    ("frog", "quickshift"): 57,
    ("frog", "slic"): 81,
    ("frog", "felzenszwalb"): 185,
    ("frog", "grid"): 64,
    ("cat", "quickshift"): 54,
    ("cat", "slic"): 53,
    ("cat", "felzenszwalb"): 231,
    ("cat", "grid"): 64,
}
PARAMS = {"quickshift": {}, "slic": {"n_segments": 100}, "felzenszwalb": {}, "grid": {"n_rows": 8}}


@pytest.mark.parametrize(("name", "method"), list(EXPECTED_COUNTS))
def test_01_segment_counts(images, name, method):
    s = segmentation.segment(images[name], method, random_state=0, **PARAMS[method])
    assert num_superpixels(s) == EXPECTED_COUNTS[(name, method)]


def test_01_felzenszwalb_against_quickshift(images):
    # "3.2 times as many on the frog but 4.3 times as many on the cat"; tiny superpixels.
    ratio = {
        name: EXPECTED_COUNTS[(name, "felzenszwalb")] / EXPECTED_COUNTS[(name, "quickshift")]
        for name in ("frog", "cat")
    }
    assert round(ratio["frog"], 1) == 3.2 and round(ratio["cat"], 1) == 4.3
    area = {
        method: np.median(np.bincount(segmentation.segment(images["frog"], method).ravel()))
        for method in ("quickshift", "felzenszwalb")
    }
    assert area == {"quickshift": 1324, "felzenszwalb": 141}


# 01_superpixels, exercise 4: quickshift's max_dist and kernel_size on the frog.
@pytest.mark.parametrize(
    ("param", "value", "count"),
    [
        ("max_dist", 5, 217),
        ("max_dist", 20, 61),
        ("max_dist", 200, 57),
        ("kernel_size", 2, 209),
        ("kernel_size", 4, 57),
        ("kernel_size", 8, 12),
    ],
)
def test_01_exercise_quickshift_parameters(images, param, value, count):
    s = segmentation.segment(images["frog"], random_state=0, **{param: value})
    assert num_superpixels(s) == count


def test_01_model_input_segments_differently(images):
    frog = images["frog"]
    on_input = segmentation.relabel(
        quickshift(frog / 127.5 - 1.0, kernel_size=4, max_dist=200, ratio=0.2)
    )
    assert num_superpixels(on_input) == 55
    assert not np.array_equal(on_input, segmentation.segment(frog, random_state=0))


def test_04_weights_at_default_width(images):
    segments = segmentation.segment(images["frog"], random_state=0)
    samples = perturbation.draw_samples(1000, num_superpixels(segments), np.random.default_rng(0))
    w = kernels.exponential_kernel(kernels.cosine_distance(samples), 0.25)[1:]
    share = np.mean((w >= 0.3) & (w <= 0.7))
    assert share > 0.9
    assert 0.45 < np.median(w) < 0.55  # exp(-(1 - sqrt(1/2))**2 / (2 * 0.25**2)) = 0.503


def test_02_fills_change_the_image_by_known_amounts(images):
    frog = images["frog"]
    segments = segmentation.segment(frog, random_state=0)
    change = {
        name: np.abs(perturbation.hidden_image(frog, segments, hide).astype(int) - frog).mean()
        for name, hide in {"mean": None, "gray": 128, "black": 0}.items()
    }
    assert change["mean"] < change["gray"] < change["black"]


def test_02_blur_changes_the_image_least_and_the_stated_amounts(images):
    frog = images["frog"]
    segments = segmentation.segment(frog, random_state=0)
    change = {
        name: np.abs(perturbation.hidden_image(frog, segments, hide).astype(int) - frog).mean()
        for name, hide in {"blur": "blur", "mean": None, "gray": 128, "black": 0}.items()
    }
    assert change["blur"] < change["mean"]
    rounded = {name: round(float(value), 1) for name, value in change.items()}
    assert rounded == {"blur": 12.3, "mean": 20.4, "gray": 61.7, "black": 80.1}


# 08_husky_vs_wolf, exercises 3 and 4 (a CNN trained as in the notebook, seed 0, 6 epochs).
def _husky_on_snow(confounded):
    from helpers.models import classifier_fn

    train = synthetic.husky_wolf_dataset(400, random_state=0, confounded=confounded)
    predict = classifier_fn(
        synthetic.train_husky_wolf_cnn(train, random_state=0, epochs=6), batch_size=64
    )
    image, animal = synthetic.draw_scene("husky", "snow", random_state=123)
    return predict, image, animal, segmentation.segment(image, "slic", n_segments=40)


def test_08_exercise_share_stability():
    predict, image, animal, segments = _husky_on_snow(confounded=True)
    spread = {}
    for n in (100, 1000):
        shares = []
        for seed in range(5):
            e = explain(image, predict, segments=segments, num_samples=n, labels=[1],
                        hide_color=0, random_state=seed, progress=False)  # fmt: skip
            shares.append(synthetic.background_share(e.coef[1], segments, animal))
        spread[n] = max(shares) - min(shares)
    assert spread[100] > 0.05 and spread[1000] < 0.01


def test_08_exercise_unconfounded_network_learns_nothing_in_six_epochs():
    predict, image, animal, segments = _husky_on_snow(confounded=False)
    test = synthetic.husky_wolf_dataset(200, random_state=2, confounded=False)
    accuracy = np.mean(predict(test.images).argmax(1) == test.labels)
    assert 0.4 < accuracy < 0.6
    assert 0.3 < predict(image[None])[0, 1] < 0.4
    coef = explain(image, predict, segments=segments, num_samples=1000, labels=[1],
                   hide_color=0, random_state=0, progress=False).coef[1]  # fmt: skip
    assert np.abs(coef).max() < 0.01
    pixels = np.bincount(segments.ravel())
    background = np.bincount(segments.ravel(), weights=animal.ravel()) / pixels < 0.5
    assert abs(coef[background].mean() - coef[~background].mean()) < 0.001


@pytest.mark.parametrize(("S", "middle"), [(20, (0.19, 0.81)), (200, (0.40, 0.59))])
def test_04_exercise_weight_ranges(S, middle):
    samples = perturbation.draw_samples(1000, S, np.random.default_rng(0))
    w = kernels.exponential_kernel(kernels.cosine_distance(samples), 0.25)[1:]
    assert tuple(np.round(np.percentile(w, [5, 95]), 2)) == middle


def test_04_exercise_width_for_a_tenfold_ratio(images):
    segments = segmentation.segment(images["frog"], random_state=0)
    samples = perturbation.draw_samples(1000, num_superpixels(segments), np.random.default_rng(0))
    d = kernels.cosine_distance(samples)[1:]
    ratio = {}
    for width in (0.12, 0.15):
        lo, hi = np.percentile(kernels.exponential_kernel(d, width), [5, 95])
        ratio[width] = hi / lo
        assert 0.19 < hi < 0.36  # "95 % of the weights are below about 0.2-0.35"
    assert 15 < ratio[0.12] < 25 and 6 < ratio[0.15] < 8


def test_02_exercise_distinct_masks_and_birthday_bound():
    assert f"{2.0**57:.1e}" == "1.4e+17"
    assert f"{1000**2 / 2.0**58:.1e}" == "3.5e-12"


def test_05_exercise_ridge_on_few_paper_samples(images):
    frog = images["frog"]
    segments = segmentation.segment(frog, random_state=0)
    truth = toy_models.central_superpixels(segments, 6)
    model = toy_models.region_classifier(frog, np.isin(segments, list(truth)))
    found, on_truth = {}, {}
    for n in (100, 1000):
        e = explain(frog, model, segments=segments, num_samples=n, recipe="paper", labels=[1],
                    random_state=0, progress=False)  # fmt: skip
        for surrogate, k in (("ridge", None), ("k_lasso", 10)):
            coef = refit(e, surrogate=surrogate, num_features=k).coef[1]
            found[(n, surrogate)] = len(set(np.argsort(-coef)[:6].tolist()) & truth)
            on_truth[(n, surrogate)] = round(float(coef[sorted(truth)].sum()), 2)
        if n == 100:
            assert round(float(e.kernel_weights.sum()), 1) == 7.5
    assert found == {(100, "ridge"): 3, (100, "k_lasso"): 4, (1000, "ridge"): 6,
                     (1000, "k_lasso"): 6}  # fmt: skip
    assert on_truth[(100, "ridge")] == 0.63 and on_truth[(100, "k_lasso")] == 2.06
