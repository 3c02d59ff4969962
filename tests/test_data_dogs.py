"""helpers.data.dogs: the photo of dogs.png without its white letterbox bands."""

from __future__ import annotations

import numpy as np

from helpers import data, images


def test_dogs_crops_the_white_bands_and_nothing_else(offline_data):
    full = data.load_image("images/dogs.png")  # the 450 x 450 file, bands included
    photo = data.dogs()
    assert full.shape == (450, 450, 3) and photo.shape == (299, 450, 3)
    assert photo.dtype == np.uint8
    top = next(r for r in range(450) if np.array_equal(full[r : r + 299], photo))
    assert top == 75  # rows 0-74 and 374-449 are the bands (with their blended edge rows)
    rows = full.mean(axis=(1, 2))
    assert (rows[:75] >= 240).all() and (rows[374:] >= 240).all()
    assert (rows[75:374] < 240).all()  # every photo row is kept
    assert (full[:63] == 255).all() and (full[386:] == 255).all()  # pure white at the edges
    assert photo[0].mean() < 200 and photo[-1].mean() < 200  # no white row left


def test_dogs_resizes_the_cropped_photo(offline_data):
    photo = data.dogs()
    resized = data.dogs((224, 224))
    assert resized.shape == (224, 224, 3)
    assert np.array_equal(resized, images.resize_image(photo, (224, 224)))
