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
