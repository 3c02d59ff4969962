"""Real ImageNet predictions offline: the int8 models through helpers.models.load_model."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers import classifiers, data, images, metrics, models, paper
from helpers.explain import explain
from helpers.explanation import Explanation
from helpers.segmentation import num_superpixels

TREE_FROG = 31
ACOUSTIC_GUITAR, ELECTRIC_GUITAR = 402, 546


@pytest.fixture(scope="module")
def frog(frog224):
    return frog224


def test_registry_lists_the_models_with_pinned_urls_and_licenses():
    reg = data.registry()
    commit = "104342d2d3480b3e66203073dac24f4e2dbb4c41"
    for path in (
        "models/mobilenet_v2_1.0_224_quant.tflite",
        "models/mobilenet_v1_0.75_192_quant.tflite",
        "models/imagenet_labels.txt",
    ):
        entry = reg[path]
        assert entry.algorithm == "sha256" and len(entry.digest) == 64
        assert f"google-coral/test_data/{commit}/" in entry.url
        assert "Apache-2.0" in entry.license
        assert not entry.optional


def test_output_i_plus_1_is_keras_class_i(offline_data):
    """The label file's line i + 1 names Keras class i, for all 1000; no other shift does."""
    labels = data.fetch("models/imagenet_labels.txt").read_text().splitlines()
    index = json.loads(data.fetch("keras/models/imagenet_class_index.json").read_text())

    def norm(text):
        return text.strip().lower().replace("_", " ").replace("-", " ").replace("'", "")

    keras_names = [norm(index[str(i)][1]) for i in range(1000)]

    def matches(shift):
        return sum(
            name in {norm(part) for part in labels[i + shift].split(",")}
            for i, name in enumerate(keras_names)
        )

    assert labels[0] == "background" and len(labels) == 1001
    assert matches(1) == 1000
    assert matches(0) < 10


def test_the_raw_output_offset(mobilenet_v2, frog):
    """The frog's largest raw output is at 32 (= 31 + background); the model returns 31."""
    interpreter = mobilenet_v2._interpreters[0]
    interpreter.set_tensor(mobilenet_v2._input, frog[None])
    interpreter.invoke()
    raw = interpreter.get_tensor(mobilenet_v2._output)[0]
    assert raw.shape == (1001,) and int(np.argmax(raw)) == TREE_FROG + 1
    p = mobilenet_v2(frog[None])[0]
    assert int(np.argmax(p)) == TREE_FROG
    assert p[TREE_FROG] == (int(raw[TREE_FROG + 1]) - 0) / 256.0


def test_interface(mobilenet_v2):
    m = mobilenet_v2
    assert isinstance(m, classifiers.ImageClassifier)
    assert (m.name, m.input_size, m.untrained) == ("mobilenet_v2", (224, 224), False)
    assert len(m.class_names) == 1000 and m.class_names[TREE_FROG] == "tree_frog"
    assert "real ImageNet weights" in m.weights_source and "MobileNetV2" in m.description
    assert m.stands_in_for is None and "standing in" not in m.description
    assert len(m.fingerprint()) > 64 and m.fingerprint() == m.fingerprint()


def test_frog_is_a_tree_frog(mobilenet_v2, offline_data):
    for image in (data.load_image("red_eyed_tree_frog.jpg"), data.load_image(
            "red_eyed_tree_frog.jpg", size=(224, 224))):  # fmt: skip
        (index, name, p), *_ = mobilenet_v2.top(image, k=5)
        assert (index, name) == (TREE_FROG, "tree_frog") and p >= 0.9


def test_figure4_panel_a_has_both_guitars_in_its_top3(mobilenet_v2, offline_data):
    top3 = {index for index, _, _ in mobilenet_v2.top(paper.figure4_input(), k=3)}
    assert {ACOUSTIC_GUITAR, ELECTRIC_GUITAR} <= top3


def test_mobilenet_v1_is_a_second_real_model(offline_data):
    v1 = models.load_model("mobilenet_v1")
    assert v1.input_size == (192, 192)
    (index, name, p), *_ = v1.top(data.load_image("red_eyed_tree_frog.jpg"), k=1)
    assert (index, name) == (TREE_FROG, "tree_frog") and p >= 0.5
    assert v1.fingerprint() != models.load_model("mobilenet_v2").fingerprint()


