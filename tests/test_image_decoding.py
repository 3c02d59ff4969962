"""helpers.images.decode_image: float and 32-bit pixels, EXIF orientation (issue 21, #2 and #19)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from helpers.images import decode_image

ORIENTATION = 0x0112  # the EXIF tag


def _saved(image: Image.Image, fmt: str, **options) -> io.BytesIO:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    buffer.seek(0)
    return buffer


def test_float_pixels_in_0_1_are_scaled_by_255():
    """Issue 21 #2: a mode "F" TIFF in [0, 1] decoded almost black (max 1)."""
    values = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    decoded = decode_image(_saved(Image.fromarray(values, "F"), "TIFF"))
    assert decoded.shape == (8, 8, 3) and decoded.dtype == np.uint8
    expected = np.round(values.astype(np.float64) * 255).astype(np.uint8)
    np.testing.assert_array_equal(decoded, np.repeat(expected[..., None], 3, axis=2))
    assert decoded.max() == 255 and decoded.min() == 0


def test_32_bit_integer_pixels_are_read_as_16_bit():
    """Issue 21 #2: a mode "I" TIFF decoded almost white (PIL clips at 255)."""
    levels = np.arange(256, dtype=np.int32).reshape(16, 16)
    image = Image.fromarray(levels * 257, "I")
    decoded = decode_image(_saved(image, "TIFF"))
    np.testing.assert_array_equal(decoded[..., 0], levels)
    assert decoded.mean() == pytest.approx(127.5)  # not 254.5
    # The same gray levels as a 16-bit PNG decode to the same pixels.
    as_png = Image.fromarray((levels * 257).astype(np.uint16))
    np.testing.assert_array_equal(decode_image(_saved(as_png, "PNG")), decoded)


@pytest.mark.parametrize(
    ("array", "mode", "found"),
    [
        (np.full((4, 4), 2.0, np.float32), "F", "from 2 to 2"),
        (np.array([[0.0, np.nan]], np.float32), "F", "float pixels"),
        (np.full((4, 4), -3, np.int32), "I", "from -3 to -3"),
        (np.full((4, 4), 70000, np.int32), "I", "from 70000 to 70000"),
    ],
)
def test_pixels_outside_the_documented_range_are_refused_with_the_fix(array, mode, found):
    with pytest.raises(ValueError, match=found) as info:
        decode_image(_saved(Image.fromarray(array, mode), "TIFF"))
    assert f"PIL mode {mode!r}" in str(info.value) and "Fix:" in str(info.value)


def _red_left_blue_right(orientation: int | None) -> io.BytesIO:
    """A 16 x 8 JPEG, left half red and right half blue, with an EXIF orientation tag."""
    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :8, 0] = 255
    pixels[:, 8:, 2] = 255
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return _saved(Image.fromarray(pixels), "JPEG", quality=95, exif=exif)


def test_exif_orientation_is_applied():
    """Issue 21 #19: orientation 6 (the camera held upright, turned 90 degrees clockwise to
    view) must come out 8 wide and 16 high, red above blue, as viewers show it."""
    upright = decode_image(_red_left_blue_right(6))
    assert upright.shape == (16, 8, 3)
    top, bottom = upright[:6].reshape(-1, 3).mean(0), upright[-6:].reshape(-1, 3).mean(0)
    assert top[0] > 200 and top[2] < 50  # red
    assert bottom[2] > 200 and bottom[0] < 50  # blue
    # Orientation 3 is upside down: blue comes out on the left.
    turned = decode_image(_red_left_blue_right(3))
    assert turned.shape == (8, 16, 3)
    assert turned[:, :6, 2].mean() > 200 and turned[:, -6:, 0].mean() > 200
    # Without the tag (or with 1, "as stored") nothing moves.
    for orientation in (None, 1):
        stored = decode_image(_red_left_blue_right(orientation))
        assert stored.shape == (8, 16, 3) and stored[:, :6, 0].mean() > 200
