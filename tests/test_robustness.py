"""Nothing wrong is ever served: one test per defect of the fault-injection pass (issue 12).

Each test reproduces the failure first (the input, file or directory that caused it) and then
checks the behaviour now: a clear error naming the argument or file and the fix, a warning
with the work kept, or a documented conversion.
"""

from __future__ import annotations

import os
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import data, files, perturbation, segmentation
from helpers import explain as ex
from helpers.cache import UncachedPredictionWarning
from helpers.explanation import Explanation, ExplanationFileError
from helpers.prediction import predict_samples

IMAGE = np.random.default_rng(0).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
SEGMENTS = segmentation.grid_segments((24, 32), 3, 4)


class Model:
    """A cheap classifier with a fingerprint, counting the images it sees."""

    def __init__(self, fingerprint: str | None = "m", outputs=None):
        self.fingerprint = fingerprint
        self.seen = 0
        self.outputs = outputs

    def __call__(self, images):
        self.seen += len(images)
        if self.outputs is not None:
            return self.outputs(images)
        x = np.asarray(images, dtype=np.float64).mean(axis=(1, 2)) / 255.0
        return np.stack([x[:, 0], 1 - x[:, 0], x[:, 1]], axis=1)


def _explain(model, **kw):
    kw.setdefault("num_samples", 40)
    kw.setdefault("labels", [0])
    return ex.explain(IMAGE, model, segments=SEGMENTS, random_state=0, progress=False, **kw)


@pytest.fixture
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "predictions"


# ----- 1. cache identity -----------------------------------------------------------------
def test_1_a_model_without_a_stable_identity_is_not_cached(cache_dir):
    """A fingerprint of None (e.g. a lambda preprocessing) disables the cache, with a warning."""
    model = Model(fingerprint=None)
    model.fingerprint = lambda: None
    with pytest.warns(UncachedPredictionWarning, match="stable identity"):
        _explain(model, cache=True)
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


def test_1_keras_fingerprint_follows_weights_architecture_and_preprocessing(
    untrained_inception,
):
    import functools

    import keras

    from helpers.models import KerasClassifier

    def build(activation):
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        outputs = keras.layers.Dense(2, activation=activation, kernel_initializer="ones")(x)
        return keras.Model(inputs, outputs)

    soft, lin = build("softmax"), build("linear")
    a, b = KerasClassifier(soft), KerasClassifier(lin)
    assert [w.tolist() for w in soft.get_weights()] == [w.tolist() for w in lin.get_weights()]
    assert a.fingerprint() != b.fingerprint()  # same weights, other final activation
    before = a.fingerprint()
    soft.set_weights([w * 2 for w in soft.get_weights()])
    assert a.fingerprint() != before  # computed at call time: new weights, new identity
    assert KerasClassifier(soft, preprocess=lambda x: x).fingerprint() is None
    scaled = functools.partial(np.multiply, 2.0)
    assert KerasClassifier(soft, preprocess=scaled).fingerprint() is None
    assert KerasClassifier(soft, preprocess=np.sqrt).fingerprint() is not None


# ----- 2. cached entries are validated like fresh outputs --------------------------------
@pytest.mark.parametrize("bad", ["nan", "shape"])
def test_2_a_bad_cache_entry_is_discarded_recomputed_and_warned_about(cache_dir, bad):
    model = Model()
    first = _explain(model, cache=True)
    (entry,) = cache_dir.glob("*.npz")
    with np.load(entry) as f:
        key, predictions = str(f["key"]), f["predictions"]
    predictions = predictions.copy()
    if bad == "nan":
        predictions[3] = np.nan
    else:
        predictions = predictions[:, :2]
    np.savez(entry, key=np.array(key), predictions=predictions)
    with pytest.warns(UncachedPredictionWarning, match="Discarded"):
        again = _explain(model, cache=True)
    assert model.seen == 80  # recomputed
    np.testing.assert_array_equal(again.coef[0], first.coef[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _explain(model, cache=True)  # the entry was replaced: served silently now
    assert model.seen == 80


# ----- 3. a failed cache write keeps the finished computation -----------------------------
def test_3_cache_write_failures_warn_and_return_the_explanation(monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(blocker))  # the cache path is a file
    model = Model()
    with pytest.warns(UncachedPredictionWarning, match="could not be written"):
        e = _explain(model, cache=True)
    assert e.predictions.shape == (40, 3) and model.seen == 40
    # a directory where the entry should be
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "c2"))
    samples = perturbation.draw_samples(40, 12, 0)
    from helpers import cache

    key = cache.prediction_key("m", IMAGE, SEGMENTS, samples, None, 32)
    (tmp_path / "c2" / "predictions" / f"{key}.npz").mkdir(parents=True)
    with pytest.warns(UncachedPredictionWarning, match="could not be written"):
        out = predict_samples(IMAGE, SEGMENTS, samples, model, progress=False, cache=True)
    assert out.shape == (40, 3)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only directories")
