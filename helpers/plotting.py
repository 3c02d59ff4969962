"""Figures: the notebooks' shared drawing code, and saving figures under ``make run``.

Introduced in ``notebooks/00_setup.ipynb``. Image grids, red-blue weight maps, the paper's
gray-out style and the one way to mark an untrained network's output live here, so that no
notebook writes them out again. matplotlib is imported by the functions that draw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_path
from .paper import GRAY
from .settings import FIGURES_ENV, env_path

__all__ = [
    "figures_dir",
    "gray_out",
    "image_grid",
    "mark_untrained",
    "save_figure",
    "weight_map",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def figures_dir() -> Path | None:
    """The directory named by ``LIME_TUTORIAL_FIGURES`` (set by ``make run``), or ``None``.

    Belongs with ``notebooks/00_setup.ipynb``; no notebook calls it (:func:`save_figure`
    does).

    Returns
    -------
    pathlib.Path or None
        The directory, not resolved; it need not exist yet.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {FIGURES_ENV: "build/figures"}):
    ...     print(figures_dir())
    build/figures
    """
    return env_path(FIGURES_ENV)


def save_figure(fig: Any, name: str, *, dpi: int = 120) -> Path | None:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png`` when a figures dir is set.

    Introduced in ``notebooks/00_setup.ipynb``. Figure names are stable across runs
    (``fig4_guitar_dog``, ``frog_superpixels``, ...), so ``build/figures`` can be compared.
    The file is written atomically and replaces an earlier one of the same name.

    Parameters
    ----------
    fig
        A matplotlib figure.
    name
        The file's stem (a ``.png`` suffix is allowed): letters, digits, ``_``, ``-`` and
        ``.``, starting with a letter or digit.
    dpi
        Resolution of the PNG.

    Returns
    -------
    pathlib.Path or None
        The file written, or ``None`` when ``LIME_TUTORIAL_FIGURES`` is unset.

    Raises
    ------
    ValueError
        For a name with other characters (checked even when nothing is written).

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> from unittest import mock
    >>> fig, ax = plt.subplots(figsize=(1, 1))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with mock.patch.dict(os.environ, {FIGURES_ENV: folder}):
    ...         print(save_figure(fig, "frog_top3").name)
    frog_top3.png
    >>> with mock.patch.dict(os.environ, {FIGURES_ENV: ""}):
    ...     print(save_figure(fig, "frog_top3"))
    None
    >>> plt.close(fig)
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


def gray_out(explanation: Any, label: int, num_features: int = 5, gray: int = GRAY) -> Any:
    """The paper's figure style: the top positive superpixels of ``label``, the rest gray.

    Introduced in ``notebooks/07_paper_figures.ipynb``.

    Parameters
    ----------
    explanation
        An :class:`~helpers.explanation.Explanation`.
    label
        The class whose evidence is shown.
    num_features
        Up to this many superpixels with a positive weight are kept.
    gray
        The gray of the rest, 0..255 (the paper's by default).

    Returns
    -------
    numpy.ndarray
        An image like ``explanation.image``.

    Examples
    --------
    >>> from helpers.explain import fit_explanation
    >>> z = (np.arange(8)[::-1, None] >> np.arange(3)) & 1
    >>> scores = np.stack([1 - z @ [0.5, 0.0, 0.25], z @ [0.5, 0.0, 0.25]], axis=1)
    >>> segments = np.repeat([[0, 0, 1, 1, 2, 2]], 6, axis=0)
    >>> image = np.full((6, 6, 3), 50, np.uint8)
    >>> e = fit_explanation(image, segments, z, scores, labels=[1])
    >>> gray_out(e, 1, num_features=1)[0, :, 0].tolist()  # superpixel 0 kept, the rest gray
    [50, 50, 154, 154, 154, 154]
    """
    mask = explanation.mask(label, num_features=num_features, positive_only=True)
    image = np.asarray(explanation.image)
    hidden = gray if image.dtype == np.uint8 else gray / 255.0
    return np.where(mask[..., None] > 0, image, hidden).astype(image.dtype)


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    size: float = 4.0,
    suptitle: str | None = None,
) -> tuple[Any, np.ndarray]:
    """Show images side by side (rows of ``ncols``), titled, without axes.

    Introduced in ``notebooks/00_setup.ipynb``.

    Parameters
    ----------
    images
        Images ``(H, W, 3)`` (or 2-D maps, shown with matplotlib's defaults).
    titles
        One title per image.
    ncols
        Images per row; default: all in one row.
    size
        Inches per panel.
    suptitle
        A title over the whole figure.

    Returns
    -------
    fig, axes
        The figure and a 2-D array of its axes (unused panels are hidden).

    Raises
    ------
    ValueError
        If there are titles but not one per image.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> black, white = np.zeros((4, 4, 3)), np.ones((4, 4, 3))
    >>> fig, axes = image_grid([black, white, black], ["black", "white", "black"], ncols=2)
    >>> axes.shape, axes[0, 1].get_title(), axes[1, 1].has_data()
    ((2, 2), 'white', False)
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    images = list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images.")
    ncols = len(images) if ncols is None else int(ncols)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i])
            if titles is not None:
                ax.set_title(titles[i])
    if suptitle:
        fig.suptitle(suptitle, fontsize=14)
    return fig, axes


