"""Ground-truth models: classifiers whose evidence we know, usable as ``classifier_fn``.

Introduced in ``notebooks/05_surrogate_fitting.ipynb``. They need no weights and run offline
in microseconds, so every explanation of them can be checked against the truth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .segmentation import relabel

__all__ = [
    "central_superpixels",
    "linear_grid_example",
    "linear_superpixel_classifier",
    "region_classifier",
]


def _as_unit(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def region_classifier(
    reference: np.ndarray, region: np.ndarray, *, sharpness: float = 10.0
) -> Callable[[np.ndarray], np.ndarray]:
    """A two-class model that looks only at the pixels of ``region``.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``. Class 1's probability is
    ``sigmoid(sharpness * (0.5 - 10 * d))`` where ``d`` is the mean absolute difference
    (on a 0..1 scale) between the input and ``reference`` over the ``region`` pixels only.
    Any change outside the region leaves the output exactly unchanged.

    Parameters
    ----------
    reference
        ``(H, W, 3)`` the image the model "recognises".
    region
        ``(H, W)`` boolean, the pixels the model looks at.
    sharpness
        Slope of the sigmoid: larger values make the model more decided.

    Returns
    -------
    callable
        ``classifier_fn``: ``(B, H, W, 3)`` images (uint8, or floats in [0, 1]) to ``(B, 2)``
        probabilities; its ``region`` attribute is the region.

    Raises
    ------
    ValueError
        If ``region`` is empty or not the image's ``(H, W)``.

    Examples
    --------
    >>> reference = np.zeros((8, 8, 3), np.uint8)
    >>> region = np.zeros((8, 8), bool)
    >>> region[:4] = True  # the top half
    >>> model = region_classifier(reference, region)
    >>> bottom_changed, top_changed = reference.copy(), reference.copy()
    >>> bottom_changed[4:], top_changed[:4] = 255, 255
    >>> model(np.stack([reference, bottom_changed, top_changed]))[:, 1].round(4).tolist()
    [0.9933, 0.9933, 0.0]
    """
    ref = _as_unit(reference)
    region = np.asarray(region, dtype=bool)
    if region.shape != ref.shape[:2] or not region.any():
        raise ValueError("region must be a non-empty boolean (H, W) mask matching reference.")
    ref_pixels = ref[region]

    def predict(images: np.ndarray) -> np.ndarray:
        x = _as_unit(images)
        d = np.abs(x[:, region] - ref_pixels[None]).mean(axis=(1, 2))
        p1 = 1.0 / (1.0 + np.exp(-sharpness * (0.5 - 10.0 * d)))
        return np.stack([1.0 - p1, p1], axis=1)

    predict.region = region
    return predict


def linear_superpixel_classifier(
    reference: np.ndarray,
    segments: np.ndarray,
    weights: np.ndarray,
    *,
    bias: float = 0.0,
) -> Callable[[np.ndarray], np.ndarray]:
    """A model exactly linear in the superpixel indicators: ``f = bias + sum_j w_j z_j``.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook uses it (the tests
    check that LIME recovers its weights). ``z_j`` is the share of superpixel ``j``'s pixels
    that still equal ``reference`` (1 when kept, 0 when hidden by a hide color that differs from
    every pixel).

    Parameters
    ----------
    reference
        ``(H, W, C)`` the image whose superpixels count as kept.
    segments
        ``(H, W)`` integer labels (made contiguous here).
    weights
        One weight per superpixel, ``w_j``.
    bias
        The score with every superpixel hidden.

    Returns
    -------
    callable
        ``classifier_fn``: ``(B, H, W, C)`` images to ``(B, 2)`` rows ``[-f, f]``, scores not
        probabilities, so LIME's coefficients for class 1 should recover ``weights``.

    Raises
    ------
    ValueError
        If there is not one weight per superpixel.

    Examples
    --------
    >>> reference = np.full((2, 4, 3), 100, np.uint8)
    >>> segments = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    >>> model = linear_superpixel_classifier(reference, segments, [2.0, -1.0], bias=0.5)
    >>> right_hidden = reference.copy()
    >>> right_hidden[:, 2:] = 0
    >>> model(np.stack([reference, right_hidden]))[:, 1].tolist()
    [1.5, 2.5]
    """
    ref = np.asarray(reference)
    labels = relabel(segments)
    w = np.asarray(weights, dtype=np.float64)
    counts = np.bincount(labels.ravel())
    if w.shape != counts.shape:
        raise ValueError(f"weights must have one value per superpixel ({counts.size}).")

    def predict(images: np.ndarray) -> np.ndarray:
        x = np.asarray(images)
        same = np.all(x == ref[None], axis=-1).reshape(len(x), -1)  # (B, H*W)
        kept = np.stack(
            [np.bincount(labels.ravel(), weights=row, minlength=counts.size) for row in same]
        )
        f = bias + (kept / counts) @ w
        return np.stack([-f, f], axis=1)

    return predict


def central_superpixels(segments: np.ndarray, k: int) -> set[int]:
    """The ``k`` superpixels whose centres lie nearest the image centre.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``: a known region for
    :func:`region_classifier` (``np.isin(segments, list(central_superpixels(segments, 6)))``).

    Parameters
    ----------
    segments
        ``(H, W)`` integer labels (made contiguous here).
    k
        How many superpixels to return.

    Returns
    -------
    set of int
        The labels of the ``k`` superpixels whose centroids are nearest the image's centre
        (ties: lower label first).

    Examples
    --------
    >>> from helpers.segmentation import grid_segments
    >>> sorted(central_superpixels(grid_segments((8, 8), 4), 4))  # the middle of a 4 x 4 grid
    [5, 6, 9, 10]
    """
    labels = relabel(segments)
    flat = labels.ravel()
    counts = np.bincount(flat)
    rows, cols = np.indices(labels.shape)
    centres = (
        np.stack(
            [np.bincount(flat, weights=rows.ravel()), np.bincount(flat, weights=cols.ravel())],
            axis=1,
        )
        / counts[:, None]
    )
    middle = (np.array(labels.shape) - 1) / 2
    distance = np.linalg.norm(centres - middle, axis=1)
    return set(np.argsort(distance, kind="stable")[: int(k)].tolist())


def linear_grid_example(
    n_rows: int = 2, weights: dict[int, float] | None = None
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """A small image, a grid of superpixels and a model exactly linear in them.

    Belongs with ``notebooks/06_explaining_predictions.ipynb``; no notebook calls it: it is the
    shared setting of the docstring examples (every answer is known in advance).

    Parameters
    ----------
    n_rows
        The grid is ``n_rows x n_rows`` cells over a 16 x 16 gray image (value 200).
    weights
        Superpixel -> weight of :func:`linear_superpixel_classifier` (others 0); default:
        ``{0: 0.4, 2: 0.2, 3: 0.1}`` for a 2 x 2 grid, ``{5: 0.4, 6: 0.3, 9: 0.2, 10: 0.1}``
        (the four central cells) otherwise.

    Returns
    -------
    image, segments, model
        ``(16, 16, 3)`` uint8, ``(16, 16)`` labels, and the classifier.

    Examples
    --------
    >>> image, segments, model = linear_grid_example(4)
    >>> image.shape, int(segments.max()) + 1, model(image[None]).shape
    ((16, 16, 3), 16, (1, 2))
    """
    from .segmentation import grid_segments

    image = np.full((16, 16, 3), 200, np.uint8)
    segments = grid_segments(image.shape, n_rows)
    if weights is None:
        weights = {0: 0.4, 2: 0.2, 3: 0.1} if n_rows == 2 else {5: 0.4, 6: 0.3, 9: 0.2, 10: 0.1}
    w = np.zeros(n_rows * n_rows)
    for j, value in weights.items():
        w[j] = value
    return image, segments, linear_superpixel_classifier(image, segments, w)