def test_3_read_only_cache_directory(monkeypatch, tmp_path):  # pragma: no cover - not as root
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(folder))
    with pytest.warns(UncachedPredictionWarning):
        _explain(Model(), cache=True)


# ----- 4. Explanation.load checks everything ----------------------------------------------
@pytest.fixture
def saved(tmp_path):
    return _explain(Model()).save(tmp_path / "e.npz")


def _rewrite(path: Path, out: Path, change) -> Path:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("coef"), r"missing members \['coef'\]"),
        (lambda a: a.update(segments=a["segments"] - 1), "segments are not the labels"),
        (lambda a: a.update(samples=a["samples"][:, :5]), "coef .* does not match"),
        (lambda a: a.update(predictions=a["predictions"][:10]), "predictions .* do not match"),
        (lambda a: a.update(labels=np.array([7])), r"labels \[7\] are not distinct classes"),
        (lambda a: a.update(coef=a["coef"] * np.nan), "coef holds NaN"),
        (lambda a: a.update(meta=np.frombuffer(b"{}", np.uint8)), "format is not"),
    ],
)
def test_4_load_refuses_inconsistent_files_naming_the_problem(saved, tmp_path, change, match):
    broken = _rewrite(saved, tmp_path / "broken.npz", change)
    with pytest.raises(ExplanationFileError, match=match) as info:
        Explanation.load(broken)
    assert str(broken) in str(info.value) and "Fix:" in str(info.value)


def test_4_load_refuses_unknown_members_without_decompressing_them(saved, tmp_path):
    bomb = tmp_path / "bomb.npz"
    bomb.write_bytes(saved.read_bytes())
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("extra.npy", b"\0" * 50_000_000)  # 50 MB of zeros, ~50 KB compressed
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(ExplanationFileError, match=r"unknown members \['extra'\]"):
        Explanation.load(bomb)


def test_4_load_wrong_kinds_of_path(saved, tmp_path):
    npy = tmp_path / "e.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ExplanationFileError, match=r"\.npz files"):
        Explanation.load(npy)
    with pytest.raises(FileNotFoundError, match="No saved explanation"):
        Explanation.load(tmp_path / "missing.npz")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ExplanationFileError, match=r"not an \.npz archive"):
        Explanation.load(text)
    assert Explanation.load(saved).labels == (0,)  # a good file still loads


# ----- 6. data-layer errors ---------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_6_unreadable_data_file(copied_data):  # pragma: no cover - not as root
    path = copied_data / "images" / "dogs.png"
    path.chmod(0)
    with pytest.raises(data.DataFileError, match="cannot be read"):
        data.fetch("images/dogs.png")


def test_6_unreadable_data_file_is_reported_by_data_status(copied_data, monkeypatch):
    """Simulated with a read error, since tests may run as root (CI does)."""
    real = data.file_hash

    def failing(path, algorithm="sha256"):
        if Path(path).name == "dogs.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, algorithm)

    monkeypatch.setattr(data, "file_hash", failing)
    with pytest.raises(data.DataFileError, match=r"cannot be read .*chmod a\+r"):
        data.fetch("images/dogs.png")
    rows = {row["path"]: row for row in data.data_status()}
    assert not rows["images/dogs.png"]["ok"]
    assert "cannot be read" in rows["images/dogs.png"]["problem"]


def test_6_a_directory_where_a_data_file_should_be(copied_data, tmp_path, monkeypatch):
    target = copied_data / "images" / "dogs.png"
    target.unlink()
    target.mkdir()
    with pytest.raises(data.DataFileError, match="is a directory") as info:
        data.fetch("images/dogs.png")
    assert "internet" not in str(info.value)
    rows = {row["path"]: row for row in data.data_status()}
    assert "is a directory" in rows["images/dogs.png"]["problem"]
    # the same in the download cache
    monkeypatch.delenv("LIME_TUTORIAL_DATA")
    cache = tmp_path / "cache"
    (cache / "images" / "cat_mouse.jpg").mkdir(parents=True)
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(cache))
    with pytest.raises(data.DataFileError, match="is a directory"):
        data.fetch("images/cat_mouse.jpg")


# ----- 7. leftover temporary files --------------------------------------------------------
def test_7_stale_temporary_files_are_reaped_on_the_next_write(tmp_path):
    dest = tmp_path / "e.npz"
    stale = tmp_path / ".e.0123456789ab.part.npz"
    fresh = tmp_path / ".e.ba9876543210.part.npz"
    other = tmp_path / ".f.0123456789ab.part.npz"
    for path in (stale, fresh, other):
        path.write_bytes(b"half")
    old = time.time() - 2 * files.STALE_AFTER
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    _explain(Model()).save(dest)
    assert not stale.exists()  # killed write to the same place: reaped
    assert fresh.exists()  # may be another process's write in progress: kept
    assert other.exists()  # another file's: not ours to touch
    assert Explanation.load(dest).labels == (0,)


