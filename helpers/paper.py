"""What the paper and the blog published, to set our results beside: numbers and Figure 4.

Introduced in ``notebooks/00_setup.ipynb`` (:func:`figure4_input`);
``notebooks/07_paper_figures.ipynb`` compares with the rest. Nothing here is computed by LIME:
these are the published numbers (Ribeiro, Singh & Guestrin, KDD 2016, Figure 4; the authors' 2016
blog post) and the kept pixels of the published Figure 4 panels, read from the registry's
copy of the figure, so that an explanation can be compared with them.
"""

from __future__ import annotations

import numpy as np

from .segmentation import num_superpixels
from .validation import check_random_state

__all__ = [
    "BLOG_FROG",
    "FIGURE4",
    "FIGURE4_PANELS",
    "GRAY",
    "figure4_input",
    "figure4_kept_pixels",
    "mask_iou",
    "random_superpixel_iou",
]

#: KDD'16 Figure 4: Google's Inception network's top-3 classes for the dog with a guitar,
#: in the order of panels (b), (c), (d), with the published probabilities.
FIGURE4 = {"electric_guitar": 0.32, "acoustic_guitar": 0.24, "Labrador_retriever": 0.21}

#: The blog post's tree frog: the top-3 classes its figure prints for Inception.
BLOG_FROG = {"tree_frog": 0.54, "pool_table": 0.07, "balloon": 0.05}

#: Where the panels sit in ``images/image_from_paper.png`` (817 x 315): rows 18..205 and 188
#: columns each. (b)-(d) are measured as the extent of the gray fill; (a), the photo, as the
#: columns inside its anti-aliased border (see tests/test_paper.py and tests/test_data.py).
FIGURE4_INPUT = (slice(18, 206), slice(22, 210))
FIGURE4_PANELS = {
    "electric_guitar": (slice(18, 206), slice(219, 407)),
    "acoustic_guitar": (slice(18, 206), slice(416, 604)),
    "Labrador_retriever": (slice(18, 206), slice(612, 800)),
}

#: The gray of the hidden superpixels in the paper's Figure 4 (0..255), measured on the figure.
GRAY = 154
_TOLERANCE = 3


def figure4_kept_pixels(size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """The pixels each published panel (b)-(d) keeps, i.e. does not gray out.

    Introduced in ``notebooks/07_paper_figures.ipynb``.

    Parameters
    ----------
    size
        ``(height, width)`` to resample the 188 x 188 masks to (nearest neighbour), e.g. the
        size of the image explained; ``None`` keeps 188 x 188.

    Returns
    -------
    dict
        Class name (keys of :data:`FIGURE4`) to a boolean ``(H, W)`` mask: ``True`` where the
        pixel differs from the paper's gray (154) by more than 3 in some channel.

    Raises
    ------
    helpers.data.DataFileError
        If the figure (``images/image_from_paper.png``) cannot be had.

    Examples
    --------
    >>> figure4_kept_pixels((299, 299))["electric_guitar"].shape  # doctest: +SKIP
    (299, 299)
    """
    from PIL import Image

    from .data import figure4

    figure = figure4().astype(np.int16)
    masks = {}
    for name, box in FIGURE4_PANELS.items():
        kept = np.abs(figure[box] - GRAY).max(axis=-1) > _TOLERANCE
        if size is not None:
            resized = Image.fromarray(kept.astype(np.uint8) * 255).resize(
                (int(size[1]), int(size[0])), Image.NEAREST
            )
            kept = np.asarray(resized) > 127
        masks[name] = kept
    return masks


def figure4_input() -> np.ndarray:
    """Panel (a) of KDD'16 Figure 4, the dog with a guitar, cropped out of the published figure.

    Introduced in ``notebooks/00_setup.ipynb``; ``notebooks/07_paper_figures.ipynb`` explains
    it. The composite in the registry is the only copy of the paper's input photo available;
    its panel (a) is 188 x 188 pixels here, far smaller than the networks' inputs.

    Returns
    -------
    numpy.ndarray
        ``(188, 188, 3) uint8`` RGB.

    Raises
    ------
    helpers.data.DataFileError
        If the figure (``images/image_from_paper.png``) cannot be had.

    Examples
    --------
    >>> figure4_input().shape  # doctest: +SKIP
    (188, 188, 3)
    """
    from .data import figure4

    return np.ascontiguousarray(figure4()[FIGURE4_INPUT])


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (0 when both are empty).

    The rule of :func:`helpers.metrics.jaccard`, on pixels. With both masks empty the ratio is
    0/0; like scikit-learn's ``jaccard_score`` (``zero_division`` left at its default) it counts
    as 0: no overlap was found, so no agreement is claimed.

    Introduced in ``notebooks/07_paper_figures.ipynb``.

    Parameters
    ----------
    a, b
        Masks of the same shape (anything ``numpy`` turns into booleans).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> mask_iou(np.array([1, 1, 0, 0], bool), np.array([0, 1, 1, 0], bool))
    0.3333333333333333
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"masks must have the same shape, got {a.shape} and {b.shape}.")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def random_superpixel_iou(
    segments: np.ndarray, reference: np.ndarray, k: int, *, num_draws: int = 200,
    random_state: int | np.random.Generator = 0,
) -> np.ndarray:  # fmt: skip
    """IoU with ``reference`` of ``num_draws`` masks made of ``k`` random superpixels.

    Introduced in ``notebooks/07_paper_figures.ipynb``: the baseline an explanation's mask
    must beat to say that it agrees with the published panel more than chance.

    Parameters
    ----------
    segments
        ``(H, W)`` labels ``0..S-1``.
    reference
        ``(H, W)`` bool, e.g. a panel of :func:`figure4_kept_pixels` at the image's size.
    k
        Superpixels per random mask, from 1 to S (e.g. the explanation's ``num_features``).
    num_draws
        How many random masks.
    random_state
        Seed of the draws.

    Returns
    -------
    numpy.ndarray
        ``(num_draws,)`` IoU values (:func:`mask_iou`).

    Raises
    ------
    ValueError
        If ``k`` is not between 1 and S.

    Examples
    --------
    >>> from helpers.segmentation import grid_segments
    >>> segments = grid_segments((8, 8), 2)  # 4 quarters
    >>> ious = random_superpixel_iou(segments, segments == 0, 1, num_draws=200)
    >>> sorted(set(ious.tolist())), bool(0.15 < ious.mean() < 0.35)  # a hit 1 time in 4
    ([0.0, 1.0], True)
    """
    segments = np.asarray(segments)
    S = num_superpixels(segments)
    if not 1 <= int(k) <= S:
        raise ValueError(f"k must be between 1 and the {S} superpixels, got {k}.")
    rng, _ = check_random_state(random_state)
    return np.array(
        [
            mask_iou(np.isin(segments, rng.choice(S, size=int(k), replace=False)), reference)
            for _ in range(int(num_draws))
        ]
    )