def weight_map(ax: Any, weights: np.ndarray, *, title: str | None = None) -> Any:
    """Draw a map of signed weights in red (against) and blue (for), centred on 0.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``. The colour scale is symmetric,
    ``[-max|w|, max|w|]``, so white is exactly 0 whatever the weights.

    Parameters
    ----------
    ax
        The matplotlib axes to draw on.
    weights
        ``(H, W)`` map, e.g. ``explanation.heatmap(label)`` or ``coef[segments]``.
    title
        The panel's title.

    Returns
    -------
    matplotlib.image.AxesImage
        What ``ax.imshow`` returned, e.g. for ``fig.colorbar``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> weight_map(ax, np.array([[-0.5, 0.25]]), title="weights").get_clim()
    (-0.5, 0.5)
    >>> plt.close(fig)
    """
    weights = np.asarray(weights, dtype=np.float64)
    limit = float(np.abs(weights).max()) or 1.0
    shown = ax.imshow(weights, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    return shown


def mark_untrained(model: Any, fig: Any = None) -> bool:
    """Mark output of an untrained network in large red text; ``True`` if it is untrained.

    Introduced in ``notebooks/03_inception_predictions.ipynb``: the one way the series marks
    predictions that mean nothing. In a notebook it shows a red banner (printed text
    elsewhere); with ``fig`` it also writes a red title over the figure. Nothing happens for
    real weights.

    Parameters
    ----------
    model
        Any model; it counts as untrained when its ``untrained`` attribute is true (as for
        :func:`helpers.models.load_model`'s ``"inception_v3_untrained"``).
    fig
        A matplotlib figure of the model's output, to title in red.

    Returns
    -------
    bool
        Whether the model is untrained (and was marked).

    Examples
    --------
    >>> class RandomNet:
    ...     untrained = True
    >>> mark_untrained(RandomNet())
    !!! UNTRAINED InceptionV3: this network has seeded RANDOM weights, ...
    True
    >>> mark_untrained(object())
    False
    """
    from .models import untrained_message

    if not getattr(model, "untrained", False):
        return False
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display

        in_notebook = get_ipython() is not None
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        in_notebook = False
    if in_notebook:
        display(
            HTML(
                '<h2 style="color:#c00; border:3px solid #c00; padding:8px">'
                f"{untrained_message(model)}</h2>"
            )
        )
    else:
        print(f"!!! {untrained_message(model)}")
    if fig is not None:
        fig.suptitle("UNTRAINED network: MEANINGLESS output", fontsize=18, color="red")
    return True
