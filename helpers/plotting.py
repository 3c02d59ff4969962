"""Figures: show in the notebook and, under ``make run``, save to ``build/figures/``.

Introduced in ``notebooks/00_setup.ipynb``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .files import atomic_path
from .settings import FIGURES_ENV, env_path

__all__ = ["PAPER_GRAY", "figures_dir", "gray_out", "save_figure"]

PAPER_GRAY = 154  # the gray of the hidden parts in the paper's Figure 4

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def figures_dir() -> Path | None:
    """The directory named by ``LIME_TUTORIAL_FIGURES`` (set by ``make run``), or ``None``.

    Introduced in ``notebooks/00_setup.ipynb``.
    """
    return env_path(FIGURES_ENV)


def save_figure(fig: Any, name: str, *, dpi: int = 120) -> Path | None:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` when a figures dir is set.

    Introduced in ``notebooks/00_setup.ipynb``. Figure names are stable across runs
    (``fig4_guitar_dog``, ``frog_superpixels``, ...), so ``build/figures`` can be compared.

    Returns
    -------
    pathlib.Path or None
        The file written, or ``None`` when ``LIME_TUTORIAL_FIGURES`` is unset.
    """
    stem = name.removesuffix(".png")
    if not _NAME.match(stem):
        raise ValueError(
            f"Figure name {name!r} must be letters, digits, '_', '-' or '.', e.g. 'frog_top3'."
        )
    directory = figures_dir()
    if directory is None:
        return None
    path = directory / f"{stem}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    return path


def gray_out(explanation: Any, label: int, num_features: int = 5, gray: int = PAPER_GRAY) -> Any:
    """The paper's figure style: the top positive superpixels of ``label``, the rest gray.

    Introduced in ``notebooks/07_paper_figures.ipynb``.
    """
    import numpy as np

    mask = explanation.mask(label, num_features=num_features, positive_only=True)
    image = np.asarray(explanation.image)
    fill = gray if image.dtype == np.uint8 else gray / 255.0
    return np.where(mask[..., None] > 0, image, fill).astype(image.dtype)
