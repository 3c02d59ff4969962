"""Figures: show in the notebook and, under ``make run``, save to ``build/figures/``.

Introduced in ``notebooks/00_setup.ipynb``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["FIGURES_ENV", "figures_dir", "save_figure"]

FIGURES_ENV = "LIME_TUTORIAL_FIGURES"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def figures_dir() -> Path | None:
    """The directory named by ``LIME_TUTORIAL_FIGURES`` (set by ``make run``), or ``None``."""
    value = os.environ.get(FIGURES_ENV, "").strip()
    return Path(value).expanduser() if value else None


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
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.png"
    tmp = path.with_name(f".{path.name}.part")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    os.replace(tmp, path)
    return path