# ----- 5. large images ---------------------------------------------------------------------
def test_5_large_images_warn_with_the_expected_peak_and_the_fix():
    from helpers.prediction import check_batch_memory
    from helpers.validation import LargeImageWarning

    with pytest.warns(
        LargeImageWarning, match=r"about 6\.4 GiB.*resize_image.*batch_size=4 or less"
    ):
        peak = check_batch_memory((3000, 4000, 3), 1, 32)
    assert peak == 32 * 3000 * 4000 * 3 * 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_batch_memory((299, 299, 3), 1, 32)  # the usual size: silent
    big = np.zeros((1500, 1500, 3), np.uint8)
    with pytest.warns(LargeImageWarning, match=r"2\.2 MP.*resize"):
        segmentation.segment(big, "slic", n_segments=4)


def test_5_explaining_a_large_image_warns_before_any_model_call():
    from helpers.validation import LargeImageWarning

    big = np.zeros((2000, 2000, 3), np.uint8)
    segments = segmentation.grid_segments((2000, 2000), 2, 2)
    model = Model()
    with pytest.warns(LargeImageWarning, match="GiB"):
        predict_samples(big, segments, np.ones((2, 4), np.uint8), model, batch_size=32,
                        progress=False)  # fmt: skip
    assert model.seen == 2


# ----- 8. inputs that were silently accepted -----------------------------------------------
def test_8_samples_whose_row_0_is_not_the_original_are_refused():
    samples = perturbation.draw_samples(30, 12, 0)
    samples[0, 3] = 0
    with pytest.raises(ValueError, match=r"row 0 must be all ones.*np\.vstack"):
        _explain(Model(), samples=samples)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([1.7], TypeError, r"integers\), got 1\.7"),
        (["1"], TypeError, r"got '1' \(str\)"),
        ([True], TypeError, "got True"),
        ([1, 1], ValueError, "name a class twice"),
    ],
)
def test_8_labels_must_be_distinct_integers(labels, error, match):
    with pytest.raises(error, match=match):
        _explain(Model(), labels=labels)


def test_8_hide_color_in_the_wrong_scale_is_refused():
    float_image = IMAGE / 255.0
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*divide it by 255"):
        ex.explain(float_image, Model(), segments=SEGMENTS, hide_color=128, num_samples=10,
                   labels=[0], random_state=0, progress=False)  # fmt: skip
    assert ex.explain(float_image, Model(), segments=SEGMENTS, hide_color=0.5, num_samples=10,
                      labels=[0], random_state=0, progress=False).params["hide_color"] == 0.5  # fmt: skip


def test_8_masked_arrays_are_refused():
    masked = np.ma.masked_array(IMAGE, mask=np.zeros_like(IMAGE, bool))
    with pytest.raises(TypeError, match=r"masked array.*filled"):
        ex.explain(masked, Model(), segments=SEGMENTS, num_samples=10, labels=[0], progress=False)


def test_8_the_explanation_does_not_alias_the_callers_image():
    image = IMAGE.copy()
    e = ex.explain(image, Model(), segments=SEGMENTS, num_samples=10, labels=[0],
                   random_state=0, progress=False)  # fmt: skip
    image[:] = 0
    assert e.image.any() and not np.shares_memory(e.image, image)


def test_8_extreme_scores_are_an_error_with_the_fix_not_nan_weights():
    def huge(images):
        v = np.asarray(images, dtype=np.float64).mean(axis=(1, 2, 3)) / 255
        return np.stack([v * 1e200, -v * 1e200], axis=1)

    with pytest.raises(FloatingPointError, match=r"label 0 could not be fitted.*Fix"):
        _explain(huge)


# ----- 9. errors that name the argument and the fix ---------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hide_color": 300}, ValueError, r"hide_color=300 is outside 0\.\.255.*Fix"),
        ({"random_state": -1}, ValueError, r"random_state must be a seed >= 0.*Fix"),
        ({"kernel_width": "wide"}, ValueError, "kernel_width must be a positive number"),
        ({"batch_size": True}, ValueError, "batch_size must be a positive integer"),
    ],
)
def test_9_bad_arguments_name_themselves(kwargs, error, match):
    model = Model()
    with pytest.raises(error, match=match):
        ex.explain(IMAGE, model, segments=SEGMENTS, num_samples=10, labels=[0], progress=False,
                   **{"random_state": 0, **kwargs})  # fmt: skip
    assert model.seen == 0  # refused before any model call


def test_9_a_classifier_returning_a_tuple_is_told_how_to_fix_it():
    def two_outputs(images):
        return Model()(images), "aux"

    with pytest.raises(ValueError, match=r"returned a tuple of 2 items.*\[0\]"):
        _explain(two_outputs)


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        (np.zeros((1, 8, 8, 4), np.uint8), "alpha"),
        (np.zeros((1, 3, 8, 8), np.uint8), "moveaxis"),
    ],
)
def test_9_batch_advice_for_rgba_and_channels_first(batch, match):
    from helpers.validation import check_image_batch

    with pytest.raises(ValueError, match=match):
        check_image_batch(batch)
