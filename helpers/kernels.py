"""Step 4 of LIME: how close each perturbed sample is to the original, and its weight.

Introduced in ``notebooks/04_kernel_weighting.ipynb``.

Distances (:data:`DISTANCES`, all in [0, 1] for 0/1 samples, 0 for the original):

``"cosine"``
    lime's: cosine distance of the 0/1 sample to the all-ones original, ``1 - sqrt(k / S)``.
``"hidden_fraction"``
    the MATLAB write-up's: the fraction of superpixels hidden, ``1 - k / S``.
``"pixel_l2"``
    the paper's "L2 distance for images", on pixels: the L2 norm of (perturbed - original),
    divided by its value when every superpixel is hidden, so that one width suits any image.

Kernels (:data:`KERNELS`): the paper's ``exp(-d**2 / w**2)`` and lime's
``sqrt(exp(-d**2 / w**2)) = exp(-d**2 / (2 w**2))``, which is the paper's kernel with the
width multiplied by sqrt(2).
"""

from __future__ import annotations

import numpy as np

from .setting_checks import check_choice, check_kernel_width

__all__ = [
    "DISTANCES",
    "KERNELS",
    "cosine_distance",
    "exponential_kernel",
    "hidden_fraction",
    "pixel_l2_distance",
    "relative_pixel_l2",
    "sample_distances",
]

DISTANCES = ("cosine", "hidden_fraction", "pixel_l2")
KERNELS = ("lime", "paper")


