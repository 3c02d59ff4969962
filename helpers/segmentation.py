"""Step 1 of LIME: superpixels, the interpretable representation.

Introduced in ``notebooks/01_superpixels.ipynb``. Every method returns labels exactly
``0..S-1`` (see :func:`relabel`), so superpixel ``j`` is column ``j`` of the 0/1 samples.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .setting_checks import check_choice
from .validation import LARGE_SEGMENTATION_PIXELS, LargeImageWarning, check_image

__all__ = [
    "METHODS",
    "QUICKSHIFT_DEFAULTS",
    "grid_segments",
    "num_superpixels",
    "relabel",
    "segment",
]

# lime's defaults (LimeImageExplainer.explain_instance).
QUICKSHIFT_DEFAULTS = {"kernel_size": 4, "max_dist": 200, "ratio": 0.2}
METHODS = ("quickshift", "slic", "felzenszwalb", "grid")


def relabel(segments: np.ndarray) -> np.ndarray:
    """Make any integer labelling contiguous from 0, keeping the order of the labels.

    Introduced in ``notebooks/01_superpixels.ipynb``. The ``k``-th smallest label becomes
    ``k``. Labels that are already ``0..S-1`` (int64) are returned as they are, without a
    copy, so every public function can call this once at its entry at little cost.

    Parameters
    ----------
    segments
        ``(H, W)`` integer labels, any values.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` int64 labels ``0..S-1``.

    Raises
    ------
    TypeError
        If the labels are not integers.

    Examples
    --------
    >>> relabel(np.array([[1, 1, 7], [3, 3, 7]])).tolist()
    [[0, 0, 2], [1, 1, 2]]
    """
    segments = np.asarray(segments)
    if not np.issubdtype(segments.dtype, np.integer):
        raise TypeError(f"segments must hold integer labels, got dtype {segments.dtype}.")
    if segments.dtype == np.int64 and segments.size and segments.min() == 0:
        if np.bincount(segments.ravel()).all():  # every label 0..max is used: contiguous
            return segments
    _, inverse = np.unique(segments, return_inverse=True)
    return inverse.reshape(segments.shape).astype(np.int64)


def num_superpixels(segments: np.ndarray) -> int:
    """The number of superpixels S of contiguous labels ``0..S-1`` (see :func:`relabel`).

    Introduced in ``notebooks/01_superpixels.ipynb``. The labels are not checked: for labels
    with gaps this is the largest label plus one, not the number of labels.

    Parameters
    ----------
    segments
        ``(H, W)`` labels ``0..S-1``, as every function of this module returns them.

    Returns
    -------
    int
        S, the number of columns of the 0/1 samples.

    Examples
    --------
    >>> num_superpixels(np.array([[0, 0, 2], [1, 1, 2]]))
    3
    """
    return int(np.max(segments)) + 1


def grid_segments(shape: tuple[int, int], n_rows: int = 8, n_cols: int | None = None) -> np.ndarray:
    """A regular grid of ``n_rows x n_cols`` cells over an image of ``shape`` (H, W).

    Belongs with ``notebooks/01_superpixels.ipynb``, which reaches it as
    ``segment(image, "grid")``; no notebook calls it directly. Cells are numbered row by row;
    row ``r`` holds the pixel rows ``i`` with ``i * n_rows // H == r`` (columns likewise), so
    cell sizes differ by at most one pixel.

    Parameters
    ----------
    shape
        The image's ``(H, W)`` (a longer shape such as ``image.shape`` works too).
    n_rows
        Cells down the image.
    n_cols
        Cells across; ``None`` means ``n_rows``.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` int64 labels ``0..n_rows * n_cols - 1``.

    Raises
    ------
    ValueError
        If the grid has fewer than 2 cells or more rows (columns) than the image has pixels.

    Examples
    --------
    >>> grid_segments((4, 6), n_rows=2, n_cols=3).tolist()
    [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]]
    """
    n_cols = n_rows if n_cols is None else n_cols
    height, width = int(shape[0]), int(shape[1])
    if not (1 <= n_rows <= height and 1 <= n_cols <= width) or n_rows * n_cols < 2:
        raise ValueError(
            f"A {n_rows} x {n_cols} grid does not fit a {height} x {width} image with at least "
            "2 cells. Fix: choose 1 <= n_rows <= H and 1 <= n_cols <= W."
        )
    rows = np.minimum((np.arange(height) * n_rows) // height, n_rows - 1)
    cols = np.minimum((np.arange(width) * n_cols) // width, n_cols - 1)
    return (rows[:, None] * n_cols + cols[None, :]).astype(np.int64)


def segment(
    image: np.ndarray,
    segmentation: str = "quickshift",
    *,
    random_state: int | np.random.Generator = 0,
    **params: Any,
) -> np.ndarray:
    """Split an image into superpixels.

    Introduced in ``notebooks/01_superpixels.ipynb``.

    Parameters
    ----------
    image
        ``(H, W, 3)`` RGB (uint8 or float in [0, 1]); grayscale and RGBA are converted.
        Segment the image as displayed, not the model's preprocessed [-1, 1] input.
    segmentation
        The method, by the name :func:`helpers.explain.explain` takes it:
        ``"quickshift"`` (lime's default, with ``kernel_size=4, max_dist=200, ratio=0.2``),
        ``"slic"`` (default ``n_segments=100, compactness=10``), ``"felzenszwalb"`` (default
        ``scale=100, sigma=0.5, min_size=50``) or ``"grid"`` (``n_rows=8``, ``n_cols``).
    random_state
        Seed (or Generator) of quickshift's random tie-breaking (scikit-image's ``rng``); the
        other methods are deterministic. lime passes ``random_seed``, which current
        scikit-image ignores.
    **params
        Passed to the scikit-image function (or :func:`grid_segments`).

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` int64 labels exactly ``0..S-1``.

    Raises
    ------
    ValueError
        For an unknown ``segmentation``, or an image that
        :func:`helpers.validation.check_image` refuses (which may also raise ``TypeError``).

    Warns
    -----
    helpers.validation.LargeImageWarning
        For images above :data:`helpers.validation.LARGE_SEGMENTATION_PIXELS` (except
        ``"grid"``).

    Examples
    --------
    >>> image = np.zeros((32, 48, 3), np.uint8)
    >>> labels = segment(image, "grid", n_rows=4, n_cols=6)
    >>> labels.shape, num_superpixels(labels)
    ((32, 48), 24)
    """
    image = check_image(image)
    check_choice(segmentation, METHODS, "segmentation method")
    return _segment(image, segmentation, random_state, params)


def _segment(
    image: np.ndarray, segmentation: str, random_state: Any, params: dict[str, Any]
) -> np.ndarray:
    """:func:`segment` for a checked image and a known method."""
    from skimage import segmentation as sk

    pixels = image.shape[0] * image.shape[1]
    if pixels > LARGE_SEGMENTATION_PIXELS and segmentation != "grid":
        warnings.warn(
            f"Segmenting a {image.shape[1]} x {image.shape[0]} image ({pixels / 1e6:.1f} MP) "
            f"with {segmentation} is slow and takes much memory (quickshift: about 100 s and "
            "1.5 GB at 12 MP). Fix: resize it first, e.g. helpers.images.resize_image(image, "
            "(299, 299)), or use segmentation='slic' or 'grid'.",
            LargeImageWarning,
            stacklevel=3,
        )
    if segmentation == "quickshift":
        kwargs = {**QUICKSHIFT_DEFAULTS, **params}
        labels = sk.quickshift(image, rng=random_state, **kwargs)
    elif segmentation == "slic":
        kwargs = {"n_segments": 100, "compactness": 10.0, "start_label": 0, **params}
        labels = sk.slic(image, **kwargs)
    elif segmentation == "felzenszwalb":
        kwargs = {"scale": 100, "sigma": 0.5, "min_size": 50, **params}
        labels = sk.felzenszwalb(image, **kwargs)
    else:  # "grid"
        labels = grid_segments(image.shape[:2], **params)
    return relabel(labels)
