"""Pixels: converting decoded images to RGB ``uint8`` and resizing them.

Introduced in ``notebooks/00_setup.ipynb`` (:func:`to_rgb_uint8`, in the tests of an
exercise); ``notebooks/07_paper_figures.ipynb`` resizes with it. Pure numpy (and PIL for
resizing, imported when needed); the data layer and the input checks both use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decode_image", "resize_image", "to_rgb_uint8"]


def to_rgb_uint8(array: np.ndarray, *, background: int = 255) -> np.ndarray:
    """Convert a decoded image to ``(H, W, 3) uint8`` RGB.

    Introduced in ``notebooks/00_setup.ipynb``: the named image loaders of
    :mod:`helpers.data` call it, and the tests of the notebook's RGBA exercise compare the
    learner's compositing with it.

    - grayscale ``(H, W)`` or ``(H, W, 1)``: the channel is repeated three times;
    - RGBA ``(H, W, 4)``: composited over a uniform ``background`` (white by default) using the
      alpha channel; a fully opaque image is therefore returned unchanged minus its alpha;
    - ``uint16`` images are scaled to 0..255, booleans to 0/255.

    Parameters
    ----------
    array
        The decoded pixels: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``, of
        dtype ``uint8``, ``uint16`` or ``bool``.
    background
        The gray level (0..255) that transparent pixels are composited over.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8``. An RGB ``uint8`` input is returned as it is, not copied.

    Raises
    ------
    ValueError
        For shapes that are not an image, 2-channel (gray + alpha) data, or pixel types other
        than ``uint8``, ``uint16`` and ``bool``.

    Examples
    --------
    >>> to_rgb_uint8(np.array([[0, 255]], np.uint8)).tolist()
    [[[0, 0, 0], [255, 255, 255]]]
    >>> transparent_and_opaque_black = np.array([[[0, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    >>> to_rgb_uint8(transparent_and_opaque_black).tolist()
    [[[255, 255, 255], [0, 0, 0]]]
    """
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = np.round(a / 257.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"to_rgb_uint8 expects uint8, uint16 or bool pixels, got {a.dtype}.")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(
            f"to_rgb_uint8 expects (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}."
        )
    if a.shape[2] == 3:
        return a
    rgb = a[..., :3].astype(np.float64)
    alpha = a[..., 3:].astype(np.float64) / 255.0
    out = rgb * alpha + float(background) * (1.0 - alpha)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB ``uint8`` image to ``size = (height, width)`` with PIL's bilinear filter.

    Introduced in ``notebooks/07_paper_figures.ipynb``. The aspect ratio is not kept (as
    ``keras.utils.load_img(target_size=...)`` does not keep it): InceptionV3 sees 299 x 299.

    Parameters
    ----------
    image
        An image :func:`to_rgb_uint8` accepts (it is converted first).
    size
        ``(height, width)`` in pixels.

    Returns
    -------
    numpy.ndarray
        ``(height, width, 3)`` ``uint8``.

    Raises
    ------
    ValueError
        If ``size`` is not two positive integers.

    Examples
    --------
    >>> resize_image(np.zeros((60, 80, 3), np.uint8), (299, 299)).shape
    (299, 299, 3)
    """
    from PIL import Image

    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"size must be two positive integers (height, width), got {size!r}.")
    resized = Image.fromarray(to_rgb_uint8(image)).resize((width, height), Image.BILINEAR)
    return np.asarray(resized)


def _scaled_to_uint8(array: np.ndarray, mode: str) -> np.ndarray:
    """Floats in [0, 1] (mode ``F``) or integers in 0..65535 (modes ``I...``) to 0..255."""
    values = np.asarray(array, dtype=np.float64)
    if mode == "F":
        top, kind, unit = 1.0, "float", "[0, 1]"
    else:
        top, kind, unit = 65535.0, "32-bit integer", "0..65535 (16-bit)"
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not np.isfinite(values).all() or low < 0 or high > top:
        raise ValueError(
            f"The image has {kind} pixels (PIL mode {mode!r}) from {low:.6g} to {high:.6g}; "
            f"decode_image reads {kind} pixels only in {unit}, since no other range says "
            "what is black and what is white. Fix: save the image with 8-bit (or 16-bit) "
            f"integer pixels, or scale its values into {unit} first."
        )
    return np.round(values * (255.0 / top)).astype(np.uint8)


def decode_image(source: Any) -> np.ndarray:
    """Decode an image file (a path or a binary file object) to ``(H, W, 3)`` uint8 RGB.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (the data layer's loaders
    and :func:`helpers.dataset.explain_dataset` do). The rules, in order:

    - the EXIF orientation tag is applied (as image viewers do), so a photo taken on its side
      is explained upright;
    - palette images are expanded, and an alpha channel is composited over white
      (:func:`to_rgb_uint8`), grayscale is repeated to three channels;
    - 16-bit pixels are scaled by 255 / 65535; 32-bit integer pixels (PIL mode ``I``, which is
      also how PIL may read 16-bit files) must lie in 0..65535 and are scaled the same way;
      float pixels (mode ``F``) must lie in [0, 1], the float range of the whole package,
      and are scaled by 255. Other ranges are refused, not guessed.

    Parameters
    ----------
    source
        Anything :func:`PIL.Image.open` reads: a path or a binary file object.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.

    Raises
    ------
    PIL.UnidentifiedImageError
        If the data is not an image PIL can read.
    OSError
        If the file is truncated or damaged.
    ValueError
        For float pixels outside [0, 1] (or not finite) and integer pixels outside 0..65535,
        naming the range found and the fix.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("LA", (3, 2), (10, 255)).save(buffer, format="PNG")
    >>> decode_image(io.BytesIO(buffer.getvalue()))[0, 0].tolist()
    [10, 10, 10]
    >>> buffer = io.BytesIO()
    >>> Image.new("F", (3, 2), 0.5).save(buffer, format="TIFF")
    >>> decode_image(io.BytesIO(buffer.getvalue()))[0, 0].tolist()
    [128, 128, 128]
    """
    from PIL import Image, ImageOps

    with Image.open(source) as opened:
        opened.load()
        im = ImageOps.exif_transpose(opened)
        if im.mode == "F" or (im.mode.startswith("I") and im.mode != "I;16"):
            return to_rgb_uint8(_scaled_to_uint8(np.asarray(im), im.mode))
        if im.mode in ("P", "PA", "LA"):
            im = im.convert("RGBA")
        elif im.mode not in ("L", "RGB", "RGBA", "I;16", "1"):
            im = im.convert("RGB")
        array = np.asarray(im)
    return to_rgb_uint8(array)
