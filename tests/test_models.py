"""helpers.models: real-weights error, untrained opt-in, class index offline, classifier_fn."""

from __future__ import annotations

import errno
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import classifiers, data, imagenet, models

CLASS_INDEX_SHA256 = "a1e7a966a1f601d39e4b43e119b3e7dd4a2ad3ea08cf69847cbaf021013767bc"


@pytest.fixture
def no_real_weights(monkeypatch, tmp_path, offline_data):
    """An empty Keras cache and a weights URL that cannot be reached: the offline situation."""
    import keras  # noqa: F401  (so that keras' config module exists)
    from keras.src.applications import inception_v3
    from keras.src.backend import config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.setattr(inception_v3, "WEIGHTS_PATH", "http://127.0.0.1:9/inception_v3.h5")
    monkeypatch.delenv("LIME_TUTORIAL_UNTRAINED", raising=False)
    return tmp_path / "keras"


def test_offline_without_weights_is_a_clear_error(no_real_weights):
    with pytest.raises(models.WeightsUnavailableError) as info:
        models.load_inception_v3()
    message = str(info.value)
    assert "could not be loaded" in message
    assert "LIME_TUTORIAL_UNTRAINED=1" in message and "RANDOM" in message
    assert "LIME_TUTORIAL_DATA/keras/models/" in message
    with pytest.raises(models.WeightsUnavailableError):
        models.load_inception_v3("imagenet")


def test_untrained_opt_in_warns_and_marks_the_model(no_real_weights, monkeypatch):
    monkeypatch.setenv("LIME_TUTORIAL_UNTRAINED", "1")
    with pytest.warns(models.UntrainedWeightsWarning, match="MEANINGLESS"):
        model = models.load_inception_v3()
    assert model.untrained is True
    assert "untrained" in model.weights_source
    assert model.input_size == (299, 299)
    banner = models.untrained_banner(model)
    assert "UNTRAINED" in banner and "MEANINGLESS" in banner
    # The class index came into the (private) Keras cache from the offline directory.
    assert (no_real_weights / "models" / "imagenet_class_index.json").is_file()


def test_untrained_weights_are_seeded(untrained_inception):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", models.UntrainedWeightsWarning)
        again = models.load_inception_v3("untrained", random_state=0)
        other = models.load_inception_v3("untrained", random_state=1)
    assert classifiers.model_fingerprint(again.model) == classifiers.model_fingerprint(
        untrained_inception.model
    )
    assert classifiers.model_fingerprint(other.model) != classifiers.model_fingerprint(
        untrained_inception.model
    )
    assert again.fingerprint() == untrained_inception.fingerprint() != other.fingerprint()
    assert again.name == "inception_v3_untrained" and again.class_names[31] == "tree_frog"


def test_bad_weights_argument():
    with pytest.raises(ValueError, match="weights must be"):
        models.load_inception_v3("resnet")


def test_background_offset_check_names_the_wrong_line(offline_data, tmp_path, monkeypatch):
    """The int8 models' label file must be Keras' index shifted by one; line 33 is class 31."""
    imagenet.check_background_offset()  # the registry's file passes
    lines = data.fetch(imagenet.IMAGENET_LABELS).read_text().splitlines()
    assert lines[0] == "background" and lines[32] == "tree frog, tree-frog"
    lines[32], lines[33] = lines[33], lines[32]  # classes 31 and 32 swapped
    swapped = tmp_path / "imagenet_labels.txt"
    swapped.write_text("\n".join(lines) + "\n")
    real_fetch = imagenet.fetch
    monkeypatch.setattr(
        imagenet,
        "fetch",
        lambda name, **kw: swapped if name == imagenet.IMAGENET_LABELS else real_fetch(name, **kw),
    )
    with pytest.raises(ValueError, match=r"line 33 \('tailed frog.*Keras class 31 \('tree_frog'\)"):
        imagenet.check_background_offset()
    swapped.write_text("\n".join(lines[1:]) + "\n")  # no background line
    with pytest.raises(ValueError, match="1001 lines starting with 'background'"):
        imagenet.check_background_offset()


def test_class_index_found_offline(offline_data, tmp_path, monkeypatch):
    names = imagenet.imagenet_class_names()
    assert len(names) == 1000 and names[31] == "tree_frog"
    p = np.zeros((2, 1000))
    p[0, 31], p[0, 30], p[1, 1] = 0.7, 0.2, 1.0
    decoded = imagenet.decode_predictions(p, top=2)
    assert decoded[0] == [(31, "tree_frog", 0.7), (30, "bullfrog", 0.2)]
    assert decoded[1][0] == (1, "goldfish", 1.0)
    with pytest.raises(ValueError, match=r"\(B, 1000\)"):
        imagenet.decode_predictions(np.zeros(1000))
    # Keras' own decode_predictions finds the file in its cache without network.
    import keras  # noqa: F401
    from keras.src.applications import imagenet_utils
    from keras.src.backend import config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", "http://127.0.0.1:9/index.json")
    models.install_keras_files(download=False)
    z = np.zeros((1, 1000))
    z[0, 31] = 1.0
    assert imagenet_utils.decode_predictions(z, top=1)[0][0][:2] == ("n01644373", "tree_frog")


