"""Figures and notes: the notebooks' shared display code, and saving figures under ``make run``.

Introduced in ``notebooks/00_setup.ipynb``. Image grids, weight maps, the paper's gray-out
style and the notes that say which network made the predictions live here, so that no
notebook writes them out again. Two conventions hold across the series:

- **weights**: blue is *for* the class, red *against* it, white 0, on a symmetric scale with a
  colorbar that says so (:func:`weight_map`, :data:`WEIGHT_CMAP`);
- **the network**: one styled note per loaded model, ``Predictions by: ...``, marking a
  stand-in or an untrained network visibly (:func:`model_warnings`, :func:`model_note`)
  instead of a warning printed to stderr.

matplotlib and IPython are imported by the functions that use them.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .files import atomic_path
from .paper import GRAY
from .settings import FIGURES_ENV, env_path

__all__ = [
    "WEIGHT_CMAP",
    "ModelNote",
    "figures_dir",
    "gray_out",
    "image_grid",
    "mark_untrained",
    "model_note",
    "model_warnings",
    "save_figure",
    "weight_colorbar",
    "weight_map",
]

#: The series' one colour map for signed weights: blue is *for* the class (positive weight),
#: red is *against* it (negative), white is exactly 0.
WEIGHT_CMAP = "RdBu"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: The "(standing in for ...)" that ends a stand-in's ``description``; the note says it once.
_STANDING_IN = re.compile(r"\s*\(standing in for [^()]*\)\s*$")


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
    >>> from helpers.fitting import fit_explanation
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


def weight_map(
    ax: Any,
    weights: np.ndarray,
    *,
    title: str | None = None,
    label: str | None = None,
    image: np.ndarray | None = None,
    limit: float | None = None,
    colorbar: bool = True,
    uncertain: np.ndarray | None = None,
) -> Any:
    """Draw signed weights in the series' colours: blue for the class, red against, white 0.

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``; every weight map of the series is
    drawn by this function, so the colours mean the same everywhere (:data:`WEIGHT_CMAP`).
    The colour scale is symmetric, ``[-limit, limit]``, so white is exactly 0 whatever the
    weights; the colorbar's ends say which colour is for and which against.

    Parameters
    ----------
    ax
        The matplotlib axes to draw on.
    weights
        ``(H, W)`` map, e.g. ``explanation.heatmap(label)`` or ``coef[segments]``.
    title
        The panel's title.
    label
        The class the weights are for (named on the colorbar), e.g. ``"tree_frog"``.
    image
        An ``(H, W, 3)`` photo to show in gray beneath the colours, so that one sees *where*
        the weights are; ``None`` draws the weights alone.
    limit
        The largest ``|weight|`` of the scale; give several panels the same ``limit`` to
        compare them. Default: the largest ``|weight|`` of this map (1 if all are 0).
    colorbar
        Whether to draw the colorbar (see :func:`weight_colorbar`).
    uncertain
        An ``(H, W)`` boolean map of the pixels whose weight's interval crosses 0 (sign not
        settled by the samples), hatched and outlined in black; from
        :meth:`helpers.explanation.Explanation.intervals` as in notebook 09:
        ``low, high = e.intervals(label); ((low < 0) & (high > 0))[e.segments]``.

    Returns
    -------
    matplotlib.image.AxesImage
        The colour layer, e.g. for a shared :func:`weight_colorbar`.

    Raises
    ------
    ValueError
        If ``weights`` is not 2-D, ``image`` or ``uncertain`` has another height and width,
        or ``limit`` is not positive.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> shown = weight_map(ax, np.array([[-0.5, 0.25]]), title="weights", label="frog")
    >>> shown.get_clim(), shown.get_cmap().name
    ((-0.5, 0.5), 'RdBu')
    >>> [t.get_text() for t in fig.axes[1].get_yticklabels()]
    ['-0.5 against', '0', '+0.5 for']
    >>> fig.axes[1].get_ylabel()
    "weight for 'frog'"
    >>> shown = weight_map(ax, np.array([[-0.5, 0.25]]), uncertain=np.array([[False, True]]))
    >>> ax.collections[0].hatches, [float(x) for x in ax.get_xlim()]
    (['//'], [-0.5, 1.5])
    >>> plt.close(fig)
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must be a 2-D (H, W) map, got shape {weights.shape}.")
    if limit is None:
        limit = float(np.abs(weights).max()) or 1.0
    elif not limit > 0:
        raise ValueError(f"limit must be positive, got {limit}.")
    alpha = None
    if image is not None:
        image = np.asarray(image)
        if image.shape[:2] != weights.shape:
            raise ValueError(
                f"image is {image.shape[:2]} but weights are {weights.shape}; pass the photo "
                "the weights were computed on."
            )
        gray = image.astype(np.float64).mean(axis=-1) if image.ndim == 3 else image
        ax.imshow(gray, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
        alpha = 0.7
    shown = ax.imshow(weights, cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit, alpha=alpha)
    if uncertain is not None:
        uncertain = np.asarray(uncertain, dtype=bool)
        if uncertain.shape != weights.shape:
            raise ValueError(
                f"uncertain is {uncertain.shape} but weights are {weights.shape}; pass one "
                "True/False per pixel, e.g. ((low < 0) & (high > 0))[explanation.segments]."
            )
        if uncertain.any():  # hatch, then outline, the pixels whose sign is not settled
            height, width = weights.shape  # a frame of False closes the outlines at the edges
            x, y, z = np.arange(-1, width + 1), np.arange(-1, height + 1), np.pad(uncertain, 1)
            limits = ax.get_xlim(), ax.get_ylim()
            ax.contourf(x, y, z, levels=[0.5, 1.5], colors="none", hatches=["//"])
            ax.contour(x, y, z, levels=[0.5], colors="black", linewidths=0.8)
            ax.set_xlim(limits[0]), ax.set_ylim(limits[1])
    ax.axis("off")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        weight_colorbar(shown, ax, label=label)
    return shown


def weight_colorbar(shown: Any, ax: Any, *, label: str | None = None) -> Any:
    """A colorbar for :func:`weight_map` whose ends say ``against`` (red) and ``for`` (blue).

    Introduced in ``notebooks/05_surrogate_fitting.ipynb``; :func:`weight_map` draws it for
    one panel. Call it yourself for one colorbar shared by several panels drawn on one scale
    (``ax`` a list of axes, the same ``limit`` and ``colorbar=False`` for each map).

    Parameters
    ----------
    shown
        What :func:`weight_map` returned.
    ax
        The axes (or list of axes) the colorbar belongs to.
    label
        The class the weights are for, named on the colorbar (no name when ``None``).

    Returns
    -------
    matplotlib.colorbar.Colorbar
        The colorbar, ticked at ``-limit``, 0 and ``+limit``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 2)
    >>> maps = [weight_map(a, np.eye(2), limit=2, colorbar=False) for a in axes]
    >>> bar = weight_colorbar(maps[0], list(axes))
    >>> [t.get_text() for t in bar.ax.get_yticklabels()]
    ['-2 against', '0', '+2 for']
    >>> plt.close(fig)
    """
    low, high = shown.get_clim()
    fig = (ax[0] if isinstance(ax, list | tuple | np.ndarray) else ax).figure
    bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    bar.set_ticks([low, 0.0, high])
    bar.set_ticklabels([f"{low:.2g} against", "0", f"+{high:.2g} for"])
    if label:
        bar.set_label(f"weight for {label!r}")
    return bar


class ModelNote:
    """Which network makes the predictions, as one styled note (HTML) or one line (text).

    Belongs with ``notebooks/00_setup.ipynb``; :func:`model_note` makes and shows it. In a
    notebook it is displayed as HTML; its plain text starts with ``"Predictions by: "`` (or
    ``"UNTRAINED network: "``), which is what the page index reads.

    Parameters
    ----------
    model
        A model of :func:`helpers.models.load_model` (anything with ``description``, or
        ``display_name``); ``stands_in_for`` and ``untrained`` are read when present.
    reasons
        Messages of the model warnings caught while loading it (:func:`model_warnings`).

    Attributes
    ----------
    kind : str
        ``"real"``, ``"stand-in"`` or ``"untrained"``.
    lines : list of str
        The note's lines, in plain text.
    """

    _COLOURS: ClassVar[dict[str, str]] = {
        "real": "#2a6ebb",
        "stand-in": "#c47f00",
        "untrained": "#c00000",
    }

    def __init__(self, model: Any, reasons: Sequence[str] = ()) -> None:
        from .models import untrained_message

        description = getattr(model, "description", None) or getattr(
            model, "display_name", type(model).__name__
        )
        if getattr(model, "untrained", False):
            self.kind = "untrained"
            name = getattr(model, "display_name", None) or description
            name = re.sub(r"\s*\(untrained\)", "", name, flags=re.IGNORECASE)
            why = untrained_message(model).split(": ", 1)[-1]  # without "UNTRAINED ...: "
            self.lines = [f"UNTRAINED network: {name}", why[:1].upper() + why[1:]]
            return
        stands_in_for = getattr(model, "stands_in_for", None)
        self.kind = "stand-in" if stands_in_for else "real"
        if stands_in_for:  # the second line says it stands in: not the first one as well
            description = _STANDING_IN.sub("", description)
        self.lines = [f"Predictions by: {description}"]
        if stands_in_for:
            why = next((r for r in reasons if stands_in_for in r), None)
            self.lines.append(
                why
                or f"A different network stands in for {stands_in_for}: its predictions are real, "
                "from another network."
            )

    def __repr__(self) -> str:
        return "\n".join(self.lines)

    def _repr_html_(self) -> str:
        colour = self._COLOURS[self.kind]
        head, *rest = (html.escape(line) for line in self.lines)
        key, _, value = head.partition(": ")
        heading = {"real": "", "stand-in": " (stand-in)", "untrained": ""}[self.kind]
        parts = [f"<b>{key}{heading}:</b> {value}"] + [f"<br>{line}" for line in rest]
        weight = "font-weight:bold;" if self.kind == "untrained" else ""
        return (
            f'<div style="border-left:6px solid {colour}; background:{colour}14; '
            f'padding:6px 10px; margin:4px 0; {weight}">' + "".join(parts) + "</div>"
        )


@contextmanager
def model_warnings() -> Iterator[list[str]]:
    """Catch the model warnings that :func:`model_note` states, so that they show once.

    Introduced in ``notebooks/00_setup.ipynb``. Inside the block,
    :class:`~helpers.models.StandInModelWarning` and
    :class:`~helpers.models.UntrainedWeightsWarning` are recorded instead of printed (as
    stderr with file paths); pass the list to :func:`model_note`, which says the same thing
    visibly. Every other warning is shown as usual, and nothing changes outside the block.

    Yields
    ------
    list of str
        Filled, when the block ends, with the caught warnings' messages.

    Examples
    --------
    >>> from helpers.models import StandInModelWarning
    >>> with model_warnings() as caught:
    ...     warnings.warn("MobileNetV2 stands in for InceptionV3.", StandInModelWarning)
    >>> caught
    ['MobileNetV2 stands in for InceptionV3.']
    """
    from .models import StandInModelWarning, UntrainedWeightsWarning

    known = (StandInModelWarning, UntrainedWeightsWarning)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        for category in known:
            warnings.simplefilter("always", category)
        yield caught
    for record in records:
        if issubclass(record.category, known):
            caught.append(str(record.message))
        else:  # not ours: shown as if never caught
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)


