"""helpers.data: registry, hash verification, offline errors, image conversion, Fig. 4 crop."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import data, images, paper

SOURCES_SHA256 = {  # ../shared/data/SOURCES.md
    "keras/models/imagenet_class_index.json": "a1e7a966a1f601d39e4b43e119b3e7dd4a2ad3ea08cf69847cbaf021013767bc",
    "images/cat_mouse.jpg": "8740adddbbb3e0d3d296a2d5f411f51e2f01cc5069438cb5332c4d808397d770",
    "images/dogs.png": "738f6324dc89897b2d48a63d8325a0e1594659f36ae64a1f8530a6a5491e11ba",
    "images/red_eyed_tree_frog.jpg": "afc7d55cde5ad9979b2a7dbd6db83276a1b25cab227033453cb82a0f3fc8aa8e",
    "images/image_from_paper.png": "5254112777447fa3a1a12b70b7eb3e519caebbe9abddd804f5d7cc622cf14d74",
}


def test_registry_lists_every_file_with_hash_url_and_license():
    reg = data.registry()
    for path, sha in SOURCES_SHA256.items():
        entry = reg[path]
        assert entry.hash == f"sha256:{sha}"
        assert re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/", entry.url)
        assert entry.license and entry.description
        assert not entry.optional
    weights = reg["keras/models/inception_v3_weights_tf_dim_ordering_tf_kernels.h5"]
    assert weights.optional and weights.keras_cache
    assert weights.hash == "md5:9a0d58056eeedaa3f26cb7ebd46da564"


def test_fetch_uses_the_offline_directory_in_place(offline_data, tmp_path):
    path = data.fetch("images/dogs.png")
    assert path == offline_data / "images" / "dogs.png"
    assert data.fetch("dogs.png") == path  # bare file names work too
    assert not (tmp_path / "cache").exists()  # nothing downloaded or copied


def test_unknown_name_is_a_clear_key_error():
    with pytest.raises(KeyError, match=r"not in the data registry.*Known files"):
        data.fetch("no_such_file.png")


def test_corrupted_copy_is_rejected_and_never_used(copied_data, tmp_path):
    target = copied_data / "images" / "dogs.png"
    raw = bytearray(target.read_bytes())
    raw[1000] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError) as info:
        data.load_image("dogs.png")
    message = str(info.value)
    assert str(target) in message
    assert "fails its hash check" in message and "was not used" in message
    assert "LIME_TUTORIAL_DATA" in message and "Fix:" in message
    assert data.registry()["images/dogs.png"].url in message
    assert not (tmp_path / "cache").exists()  # no fallback download attempted either
    status = {row["path"]: row for row in data.data_status()}
    assert status["images/dogs.png"]["ok"] is False
    assert status["images/cat_mouse.jpg"]["ok"] is True


def test_missing_file_offline_names_file_directory_and_fix(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LIME_TUTORIAL_DATA", str(empty))
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "cache"))
    entry = data.registry()["images/cat_mouse.jpg"]
    # A closed local port stands in for "no network", so the test never goes online.
    offline = data.RegistryEntry(**{**entry.__dict__, "url": "http://127.0.0.1:9/cat_mouse.jpg"})
    monkeypatch.setitem(data.registry(), "images/cat_mouse.jpg", offline)
    with pytest.raises(data.DataFileError) as info:
        data.fetch("images/cat_mouse.jpg", progress=False)
    message = str(info.value)
    assert "'images/cat_mouse.jpg'" in message
    assert str(empty / "images" / "cat_mouse.jpg") in message
    assert "set LIME_TUTORIAL_DATA" in message and "connect to the internet" in message
    assert not list((tmp_path / "cache").rglob("*.jpg"))  # nothing half-written


def test_a_killed_downloads_leftover_is_reaped_by_the_next_download(monkeypatch, tmp_path):
    """pooch downloads into ``tmp*`` beside the target; kill -9 leaves it (the one reaper)."""
    import os
    import time

    cache = tmp_path / "cache"
    (cache / "images").mkdir(parents=True)
    stale, fresh = cache / "images" / "tmpa1b2c3", cache / "images" / "tmpd4e5f6"
    stale.write_bytes(b"half a download")
    fresh.write_bytes(b"another download in progress")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    monkeypatch.delenv("LIME_TUTORIAL_DATA", raising=False)
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(cache))
    entry = data.registry()["images/dogs.png"]
    offline = data.RegistryEntry(**{**entry.__dict__, "url": "http://127.0.0.1:9/dogs.png"})
    monkeypatch.setitem(data.registry(), "images/dogs.png", offline)
    with pytest.raises(data.DataFileError):
        data.fetch("images/dogs.png", progress=False)
    assert not stale.exists() and fresh.read_bytes() == b"another download in progress"


def test_missing_file_without_data_dir_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv("LIME_TUTORIAL_DATA", raising=False)
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(tmp_path / "cache"))
    entry = data.registry()["images/dogs.png"]
    offline = data.RegistryEntry(**{**entry.__dict__, "url": "http://127.0.0.1:9/dogs.png"})
    monkeypatch.setitem(data.registry(), "images/dogs.png", offline)
    with pytest.raises(data.DataFileError, match="LIME_TUTORIAL_DATA is not set"):
        data.fetch("images/dogs.png", progress=False)


def test_cached_download_is_used_when_the_offline_dir_lacks_it(monkeypatch, tmp_path, data_root):
    """A verified file already in the cache is served without network."""
    cache = tmp_path / "cache"
    (cache / "images").mkdir(parents=True)
    (cache / "images" / "dogs.png").write_bytes((data_root / "images" / "dogs.png").read_bytes())
    monkeypatch.delenv("LIME_TUTORIAL_DATA", raising=False)
    monkeypatch.setenv("LIME_TUTORIAL_CACHE", str(cache))
    entry = data.registry()["images/dogs.png"]
    offline = data.RegistryEntry(**{**entry.__dict__, "url": "http://127.0.0.1:9/dogs.png"})
    monkeypatch.setitem(data.registry(), "images/dogs.png", offline)
    assert data.fetch("images/dogs.png", progress=False) == cache / "images" / "dogs.png"


def test_rgba_is_composited_over_white():
    rgba = np.array([[[10, 20, 30, 255], [200, 100, 0, 0], [100, 100, 100, 128]]], np.uint8)
    rgb = images.to_rgb_uint8(rgba)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0], [10, 20, 30])  # opaque: unchanged
    np.testing.assert_array_equal(rgb[0, 1], [255, 255, 255])  # transparent: background
    # 100 * 128/255 + 255 * 127/255 = 177.2...
    np.testing.assert_array_equal(rgb[0, 2], [177, 177, 177])


def test_grayscale_and_single_channel_are_repeated():
    gray = np.array([[0, 128], [255, 7]], np.uint8)
    for g in (gray, gray[..., None]):
        rgb = images.to_rgb_uint8(g)
        assert rgb.shape == (2, 2, 3)
        for c in range(3):
            np.testing.assert_array_equal(rgb[..., c], gray)
    np.testing.assert_array_equal(
        images.to_rgb_uint8(np.array([[0, 65535]], np.uint16))[0, :, 0], [0, 255]
    )


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((4, 4, 2), np.uint8), "got \\(4, 4, 2\\)"),
        (np.zeros((4,), np.uint8), "got \\(4,\\)"),
        (np.zeros((4, 4, 3), np.float32), "float32"),
    ],
)
def test_to_rgb_rejects_non_images(array, match):
    with pytest.raises(ValueError, match=match):
        images.to_rgb_uint8(array)


def test_load_image_gives_rgb_uint8(offline_data):
    from PIL import Image

    dogs = data.load_image("images/dogs.png")
    raw = np.asarray(Image.open(offline_data / "images" / "dogs.png"))
    assert raw.shape == (450, 450, 4)
    assert dogs.shape == (450, 450, 3) and dogs.dtype == np.uint8
    np.testing.assert_array_equal(dogs, raw[..., :3])  # alpha is 255 everywhere
    assert data.load_image("cat_mouse.jpg").shape == (427, 640, 3)
    assert data.load_image("red_eyed_tree_frog.jpg").shape == (600, 800, 3)


def test_figure4_crop_is_the_photo_not_the_gray_panels(offline_data):
    crop = paper.figure4_input()
    figure = data.load_image("images/image_from_paper.png")
    assert crop.shape == (188, 188, 3) and crop.dtype == np.uint8
    # It is a photo: varied colours, almost no pixel of the paper's gray fill (153/154).
    assert crop.std() > 40
    gray = np.all(np.abs(crop.astype(int) - 154) <= 1, axis=-1)
    assert gray.mean() < 0.01
    # Rows/columns just outside it are white page or anti-aliased border, not photo.
    assert (figure[14, 22:210] == 255).all() and (figure[209, 22:210] == 255).all()
    assert (figure[18:206, 18] == 255).all()
    # Panel (b), the same size to its right, is mostly the gray fill.
    panel_b = figure[18:206, 219:407].astype(int)
    assert np.all(np.abs(panel_b - 154) <= 1, axis=-1).mean() > 0.8
    # No corner is page white or anti-aliased border: the crop lies inside the photo.
    corners = crop[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners.min(axis=-1) < 200).all()


def test_data_cli_fetches_and_reports(offline_data, capsys):
    assert data._main([]) == 0
    out = capsys.readouterr().out
    for path in SOURCES_SHA256:
        assert f"ok       {path}" in out


def test_load_image_resized_for_inception(offline_data):
    frog = data.load_image("red_eyed_tree_frog.jpg", size=(299, 299))
    assert frog.shape == (299, 299, 3) and frog.dtype == np.uint8
    flat = images.resize_image(np.full((10, 20, 3), 77, np.uint8), (5, 4))
    assert flat.shape == (5, 4, 3) and (flat == 77).all()
    with pytest.raises(ValueError, match="positive"):
        images.resize_image(frog, (0, 10))