def cosine_distance(samples: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Cosine distance of each 0/1 sample to ``reference`` (default: the all-ones original).

    Introduced in ``notebooks/04_kernel_weighting.ipynb``. As lime, on the binary vectors:
    ``1 - z.r / (|z| |r|)``; for the all-ones reference this is ``1 - sqrt(k / S)`` with ``k``
    superpixels kept. An all-zero row has distance 1 (scikit-learn's convention).

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows.
    reference
        ``(S,)`` the point distances are measured from; ``None`` is the original, all ones.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 distances in [0, 2] (in [0, 1] for 0/1 rows).

    Examples
    --------
    >>> z = np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]])
    >>> np.round(cosine_distance(z), 4).tolist()
    [0.0, 0.5, 1.0]
    """
    z = np.asarray(samples, dtype=np.float64)
    r = np.ones(z.shape[1]) if reference is None else np.asarray(reference, dtype=np.float64)
    norms = np.linalg.norm(z, axis=1) * np.linalg.norm(r)
    similarity = np.divide(z @ r, norms, out=np.zeros(len(z)), where=norms > 0)
    return np.clip(1.0 - similarity, 0.0, 2.0)


def exponential_kernel(
    distances: np.ndarray, kernel_width: float = 0.25, *, kernel: str = "lime"
) -> np.ndarray:
    """Weight 1 at distance 0, falling with ``d``: lime's or the paper's exponential kernel.

    Introduced in ``notebooks/04_kernel_weighting.ipynb``.

    Parameters
    ----------
    distances
        Distances ``d`` of any shape, e.g. ``(N,)`` from :func:`sample_distances`.
    kernel_width
        ``w``, a positive number; lime's default is 0.25 for its cosine distance.
    kernel
        ``"lime"``: ``sqrt(exp(-d**2 / w**2))`` (lime's code); ``"paper"``:
        ``exp(-d**2 / w**2)`` (the paper's pi_x). lime's equals the paper's at width
        ``sqrt(2) * w``.

    Returns
    -------
    numpy.ndarray
        float64 weights in (0, 1], the shape of ``distances``.

    Raises
    ------
    ValueError
        If ``kernel_width`` is not a positive finite number (booleans included) whose square
        is a float64 (:func:`helpers.setting_checks.check_kernel_width`), or ``kernel`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.0, 0.25])
    >>> np.round(exponential_kernel(d, 0.25), 4).tolist()
    [1.0, 0.6065]
    >>> np.round(exponential_kernel(d, 0.25, kernel="paper"), 4).tolist()
    [1.0, 0.3679]
    """
    width = check_kernel_width(kernel_width)
    return _exponential_kernel(distances, width, check_choice(kernel, KERNELS, "kernel"))


def _exponential_kernel(distances: np.ndarray, kernel_width: float, kernel: str) -> np.ndarray:
    """:func:`exponential_kernel` for a checked width and kernel name."""
    d = np.asarray(distances, dtype=np.float64)
    weights = np.exp(-(d**2) / float(kernel_width) ** 2)
    return np.sqrt(weights) if kernel == "lime" else weights


def pixel_l2_distance(image: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
    """The paper's distance for images: L2 norm of the pixel difference, per perturbed image.

    Introduced in ``notebooks/04_kernel_weighting.ipynb``. Pixels are compared in float64 on
    their own scale (0..255 for ``uint8``).

    Parameters
    ----------
    image
        ``(H, W, C)`` the original.
    perturbed
        ``(N, H, W, C)`` perturbed images of it.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 distances, not normalised (see :func:`relative_pixel_l2`).

    Examples
    --------
    >>> image = np.zeros((2, 2, 3))
    >>> pixel_l2_distance(image, np.stack([image, image + 1])).tolist()  # sqrt(12 * 1**2)
    [0.0, 3.4641016151377544]
    """
    diff = np.asarray(perturbed, dtype=np.float64) - np.asarray(image, dtype=np.float64)[None]
    return np.sqrt((diff.reshape(len(diff), -1) ** 2).sum(axis=1))


def hidden_fraction(samples: np.ndarray) -> np.ndarray:
    """The fraction of superpixels each sample hides, ``1 - k / S`` (the MATLAB distance).

    Belongs with ``notebooks/04_kernel_weighting.ipynb``; no notebook calls it (the
    ``"matlab"`` recipe uses it through :func:`sample_distances`).

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 in [0, 1].

    Examples
    --------
    >>> hidden_fraction(np.array([[1, 1, 1, 1], [1, 0, 0, 0]])).tolist()
    [0.0, 0.75]
    """
    z = np.asarray(samples, dtype=np.float64)
    return 1.0 - z.mean(axis=1)


def relative_pixel_l2(
    image: np.ndarray, hidden: np.ndarray, segments: np.ndarray, samples: np.ndarray
) -> np.ndarray:
    """The paper's pixel L2 distance of each sample's image, relative to hiding everything.

    Belongs with ``notebooks/04_kernel_weighting.ipynb``, which computes the same numbers with
    :func:`pixel_l2_distance`; no notebook calls it (the ``"paper"`` recipe does, through
    :func:`sample_distances`).

    A hidden superpixel ``j`` changes its pixels from ``image`` to ``hidden`` (the hidden
    image, :func:`helpers.perturbation.hidden_image`), so the squared L2 distance is the sum,
    over hidden superpixels, of ``c_j = sum over j's pixels of |image - hidden|**2``: computed
    from the samples without building any image. Divided by the distance with every
    superpixel hidden (0 when that is 0). Equals :func:`pixel_l2_distance` of the perturbed
    images over that maximum.

    Parameters
    ----------
    image
        ``(H, W, C)`` the original.
    hidden
        ``(H, W, C)`` its hidden image.
    segments
        ``(H, W)`` labels ``0..S-1``.
    samples
        ``(N, S)`` 0/1 rows.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 in [0, 1]: 0 for the original, 1 with every superpixel hidden.

    Examples
    --------
    >>> image = np.full((1, 4, 3), 100, np.uint8)
    >>> segments = np.array([[0, 0, 1, 1]])
    >>> z = np.array([[1, 1], [1, 0], [0, 0]])
    >>> np.round(relative_pixel_l2(image, np.zeros_like(image), segments, z), 4).tolist()
    [0.0, 0.7071, 1.0]
    """
    diff = np.asarray(image, dtype=np.float64) - np.asarray(hidden, dtype=np.float64)
    labels = np.asarray(segments).ravel()
    z = np.asarray(samples, dtype=np.float64)
    cost = np.bincount(labels, weights=(diff**2).sum(axis=-1).ravel(), minlength=z.shape[1])
    total = cost.sum()
    if total == 0.0:
        return np.zeros(len(z))
    return np.sqrt(np.clip((1.0 - z) @ cost, 0.0, None) / total)


def sample_distances(
    samples: np.ndarray,
    distance: str = "cosine",
    *,
    image: np.ndarray | None = None,
    hidden: np.ndarray | None = None,
    segments: np.ndarray | None = None,
) -> np.ndarray:
    """Distance of each sample to the original, by name (see :data:`DISTANCES`).

    Belongs with ``notebooks/04_kernel_weighting.ipynb``; no notebook calls it
    (:func:`helpers.fitting.sample_weights` does). ``"pixel_l2"`` needs the ``image``, its
    ``hidden`` image and ``segments`` labelled ``0..S-1``.

    Parameters
    ----------
    samples
        ``(N, S)`` 0/1 rows.
    distance
        ``"cosine"`` (:func:`cosine_distance`), ``"hidden_fraction"``
        (:func:`hidden_fraction`) or ``"pixel_l2"`` (:func:`relative_pixel_l2`).
    image, hidden, segments
        For ``"pixel_l2"`` only.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64 distances, 0 for the original.

    Raises
    ------
    ValueError
        For an unknown ``distance``, or ``"pixel_l2"`` without its three arrays.

    Examples
    --------
    >>> z = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    >>> np.round(sample_distances(z, "cosine"), 4).tolist()
    [0.0, 0.2929]
    >>> sample_distances(z, "hidden_fraction").tolist()
    [0.0, 0.5]
    """
    if distance == "cosine":
        return cosine_distance(samples)
    if distance == "hidden_fraction":
        return hidden_fraction(samples)
    if distance == "pixel_l2":
        if image is None or hidden is None or segments is None:
            raise ValueError("distance='pixel_l2' needs image, hidden and segments.")
        return relative_pixel_l2(image, hidden, segments, samples)
    raise ValueError(f"Unknown distance {distance!r}; choose one of {DISTANCES}.")