def test_install_keras_files_copies_class_index_atomically(copied_data, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(models, "keras_home", lambda: tmp_path / "keras")
    installed = models.install_keras_files(download=False)
    dest = tmp_path / "keras" / "models" / "imagenet_class_index.json"
    assert installed == [dest]
    assert data.file_hash(dest) == CLASS_INDEX_SHA256
    assert not list(dest.parent.glob("*.part"))
    # A corrupted cache copy is replaced by the verified one.
    dest.write_text("{}")
    models.install_keras_files(download=False)
    assert data.file_hash(dest) == CLASS_INDEX_SHA256


def _private_keras_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty Keras cache for this test, whether or not Keras is imported already."""
    cache = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(cache))
    if "keras" in sys.modules:
        from keras.src.backend import config as keras_config

        monkeypatch.setattr(keras_config, "_KERAS_DIR", str(cache))
    return cache


def _read_only(cache: Path, monkeypatch) -> None:
    """Every copy into ``cache`` fails as on a read-only file system (root ignores chmod)."""
    copy = shutil.copyfile

    def refuse(src, dst, *args, **kwargs):
        if Path(dst).is_relative_to(cache):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", refuse)


def test_models_cli_fills_the_keras_cache(offline_data, tmp_path, monkeypatch, capsys):
    """`make data` runs `python -m helpers.models`."""
    cache = _private_keras_cache(tmp_path, monkeypatch)
    assert models._main([]) == 0
    dest = cache / "models" / "imagenet_class_index.json"
    assert f"keras    {dest}" in capsys.readouterr().out
    assert data.file_hash(dest) == CLASS_INDEX_SHA256


def test_auto_falls_back_when_the_keras_cache_is_read_only(offline_data, tmp_path, monkeypatch):
    """Issue 21 #14: a classroom's shared, read-only Keras cache gave OSError, not MobileNetV2."""
    cache = _private_keras_cache(tmp_path, monkeypatch)
    _read_only(cache, monkeypatch)
    monkeypatch.setattr(models, "_inception_weights_reachable", lambda url, timeout=3.0: False)
    with pytest.warns(models.StandInModelWarning, match="MobileNetV2"):
        model = models.load_model("auto")
    assert model.name == "mobilenet_v2" and model.stands_in_for == "InceptionV3"
    assert model.class_names[31] == "tree_frog"
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # nothing half-written
    # Filling the cache on purpose (make data) says which directory and what to do.
    with pytest.raises(OSError, match=r"Cannot write .*KERAS_HOME") as info:
        models.install_keras_files(download=False)
    assert info.value.errno == errno.EROFS and str(cache / "models") in str(info.value)
    assert models._main([]) == 1


def test_classifier_fn_batches_resizes_and_pads(untrained_inception, rng):
    predict = models.classifier_fn(untrained_inception, batch_size=4)
    images = rng.integers(0, 256, size=(6, 64, 80, 3), dtype=np.uint8)
    p = predict(images)
    assert p.shape == (6, 1000) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    # Same images one by one (padded batches) give the same probabilities.
    single = np.concatenate([predict(images[i : i + 1]) for i in range(6)])
    np.testing.assert_allclose(single, p, rtol=1e-5, atol=1e-7)
    # uint8 and float in [0, 1] are the same input.
    np.testing.assert_allclose(predict(images.astype(np.float32) / 255.0), p, rtol=1e-5, atol=1e-7)
    assert predict.untrained is True and predict.batch_size == 4


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        (np.zeros((2, 8, 8), np.uint8), ValueError, r"\(B, H, W, 3\)"),
        (np.full((1, 8, 8, 3), 2.0), ValueError, r"\[0, 1\]"),
        (np.full((1, 8, 8, 3), np.nan), ValueError, "finite"),
        (np.zeros((1, 8, 8, 3), np.int32), TypeError, "int32"),
    ],
)
def test_classifier_fn_rejects_bad_batches(untrained_inception, images, error, match):
    predict = models.classifier_fn(untrained_inception, batch_size=2)
    with pytest.raises(error, match=match):
        predict(images)


def test_classifier_fn_batch_size_must_be_positive(untrained_inception):
    with pytest.raises(ValueError, match="batch_size"):
        models.classifier_fn(untrained_inception, batch_size=0)
