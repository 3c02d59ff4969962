"""Pipeline behaviour: seeds, saving, the region model, properties, and bad input."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pipeline_fixtures import quadrant_softmax, small

from helpers import explain as ex
from helpers import kernels, perturbation, segmentation, surrogates, toy_models
from helpers.fitting import ConstantPredictionWarning
from helpers.segmentation import num_superpixels


@pytest.fixture(scope="module")
def frog(data_root):
    os.environ.setdefault("LIME_TUTORIAL_DATA", str(data_root))
    return small("red_eyed_tree_frog.jpg", 72)


@pytest.fixture(scope="module")
def frog_segments(frog):
    return segmentation.segment(frog)


# ----- segmentation --------------------------------------------------------------------------
def test_segment_counts_for_fixed_parameters(frog):
    counts = {
        "quickshift": num_superpixels(segmentation.segment(frog)),
        "slic": num_superpixels(segmentation.segment(frog, "slic", n_segments=30)),
        "felzenszwalb": num_superpixels(segmentation.segment(frog, "felzenszwalb", scale=50)),
        "grid": num_superpixels(segmentation.segment(frog, "grid", n_rows=4, n_cols=6)),
    }
    assert counts["grid"] == 24
    for method, count in counts.items():
        labels = segmentation.segment(frog, method) if method == "quickshift" else None
        assert 2 <= count <= 400, method
        if labels is not None:
            np.testing.assert_array_equal(np.unique(labels), np.arange(count))
    # Same seed, same superpixels; quickshift is deterministic given its seed.
    np.testing.assert_array_equal(
        segmentation.segment(frog, random_state=3), segmentation.segment(frog, random_state=3)
    )


def test_relabel_and_grid():
    np.testing.assert_array_equal(
        segmentation.relabel(np.array([[1, 1, 7], [3, 3, 7]])), [[0, 0, 2], [1, 1, 2]]
    )
    g = segmentation.grid_segments((10, 9), 2, 3)
    assert g.shape == (10, 9) and g.max() == 5
    assert (np.bincount(g.ravel()) == 15).all()
    with pytest.raises(ValueError, match="grid"):
        segmentation.grid_segments((4, 4), 1, 1)
    with pytest.raises(ValueError, match="Unknown segmentation"):
        segmentation.segment(np.zeros((16, 16, 3), np.uint8), "watershed")


# ----- seeds and saving ----------------------------------------------------------------------
def _explain(image, seed, **kw):
    return ex.explain(
        image, quadrant_softmax, num_samples=80, random_state=seed, progress=False, **kw
    )


def test_same_seed_gives_byte_identical_files(frog, tmp_path):
    a = _explain(frog, 7).save(tmp_path / "a.npz")
    b = _explain(frog, 7).save(tmp_path / "b.npz")
    c = _explain(frog, 8).save(tmp_path / "c.npz")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_unseeded_explanations_record_their_seed(frog):
    first = _explain(frog, None)
    again = _explain(frog, first.params["random_state"])
    np.testing.assert_array_equal(first.samples, again.samples)
    assert first.coef.keys() == again.coef.keys()
    for label in first.labels:
        np.testing.assert_array_equal(first.coef[label], again.coef[label])


def test_save_load_roundtrip_without_pickle(frog, tmp_path):
    e = _explain(frog, 1, hide_color="blur", surrogate="lasso_path", num_features=4)
    path = e.save(tmp_path / "sub" / "e.npz")
    loaded = ex.Explanation.load(path)
    assert loaded.labels == e.labels and loaded.params == e.params
    for name in ("image", "segments", "samples", "predictions", "distances", "kernel_weights"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(e, name))
    for label in e.labels:
        np.testing.assert_array_equal(loaded.coef[label], e.coef[label])
        assert loaded.as_list(label) == e.as_list(label)
        assert len(loaded.as_list(label)) == 4  # lasso kept 4 superpixels
    with np.load(path, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
    with pytest.raises(ValueError, match=r"\.npz"):
        e.save(tmp_path / "e.pickle")


def test_save_failure_leaves_existing_file_intact(frog, tmp_path, monkeypatch):
    e = _explain(frog, 1)
    path = e.save(tmp_path / "e.npz")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        _explain(frog, 2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["e.npz"]


def test_labels_are_what_is_explained(frog):
    e = _explain(frog, 0, labels=[4, 1])
    assert e.labels == (4, 1)  # top_labels is ignored when labels are given
    top = _explain(frog, 0, top_labels=3)
    assert top.labels == tuple(np.argsort(-top.predictions[0], kind="stable")[:3].tolist())
    heat = e.heatmap(4)
    np.testing.assert_array_equal(heat, e.coef[4][e.segments])
    with pytest.raises(KeyError, match="not explained"):
        e.heatmap(2)


# ----- the region model: the explanation finds the known evidence ----------------------------
def test_region_model_top5_inside_the_region_for_95_percent_of_seeds(frog, frog_segments):
    inside = toy_models.central_superpixels(frog_segments, 8)
    region = np.isin(frog_segments, list(inside))
    model = toy_models.region_classifier(frog, region)
    hits = 0
    for seed in range(20):
        e = ex.explain(
            frog, model, segments=frog_segments, num_samples=300, labels=[1],
            random_state=seed, progress=False,
        )  # fmt: skip
        top5 = [j for j, w in e.as_list(1) if w > 0][:5]
        hits += len(top5) == 5 and set(top5) <= inside
    assert hits / 20 >= 0.95


def test_linear_model_weights_are_recovered(frog, frog_segments):
    S = num_superpixels(frog_segments)
    w = np.random.default_rng(0).normal(size=S)
    model = toy_models.linear_superpixel_classifier(frog, frog_segments, w, bias=0.5)
    e = ex.explain(
        frog, model, segments=frog_segments, num_samples=2000, labels=[1],
        hide_color=(255, 0, 255), surrogate="ols", random_state=0, progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(e.coef[1], w, atol=1e-6)
    assert e.intercept[1] == pytest.approx(0.5, abs=1e-6)


# ----- properties ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    # cosine distances of 0/1 samples to the all-ones row lie in [0, 1]
    d=arrays(np.float64, st.integers(2, 30), elements=st.floats(0, 1)),
    width=st.floats(0.05, 5),
)
def test_kernel_weights_in_unit_interval_and_decreasing(d, width):
    w = kernels.exponential_kernel(d, width)
    assert (w > 0).all() and (w <= 1).all()
    order = np.argsort(d, kind="stable")
    assert (np.diff(w[order]) <= 0).all()
    assert kernels.exponential_kernel(np.zeros(1), width)[0] == 1.0


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(8, 20), st.integers(8, 20)),
    cells=st.integers(2, 6),
    n=st.integers(1, 12),
    hide=st.sampled_from([None, 0, (10, 250, 3), "blur"]),
)
def test_row_zero_and_all_ones_samples_keep_the_image(seed, shape, cells, n, hide):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    segments = segmentation.grid_segments(shape, 2, cells)
    samples = perturbation.draw_samples(n, num_superpixels(segments), rng)
    out = perturbation.perturb(image, segments, samples, hide_color=hide)
    np.testing.assert_array_equal(out[0], image)  # row 0 is the original
    ones = np.ones((3, num_superpixels(segments)), np.uint8)
    np.testing.assert_array_equal(
        perturbation.perturb(image, segments, ones, hide_color=hide)[1], image
    )
    zeros = np.zeros((1, num_superpixels(segments)), np.uint8)
    np.testing.assert_array_equal(
        perturbation.perturb(image, segments, zeros, hide_color=hide)[0],
        perturbation.hidden_image(image, segments, hide),
    )


def test_draw_samples_and_distances():
    m = perturbation.draw_samples(4000, 10, np.random.default_rng(0))
    assert m.shape == (4000, 10) and m.dtype == np.uint8 and (m[0] == 1).all()
    assert abs(m[1:].mean() - 0.5) < 0.02
    assert (
        perturbation.draw_samples(3, 4, np.random.default_rng(0), keep_original=False) == m[:3, :4]
    ).any()
    d = kernels.cosine_distance(np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]]))
    np.testing.assert_allclose(d, [0.0, 0.5, 1.0])
    img = np.zeros((2, 2, 1))
    pert = np.ones((1, 2, 2, 1))
    assert kernels.pixel_l2_distance(img, pert)[0] == 2.0
    # random_state: an int seed is the same as its Generator; anything else is refused
    np.testing.assert_array_equal(
        perturbation.draw_samples(5, 3, 4),
        perturbation.draw_samples(5, 3, np.random.default_rng(4)),
    )
    with pytest.raises(TypeError, match="random_state must be an int seed, a numpy Generator"):
        perturbation.draw_samples(3, 3, "0")


def test_hidden_image_options():
    image = np.array([[[0, 0, 0], [10, 20, 31]], [[100, 100, 100], [200, 0, 1]]], np.uint8)
    image = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)  # 8 x 8
    segments = np.zeros((8, 8), int)
    segments[:, 4:] = 1
    mean = perturbation.hidden_image(image, segments)
    # column 0..3: mean of [0,0,0] and [100,100,100] = 50; columns 4..7: (105, 10, 16) truncated
    np.testing.assert_array_equal(mean[0, 0], [50, 50, 50])
    np.testing.assert_array_equal(mean[0, 7], [105, 10, 16])
    np.testing.assert_array_equal(
        perturbation.hidden_image(image, segments, 7), np.full_like(image, 7)
    )
    assert perturbation.hidden_image(image, segments, "blur").dtype == np.uint8
    # a non-contiguous view of the same image gives the same fill
    fortran = np.asfortranarray(image)
    np.testing.assert_array_equal(perturbation.hidden_image(fortran, segments), mean)
    with pytest.raises(ValueError, match="hide_color"):
        perturbation.hidden_image(image, segments, "gray")
    with pytest.raises(ValueError, match="one value per channel"):
        perturbation.hidden_image(image, segments, (1, 2))


def test_weighted_ridge_matches_normal_equations():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(50, 4)).astype(float)
    y = rng.normal(size=50)
    w = rng.uniform(0.1, 1, size=50)
    coef, intercept = surrogates.weighted_ridge(X, y, w, alpha=0.0)
    A = np.column_stack([np.ones(50), X])
    beta = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * y))
    np.testing.assert_allclose([intercept, *coef], beta, atol=1e-10)
    assert surrogates.weighted_r2(np.ones(3), np.ones(3), np.ones(3)) == 1.0


# ----- bad input: one test per case ----------------------------------------------------------
IMG = np.random.default_rng(0).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
SEG = segmentation.grid_segments((16, 16), 2, 2)


def _run(image=IMG, fn=quadrant_softmax, **kw):
    kw.setdefault("segments", SEG)
    return ex.explain(
        image, fn, num_samples=kw.pop("num_samples", 20), random_state=0, progress=False, **kw
    )


def test_bad_non_array():
    with pytest.raises(TypeError, match="numpy array"):
        _run(IMG.tolist())


def test_bad_one_channel_last():
    with pytest.raises(ValueError, match="one channel last"):
        _run(IMG[..., :1])


def test_bad_channels_first():
    with pytest.raises(ValueError, match=r"channels-first.*moveaxis"):
        _run(np.moveaxis(IMG, -1, 0))


def test_bad_non_finite():
    bad = IMG / 255.0
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        _run(bad)


def test_bad_float_range():
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*divide"):
        _run(IMG.astype(np.float32))


def test_bad_integer_type():
    with pytest.raises(TypeError, match=r"int32.*uint8"):
        _run(IMG.astype(np.int32))


def test_bad_too_small():
    with pytest.raises(ValueError, match="at least 8 x 8"):
        _run(IMG[:7], segments=SEG[:7])


def test_bad_segments_shape():
    with pytest.raises(ValueError, match=r"segments has shape \(8, 8\).*\(16, 16\)"):
        _run(segments=SEG[:8, :8])


def test_bad_single_superpixel():
    with pytest.raises(ValueError, match="single superpixel"):
        _run(segments=np.zeros((16, 16), int))


def test_bad_num_samples():
    with pytest.raises(ValueError, match="num_samples must be at least 2"):
        _run(num_samples=1)


def test_bad_labels():
    with pytest.raises(ValueError, match=r"labels \[6\] are outside.*0..5"):
        _run(labels=[0, 6])


def test_bad_classifier_batch_length():
    with pytest.raises(ValueError, match="returned 1 rows for a batch of"):
        _run(fn=lambda x: quadrant_softmax(x)[:1])


def test_bad_classifier_not_2d():
    with pytest.raises(ValueError, match="2-D array"):
        _run(fn=lambda x: quadrant_softmax(x)[:, 0])


def test_bad_classifier_non_finite():
    def nan_model(x):
        p = quadrant_softmax(x)
        p[0, 0] = np.inf
        return p

    with pytest.raises(ValueError, match="NaN, infinite"):
        _run(fn=nan_model)


def test_constant_predictions_warn_and_give_zero_weights():
    with pytest.warns(ConstantPredictionWarning, match="same"):
        e = _run(fn=lambda x: np.tile([0.25, 0.75], (len(x), 1)), labels=[1])
    np.testing.assert_array_equal(e.coef[1], 0.0)
    assert e.intercept[1] == pytest.approx(0.75)


def test_grayscale_and_rgba_are_converted():
    gray = IMG[..., 0]
    e = _run(gray)
    assert e.image.shape == (16, 16, 3)
    np.testing.assert_array_equal(e.image[..., 2], gray)
    rgba = np.concatenate([IMG, np.full((16, 16, 1), 255, np.uint8)], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_run(rgba).image, IMG)
