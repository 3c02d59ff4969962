"""Step 3 of LIME: how close each perturbed sample is to the original, and its weight.

Introduced in ``notebooks/04_kernel_weighting.ipynb``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_distance", "exponential_kernel", "pixel_l2_distance"]


def cosine_distance(masks: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Cosine distance of each mask row to ``reference`` (default: the all-ones original).

    Introduced in ``notebooks/04_kernel_weighting.ipynb``. As lime, on the binary vectors:
    ``1 - z.r / (|z| |r|)``; for the all-ones reference this is ``1 - sqrt(k / S)`` with ``k``
    superpixels kept. An all-zero row has distance 1 (scikit-learn's convention).
    """
    z = np.asarray(masks, dtype=np.float64)
    r = np.ones(z.shape[1]) if reference is None else np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(z, axis=1) * np.linalg.norm(r)
    similarity = np.divide(z @ r, norms, out=np.zeros(len(z)), where=norms > 0)
    return np.clip(1.0 - similarity, 0.0, 2.0)


def exponential_kernel(distances: np.ndarray, kernel_width: float = 0.25) -> np.ndarray:
    """lime's kernel ``sqrt(exp(-d**2 / w**2))``: weight 1 at distance 0, falling with ``d``.

    Introduced in ``notebooks/04_kernel_weighting.ipynb``.
    """
    if not np.isfinite(kernel_width) or kernel_width <= 0:
        raise ValueError(f"kernel_width must be a positive number, got {kernel_width!r}.")
    d = np.asarray(distances, dtype=np.float64)
    return np.sqrt(np.exp(-(d**2) / kernel_width**2))


def pixel_l2_distance(image: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
    """The paper's distance for images: L2 norm of the pixel difference, per perturbed image.

    Introduced in ``notebooks/04_kernel_weighting.ipynb``. ``image`` is ``(H, W, C)``,
    ``perturbed`` is ``(N, H, W, C)``; pixels are compared in float64 on their own scale.
    """
    diff = np.asarray(perturbed, dtype=np.float64) - np.asarray(image, dtype=np.float64)[None]
    return np.sqrt((diff.reshape(len(diff), -1) ** 2).sum(axis=1))