def test_batches_split_across_interpreters_equal_one_by_one(mobilenet_v2, frog, offline_data):
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, size=(7, 100, 120, 3), dtype=np.uint8)
    pictures[0] = images.resize_image(frog, (100, 120))
    two_workers = models.load_model("mobilenet_v2", num_workers=2, num_threads=1)
    one_thread = models.load_model("mobilenet_v2", num_workers=1, num_threads=1)
    assert mobilenet_v2.num_workers == 1 and mobilenet_v2.num_threads >= 1
    assert (two_workers.num_workers, two_workers.num_threads) == (2, 1)
    batch = mobilenet_v2(pictures)
    assert batch.shape == (7, 1000) and batch.dtype == np.float64
    np.testing.assert_array_equal(batch, two_workers(pictures))
    np.testing.assert_array_equal(batch, one_thread(pictures))
    single = np.concatenate([mobilenet_v2(pictures[i : i + 1]) for i in range(7)])
    np.testing.assert_array_equal(batch, single)
    # float input in [0, 1] is the same image
    np.testing.assert_array_equal(mobilenet_v2(pictures / 255.0), batch)
    assert mobilenet_v2(pictures[:0]).shape == (0, 1000)


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        (np.zeros((8, 8, 3), np.uint8), ValueError, r"image\[None\]"),
        (np.zeros((1, 8, 8, 4), np.uint8), ValueError, "alpha"),
        (np.zeros((1, 3, 8, 8), np.uint8), ValueError, "moveaxis"),
        (np.full((1, 8, 8, 3), 2.0), ValueError, r"\[0, 1\]"),
        (np.zeros((1, 8, 8, 3), np.int32), TypeError, "int32"),
    ],
)
def test_bad_batches_get_the_shared_checks(mobilenet_v2, images, error, match):
    with pytest.raises(error, match=match):
        mobilenet_v2(images)


def test_deleting_lime_top_superpixels_lowers_the_frog_score(mobilenet_v2, frog):
    """Over seeds 0..4: hiding LIME's top 10 % lowers p(tree frog) by a median >= 0.15, and by
    >= 3 x the median drop of random sets of the same size."""
    drops, random_medians = [], []
    for seed in range(5):
        e = explain(frog, mobilenet_v2, labels=[TREE_FROG], random_state=seed, progress=False)
        result = metrics.deletion_test(e, mobilenet_v2, TREE_FROG, random_state=seed)
        assert result["size"] == int(np.ceil(0.1 * num_superpixels(e.segments)))
        drops.append(result["drop"])
        random_medians.append(result["random_median"])
    assert np.median(drops) >= 0.15
    assert np.median(drops) >= 3 * np.median(random_medians)


def test_same_seed_same_explanation_bytes(mobilenet_v2, frog, tmp_path):
    a = explain(frog, mobilenet_v2, top_labels=2, num_samples=300, random_state=7, progress=False)
    b = explain(frog, mobilenet_v2, top_labels=2, num_samples=300, random_state=7, progress=False)
    assert a.save(tmp_path / "a.npz").read_bytes() == b.save(tmp_path / "b.npz").read_bytes()
    assert a.labels[0] == TREE_FROG
    loaded = Explanation.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(loaded.coef[TREE_FROG], a.coef[TREE_FROG])


def test_corrupted_model_file_is_refused(copied_data):
    path = copied_data / "models" / "mobilenet_v2_1.0_224_quant.tflite"
    content = bytearray(path.read_bytes())
    content[1000] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(data.DataFileError, match="fails its hash check"):
        models.load_model("mobilenet_v2")


def test_unknown_model_name():
    with pytest.raises(ValueError, match="mobilenet_v2"):
        models.load_model("resnet50")


def test_auto_offline_is_mobilenet_v2_with_a_note_and_no_tensorflow(data_root, tmp_path):
    """Offline, "auto" gives the real MobileNetV2, says it stands in, never imports TF."""
    code = """
import sys, warnings
from helpers import models
from helpers.segmentation import num_superpixels
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m = models.load_model("auto")
notes = [w for w in caught if issubclass(w.category, models.StandInModelWarning)]
print(m.name, m.untrained, m.stands_in_for, len(notes), "tensorflow" in sys.modules)
print(m.description)
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LIME_TUTORIAL_DATA": str(data_root),
        "LIME_TUTORIAL_CACHE": str(tmp_path / "cache"),
        "KERAS_HOME": str(tmp_path / "keras"),
        "LIME_TUTORIAL_UNTRAINED": "1",  # must not matter: "auto" is never untrained
    }
    # No network: the reachability probe must fail fast. Point it at a closed local port.
    code = (
        "from helpers import models as _m\n"
        "_probe = _m._inception_weights_reachable\n"
        "_m._inception_weights_reachable = lambda url, timeout=3.0: "
        "_probe('http://127.0.0.1:9/w.h5', timeout)\n" + code
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    first, description = out.stdout.strip().splitlines()
    assert first == "mobilenet_v2 False InceptionV3 1 False"
    assert "standing in for InceptionV3" in description


def test_inception_v3_by_name_offline_is_the_clear_error(monkeypatch, tmp_path, offline_data):
    import keras  # noqa: F401
    from keras.src.applications import inception_v3
    from keras.src.backend import config as keras_config

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.setattr(inception_v3, "WEIGHTS_PATH", "http://127.0.0.1:9/inception_v3.h5")
    with pytest.raises(models.WeightsUnavailableError, match=r"load_model\('mobilenet_v2'\)"):
        models.load_model("inception_v3")


def test_untrained_only_by_name(untrained_inception):
    assert untrained_inception.untrained and "UNTRAINED" in untrained_inception.description
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert metrics.randomized_copy(untrained_inception, random_state=1).untrained
