"""What the paper and the blog published, to set our results beside: numbers and Figure 4.

Introduced in ``notebooks/07_paper_figures.ipynb``. Nothing here is computed by LIME: these
are the published numbers (Ribeiro, Singh & Guestrin, KDD 2016, Figure 4; the authors' 2016
blog post) and the kept pixels of the published Figure 4 panels, read from the registry's
copy of the figure, so that an explanation can be compared with them.
"""

from __future__ import annotations

import numpy as np

from .segmentation import num_superpixels

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

    Introduced in ``notebooks/07_paper_figures.ipynb``. The composite in the registry is the
    only copy of the paper's input photo available; its panel (a) is 188 x 188 pixels here,
    far smaller than the networks' inputs.

    Returns
    -------
    numpy.ndarray
        ``(188, 188, 3) uint8`` RGB.
    """
    from .data import figure4

    return np.ascontiguousarray(figure4()[FIGURE4_INPUT])


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (0 when both are empty).

    Introduced in ``notebooks/07_paper_figures.ipynb``.

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
    random_state: int = 0,
) -> np.ndarray:  # fmt: skip
    """IoU with ``reference`` of ``num_draws`` masks made of ``k`` random superpixels.

    Introduced in ``notebooks/07_paper_figures.ipynb``: the baseline an explanation's mask
    must beat to say that it agrees with the published panel more than chance.
    """
    segments = np.asarray(segments)
    S = num_superpixels(segments)
    if not 1 <= int(k) <= S:
        raise ValueError(f"k must be between 1 and the {S} superpixels, got {k}.")
    rng = np.random.default_rng(random_state)
    return np.array(
        [
            mask_iou(np.isin(segments, rng.choice(S, size=int(k), replace=False)), reference)
            for _ in range(int(num_draws))
        ]
    )
