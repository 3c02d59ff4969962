"""Prediction cache (opt-in, keyed, never stale) and memory bounded by the batch."""

from __future__ import annotations

import numpy as np
import pytest
from profiling import peak_rss_of_explain  # benchmarks/profiling.py (pytest's pythonpath)

from helpers import explain as ex
from helpers import segmentation

IMG = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
SEG = segmentation.grid_segments((32, 32), 4, 4)


class CountingModel:
    """A cheap classifier with a fingerprint, counting the images it sees."""

    def __init__(self, fingerprint="model-a", scale=1.0):
        self.fingerprint = fingerprint
        self.scale = scale
        self.seen = 0

    def __call__(self, images):
        self.seen += len(images)
        m = images.reshape(len(images), -1, 3).mean(axis=1) / 255.0 * self.scale
        return np.column_stack([m, 1 - m.mean(axis=1)])


@pytest.fixture
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path))
    monkeypatch.delenv("LIME_TUTORIAL_PREDICTION_CACHE", raising=False)
    return tmp_path / "predictions"


def _run(model, **kw):
    kw.setdefault("segments", SEG)
    kw.setdefault("random_state", 0)
    return ex.explain(IMG, model, num_samples=50, labels=[0, 3], progress=False, **kw)


def test_warm_run_skips_the_model_and_gives_identical_results(cache_dir, tmp_path):
    model = CountingModel()
    cold = _run(model, cache=True)
    assert model.seen == 50 and len(list(cache_dir.glob("*.npz"))) == 1
    warm = _run(model, cache=True)
    assert model.seen == 50  # no model call at all
    assert cold.save(tmp_path / "a.npz").read_bytes() == warm.save(tmp_path / "b.npz").read_bytes()


def test_cache_is_off_by_default_and_on_by_env(cache_dir, monkeypatch):
    model = CountingModel()
    _run(model)
    _run(model)
    assert model.seen == 100 and not cache_dir.exists()
    monkeypatch.setenv("LIME_TUTORIAL_PREDICTION_CACHE", "1")
    _run(model)
    _run(model)
    assert model.seen == 150


@pytest.mark.parametrize(
    "change",
    ["model", "image", "segments", "samples", "fill", "batch"],
)
def test_any_change_of_key_recomputes(cache_dir, change):
    model = CountingModel()
    _run(model, cache=True)
    kwargs = {"cache": True}
    image = IMG
    if change == "model":
        model = CountingModel("model-b", scale=0.5)
    elif change == "image":
        image = IMG.copy()
        image[0, 0, 0] ^= 1
    elif change == "segments":
        kwargs["segments"] = segmentation.grid_segments((32, 32), 4, 5)
    elif change == "samples":
        kwargs["random_state"] = 1
    elif change == "fill":
        kwargs["hide_color"] = 0
    else:
        kwargs["batch_size"] = 7
    before = model.seen
    kwargs.setdefault("segments", SEG)
    kwargs.setdefault("random_state", 0)
    ex.explain(image, model, num_samples=50, labels=[0], progress=False, **kwargs)
    assert model.seen - before == 50
    assert len(list(cache_dir.glob("*.npz"))) == 2


def test_cache_needs_a_model_identity(cache_dir, monkeypatch):
    def anonymous(images):
        return CountingModel()(images)

    with pytest.raises(ValueError, match="fingerprint"):
        _run(anonymous, cache=True)
    monkeypatch.setenv("LIME_TUTORIAL_PREDICTION_CACHE", "1")
    with pytest.warns(UserWarning, match="not cached"):
        _run(anonymous)


def test_damaged_entry_is_recomputed(cache_dir):
    model = CountingModel()
    _run(model, cache=True)
    (entry,) = cache_dir.glob("*.npz")
    entry.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="damaged"):
        _run(model, cache=True)
    assert model.seen == 100


def test_classifier_fn_fingerprint_identifies_weights(untrained_inception):
    from helpers.models import classifier_fn

    a = classifier_fn(untrained_inception, batch_size=2).fingerprint()
    assert a == classifier_fn(untrained_inception, batch_size=8).fingerprint()
    assert len(a.split(":")[0]) == 64


def test_peak_memory_does_not_grow_with_the_number_of_samples():
    """10x the samples costs only the samples and predictions (well under 100 MB)."""
    small, large = peak_rss_of_explain(1000), peak_rss_of_explain(10000)
    # Materialising 10 000 perturbed 299x299 images would take 2.7 GB.
    assert large - small < 100, (small, large)
