"""Ground-truth models: classifiers whose evidence we know, usable as ``classifier_fn``.

Introduced in ``notebooks/06_explaining_predictions.ipynb``. They need no weights and run
offline in microseconds, so every explanation of them can be checked against the truth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .segmentation import relabel

__all__ = ["central_superpixels", "linear_superpixel_classifier", "region_classifier"]


def _as_unit(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def region_classifier(
    reference: np.ndarray, region: np.ndarray, *, sharpness: float = 10.0
) -> Callable[[np.ndarray], np.ndarray]:
    """A two-class model that looks only at the pixels of ``region``.

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. Class 1's probability is
    ``sigmoid(sharpness * (0.5 - 10 * d))`` where ``d`` is the mean absolute difference
    (on a 0..1 scale) between the input and ``reference`` over the ``region`` pixels only.
    Any change outside the region leaves the output exactly unchanged.

    Parameters
    ----------
    reference
        ``(H, W, 3)`` the image the model "recognises".
    region
        ``(H, W)`` boolean, the pixels the model looks at.
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

    Introduced in ``notebooks/06_explaining_predictions.ipynb``. ``z_j`` is the share of
    superpixel ``j``'s pixels that still equal ``reference`` (1 when kept, 0 when hidden by a
    fill that differs from every pixel). Returns ``(B, 2)``: ``[-f, f]``, scores not
    probabilities, so LIME's coefficients should recover ``weights`` for class 1.
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