def model_note(model: Any, caught: Sequence[str] = ()) -> None:
    """Show which network makes the predictions: one styled note, once per loaded model.

    Introduced in ``notebooks/00_setup.ipynb``; every notebook that loads an ImageNet model
    calls it after loading the model inside :func:`model_warnings`. The note says
    ``Predictions by: <model.description>``; a stand-in network (``load_model("auto")``
    offline) is marked in amber with the reason it stands in, said once (the "(standing in for
    ...)" that ends its description is left out), an untrained network in bold red with
    :func:`helpers.models.untrained_message`. It returns nothing, so no ``Out:`` follows.

    Parameters
    ----------
    model
        The loaded model.
    caught
        What :func:`model_warnings` caught while loading it.

    Examples
    --------
    >>> class Net:
    ...     description = "MobileNetV2 (int8) (standing in for InceptionV3, whose weights ...)"
    ...     stands_in_for = "InceptionV3"
    >>> model_note(Net(), ["InceptionV3's weights are not available; MobileNetV2 stands in."])
    Predictions by: MobileNetV2 (int8)
    InceptionV3's weights are not available; MobileNetV2 stands in.
    """
    note = ModelNote(model, caught)
    try:
        from IPython import get_ipython
        from IPython.display import display

        in_notebook = get_ipython() is not None
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        in_notebook = False
    if in_notebook:
        display(note)
    else:
        print(note)


def mark_untrained(model: Any, fig: Any = None) -> bool:
    """Mark output of an untrained network in large red text; ``True`` if it is untrained.

    Belongs with ``notebooks/03_inception_predictions.ipynb``; no notebook calls it (they show
    :func:`model_note`, red for an untrained network, where they load it). For a script or a
    figure: in a notebook it shows a red banner (printed text elsewhere); with ``fig`` it also
    writes a red title over the figure. Nothing happens for real weights.

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
